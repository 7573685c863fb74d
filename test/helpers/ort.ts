/** Running hwac's models in ONNX Runtime (a devDependency) and comparing codes with the integer reference. */
import * as ort from "onnxruntime-node";
import { expect } from "vitest";
import type { Model } from "../../ir/graph.js";
import { tensor, type Tensor } from "../../ir/tensor.js";
import { encodeModel } from "../../src/onnx/save.js";

export async function ortSession(m: Model, optimizedFile?: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(encodeModel(m), {
    graphOptimizationLevel: "all",
    ...(optimizedFile ? { optimizedModelFilePath: optimizedFile } : {}),
  });
}

export async function ortRun(m: Model, feeds: ReadonlyMap<string, Tensor>): Promise<Map<string, Tensor>> {
  const session = await ortSession(m);
  const inputs: Record<string, ort.Tensor> = {};
  for (const [k, t] of feeds) inputs[k] = new ort.Tensor(t.dtype as "float32", t.data as Float32Array, t.shape);
  const out = await session.run(inputs);
  const decl = new Map(m.graph.outputs.map((o) => [o.name, o.type.dtype]));
  return new Map(Object.entries(out).map(([k, v]) => [k, tensor(decl.get(k)!, [...v.dims], v.data as Float32Array)]));
}

/**
 * Fraction of elements whose codes differ by at most 1. Float outputs are read back as codes
 * through `lsb` (the scale of the value their DequantizeLinear reads): v / s recovers q − z exactly.
 */
export function withinOneLsb(a: Tensor, b: Tensor, lsb = 1): number {
  expect(b.shape).toEqual(a.shape);
  const x = a.data as ArrayLike<number>;
  const y = b.data as ArrayLike<number>;
  let ok = 0;
  for (let i = 0; i < x.length; i++) if (Math.abs(Math.round(x[i]! / lsb) - Math.round(y[i]! / lsb)) <= 1) ok++;
  return ok / x.length;
}

/** The scale of the quantized value a float graph output is dequantized from. */
export function outputLsb(q: Model, output: string): number {
  const dq = q.graph.nodes.find((n) => n.op === "DequantizeLinear" && n.outputs[0] === output);
  expect(dq, `output ${output} is dequantized`).toBeDefined();
  return q.graph.valueTypes.get(dq!.inputs[0]!)!.quant!.scale[0]!;
}

