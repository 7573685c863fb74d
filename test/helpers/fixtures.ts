import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { HwacError } from "../../ir/errors.js";
import type { Model } from "../../ir/graph.js";
import type { Tensor } from "../../ir/tensor.js";
import { loadModel } from "../../src/onnx/load.js";
import { readTensorFile } from "../../src/onnx/tensor-proto.js";

export const FIXTURES = fileURLToPath(new URL("../../fixtures/", import.meta.url));

/** Every `<case>/model.onnx` under `fixtures/<group>`, sorted. */
export function modelFiles(group: string): string[] {
  const root = join(FIXTURES, group);
  return readdirSync(root)
    .map((d) => join(root, d, "model.onnx"))
    .filter((f) => existsSync(f))
    .sort();
}

/** Each file's model, in order, leaving out those whose element types the IR cannot hold (HW1004). */
export function* loadableModels(files: readonly string[]): Generator<[file: string, model: Model]> {
  for (const f of files) {
    let m: Model;
    try {
      m = loadModel(f);
    } catch (e) {
      if (e instanceof HwacError && e.code === "HW1004") continue;
      throw e;
    }
    yield [f, m];
  }
}

/** The ONNX test layout's data sets: `test_data_set_K/{input_N.pb, output_N.pb}` in index order. */
export interface DataSet {
  dir: string;
  inputs: { name: string; tensor: Tensor }[];
  outputs: { name: string; tensor: Tensor }[];
}

function numbered(dir: string, prefix: string): string[] {
  const files = readdirSync(dir).filter((f) => new RegExp(`^${prefix}_\\d+\\.pb$`).test(f));
  return files.sort((a, b) => Number(a.match(/\d+/)![0]) - Number(b.match(/\d+/)![0])).map((f) => join(dir, f));
}

export function dataSets(caseDir: string): DataSet[] {
  return readdirSync(caseDir)
    .filter((d) => d.startsWith("test_data_set_"))
    .sort()
    .map((d) => {
      const dir = join(caseDir, d);
      return {
        dir,
        inputs: numbered(dir, "input").map((f) => readTensorFile(f)),
        outputs: numbered(dir, "output").map((f) => readTensorFile(f)),
      };
    });
}
