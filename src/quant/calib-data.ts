/**
 * Calibration inputs on disk: folders in ONNX's test layout. A folder either holds one set
 * (`input_N.pb`, one file per graph input; a batched tensor is still one set) or holds several
 * such sets as `calib` and `test_data_set_K` subfolders.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { HwacError } from "../../ir/errors.js";
import type { Model } from "../../ir/graph.js";
import type { Tensor } from "../../ir/tensor.js";
import { readInputs } from "../io.js";

export interface CalibrationData {
  readonly sets: Map<string, Tensor>[];
  /** The folder each set was read from. */
  readonly dirs: string[];
  /** sha256 (hex) of the input files' bytes in set order: the calibration part of the cache key. */
  readonly hash: string;
}

const INPUT_FILE = /^input_(\d+)\.pb$/;
const SET_DIR = /^(calib|test_data_set_(\d+))$/;

export function loadCalibrationSets(paths: readonly string[], model: Model): CalibrationData {
  const dirs = paths.flatMap(setDirs);
  const hash = createHash("sha256");
  dirs.forEach((dir, i) => {
    for (const f of inputFiles(dir)) {
      const bytes = readFileSync(join(dir, f));
      hash.update(`set ${i} ${f} ${bytes.length}\n`);
      hash.update(bytes);
    }
  });
  return { sets: dirs.map((d) => readInputs(d, model)), dirs, hash: hash.digest("hex") };
}

/** The set folders of one path: itself when it holds input files, else its set subfolders in order. */
function setDirs(path: string): string[] {
  if (!existsSync(path) || !statSync(path).isDirectory()) {
    throw new HwacError("HW6003", `calibration folder '${path}' does not exist`, { file: path });
  }
  if (inputFiles(path).length > 0) return [path];
  const subs = readdirSync(path, { withFileTypes: true })
    .filter((d) => d.isDirectory() && SET_DIR.test(d.name))
    .map((d) => d.name)
    .sort(bySetIndex);
  if (subs.length === 0) {
    throw new HwacError(
      "HW6005",
      `no calibration inputs in '${path}': expected input_N.pb files, or calib / test_data_set_N subfolders holding them`,
      { file: path },
    );
  }
  return subs.map((s) => join(path, s));
}

/** `calib` first, then test_data_set_N by N (so _10 follows _9). */
function bySetIndex(a: string, b: string): number {
  const n = (s: string): number => Number(SET_DIR.exec(s)![2] ?? -1);
  return n(a) - n(b);
}

function inputFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => INPUT_FILE.test(f))
    .sort((a, b) => Number(INPUT_FILE.exec(a)![1]) - Number(INPUT_FILE.exec(b)![1]));
}
