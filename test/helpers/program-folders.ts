/** Program folders for the report tests: the trained fixtures and a small attention model, compiled into given folders. */
import { join } from "node:path";
import type { AimcConfig } from "../../backends/aimc/config.js";
import type { Attr, Model } from "../../ir/graph.js";
import { tensor, type Tensor } from "../../ir/tensor.js";
import { readLabels } from "../../src/cli/quantize.js";
import { compile } from "../../src/compile.js";
import { writeDirAtomic } from "../../src/fsutil.js";
import { readInputs } from "../../src/io.js";
import { loadModel } from "../../src/onnx/load.js";
import type { Target } from "../../src/program-dir.js";
import { loadCalibrationSets } from "../../src/quant/calib-data.js";
import { floatModel, randomFloats, randomSets, type Graphlet } from "../nna/single-op.js";
import { FIXTURES } from "./fixtures.js";

export interface FolderOptions {
  aimcConfig?: AimcConfig;
}

/** Compiles the model, writes its program folder to `dir` and returns `dir`. */
export function writeProgram(dir: string, model: Model, sets: ReadonlyMap<string, Tensor>[], target: Target, o: FolderOptions & { evaluation?: { sets: Map<string, Tensor>[]; labels?: number[][] } } = {}): string {
  const compiled = compile(model, sets, {
    target,
    ...(o.aimcConfig ? { aimcConfig: o.aimcConfig } : {}),
    ...(o.evaluation ? { evaluation: o.evaluation } : {}),
  });
  writeDirAtomic(dir, compiled.files);
  return dir;
}

/** fixtures/trained/<name> compiled for `target`, measured on its test set with labels. */
export function writeTrained(dir: string, name: string, target: Target, o: FolderOptions = {}): string {
  const f = join(FIXTURES, "trained", name);
  const model = loadModel(join(f, "model.onnx"));
  const test = join(f, "test_data_set_0");
  const evaluation = { sets: [readInputs(test, model)], labels: [readLabels(join(test, "labels.pb"))] };
  return writeProgram(dir, model, loadCalibrationSets([f], model).sets, target, { ...o, evaluation });
}

const ints = (value: number[]): Attr => ({ kind: "ints", value });
const int = (value: number): Attr => ({ kind: "int", value });

/**
 * One self-attention block over x [batch, 8, 16] with seeded random weights, mean-pooled into 4
 * logits: the projections and the classifier are constant-weight products (crossbars on aimc),
 * Q·Kᵀ and P·V products of activations. `prefix` goes before every node name.
 */
export function attentionModel(prefix = ""): { model: Model; sets: Map<string, Tensor>[] } {
  const [t, e, classes] = [8, 16, 4];
  const w = (seed: number, shape: number[]) => tensor("float32", shape, randomFloats(seed, shape[0]! * (shape[1] ?? 1), -0.4, 0.4));
  const g: Graphlet = {
    inputs: { x: [16, t, e] },
    constants: { wq: w(1, [e, e]), wk: w(2, [e, e]), wv: w(3, [e, e]), wo: w(4, [e, e]), scale: tensor("float32", [], Float32Array.of(1 / 4)), wc: w(5, [classes, e]), bc: w(6, [classes]) },
    nodes: [
      { op: "MatMul", inputs: ["x", "wq"], outputs: ["q"], name: "q_proj" },
      { op: "MatMul", inputs: ["x", "wk"], outputs: ["k"], name: "k_proj" },
      { op: "MatMul", inputs: ["x", "wv"], outputs: ["v"], name: "v_proj" },
      { op: "Transpose", inputs: ["k"], outputs: ["kt"], attrs: { perm: ints([0, 2, 1]) }, name: "k_t" },
      { op: "MatMul", inputs: ["q", "kt"], outputs: ["s"], name: "scores" },
      { op: "Mul", inputs: ["s", "scale"], outputs: ["ss"], name: "scale" },
      { op: "Softmax", inputs: ["ss"], outputs: ["p"], attrs: { axis: int(-1) }, name: "softmax" },
      { op: "MatMul", inputs: ["p", "v"], outputs: ["a"], name: "context" },
      { op: "MatMul", inputs: ["a", "wo"], outputs: ["o"], name: "out_proj" },
      { op: "ReduceMean", inputs: ["o"], outputs: ["m"], attrs: { axes: ints([1]), keepdims: int(0) }, name: "pool" },
      { op: "Gemm", inputs: ["m", "wc", "bc"], outputs: ["y"], attrs: { transB: int(1) }, name: "classifier" },
    ],
  };
  const m = floatModel({ ...g, nodes: g.nodes.map((n) => ({ ...n, name: prefix + n.name })) });
  // A dynamic batch: the program is compiled for one item and runs the 16 calibration items one by one.
  const model = { ...m, graph: { ...m.graph, inputs: [{ name: "x", type: { dtype: "float32" as const, shape: ["batch", t, e] } }] } };
  return { model, sets: randomSets(g, 7, 1) };
}
