/** Reading and writing model inputs and outputs in ONNX's test layout (`input_N.pb`, `output_N.pb`). */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { HwacError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";
import { encodeTensor, readTensorFile } from "./onnx/tensor-proto.js";

function numberedFiles(dir: string, prefix: string): string[] {
  const re = new RegExp(`^${prefix}_(\\d+)\\.pb$`);
  return readdirSync(dir)
    .map((f) => ({ f, m: re.exec(f) }))
    .filter((x) => x.m)
    .sort((a, b) => Number(a.m![1]) - Number(b.m![1]))
    .map((x) => join(dir, x.f));
}

/**
 * Reads `input_N.pb` files of `dir` as the model's inputs: file N feeds graph input N (ONNX's
 * test layout), so tensor names inside the files are not needed.
 */
export function readInputs(dir: string, model: Model): Map<string, Tensor> {
  return readInputFiles(dir, model.graph.inputs.map((i) => i.name));
}

/** Reads `input_N.pb` of `dir` as the inputs `names` (file N feeds names[N]). */
export function readInputFiles(dir: string, names: readonly string[]): Map<string, Tensor> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new HwacError("HW6003", `input folder '${dir}' does not exist`, { file: dir });
  }
  const files = numberedFiles(dir, "input");
  if (files.length !== names.length) {
    throw new HwacError(
      "HW6004",
      `expected ${names.length} input file(s) input_0.pb … for the model's inputs (${names.join(", ")}), found ${files.length}`,
      { file: dir },
    );
  }
  const feeds = new Map<string, Tensor>();
  files.forEach((f, i) => {
    const n = Number(/input_(\d+)\.pb$/.exec(f)![1]);
    if (n !== i) throw new HwacError("HW6004", `input files must be numbered input_0.pb … without gaps; missing input_${i}.pb`, { file: dir });
    feeds.set(names[i]!, readTensorFile(f).tensor);
  });
  return feeds;
}

/** The `output_N.pb` files for a model's outputs, by file name. */
export function outputFiles(model: Model, outputs: ReadonlyMap<string, Tensor>): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  model.graph.outputs.forEach((o, i) => {
    files.set(`output_${i}.pb`, encodeTensor(outputs.get(o.name)!, o.name));
  });
  return files;
}
