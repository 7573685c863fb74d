/**
 * Running a static program over inputs of another batch size. A program is compiled for one
 * item (its batch dimension bound to 1, or to what `--input-shape` said); `Batching` records, per
 * graph input and output, which axis is the batch (the model's symbolic batch dimension, wherever
 * it sits: speech models are often time-major). An input set whose tensor holds a multiple of
 * the program's size along that axis is cut into items, and the items' outputs are joined back
 * along the outputs' batch axes. Inputs that already have the program's shape (a recurrent
 * state, a sample rate) go to every item as they are.
 */
import { HwacError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import { shapeStr, strides, tensor, type Tensor } from "../ir/tensor.js";

/** The batch axis of each graph input and output that has one, by name. */
export interface Batching {
  readonly inputs: Readonly<Record<string, number>>;
  readonly outputs: Readonly<Record<string, number>>;
}

export const NO_BATCHING: Batching = { inputs: {}, outputs: {} };

function programShape(model: Model, name: string): number[] {
  const s = model.graph.inputs.find((i) => i.name === name)?.type.shape;
  if (!s || s.some((d) => typeof d !== "number")) throw new HwacError("HW6020", `the program's input '${name}' has no static shape`, { file: model.source });
  return s as number[];
}

/** Elements [i0, i0 + n) along `axis` of `t`. */
export function sliceAxis(t: Tensor, axis: number, i0: number, n: number): Tensor {
  const outer = t.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = strides(t.shape)[axis]!;
  const size = t.shape[axis]!;
  const out = tensor(t.dtype, t.shape.map((d, i) => (i === axis ? n : d)));
  const src = t.data as Float32Array;
  const dst = out.data as Float32Array;
  for (let o = 0; o < outer; o++) dst.set(src.subarray((o * size + i0) * inner, (o * size + i0 + n) * inner), o * n * inner);
  return out;
}

/** Joins tensors along `axis`. */
export function concatAxis(parts: readonly Tensor[], axis: number): Tensor {
  const first = parts[0]!;
  const total = parts.reduce((n, p) => n + p.shape[axis]!, 0);
  const out = tensor(first.dtype, first.shape.map((d, i) => (i === axis ? total : d)));
  const outer = first.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = strides(first.shape)[axis]!;
  const dst = out.data as Float32Array;
  let at = 0;
  for (const p of parts) {
    const n = p.shape[axis]!;
    const src = p.data as Float32Array;
    for (let o = 0; o < outer; o++) dst.set(src.subarray(o * n * inner, (o + 1) * n * inner), (o * total + at) * inner);
    at += n;
  }
  return out;
}

/**
 * Cuts `feeds` into the program's items. Every input must have the program's shape or a
 * multiple of it along its batch axis, and the inputs that are cut must agree on the count.
 */
export function splitItems(program: Model, batching: Batching, feeds: ReadonlyMap<string, Tensor>): ReadonlyMap<string, Tensor>[] {
  let items = 1;
  const cut = new Map<string, [axis: number, size: number]>();
  for (const { name } of program.graph.inputs) {
    const want = programShape(program, name);
    const t = feeds.get(name);
    if (!t) throw new HwacError("HW3010", `no value given for the program's input '${name}'`);
    if (shapeStr(t.shape) === shapeStr(want)) continue;
    const axis = batching.inputs[name];
    const size = axis === undefined ? 0 : want[axis]!;
    const ok = axis !== undefined && t.shape.length === want.length && size > 0 && t.shape[axis]! % size === 0 && t.shape.every((d, i) => i === axis || d === want[i]);
    if (!ok) {
      const how = axis === undefined ? "it has no batch axis" : `a multiple of its batch axis ${axis} runs item by item`;
      throw new HwacError("HW3012", `input '${name}' is ${shapeStr(t.shape)}, but the program was compiled for ${shapeStr(want)} (${how})`);
    }
    const k = t.shape[axis]! / size;
    if (cut.size > 0 && k !== items) throw new HwacError("HW3012", `input '${name}' holds ${k} items of the program's batch, but another input holds ${items}`);
    items = k;
    cut.set(name, [axis, size]);
  }
  return Array.from({ length: items }, (_, k) => {
    const item = new Map<string, Tensor>();
    for (const [name, t] of feeds) {
      const c = cut.get(name);
      item.set(name, c ? sliceAxis(t, c[0], k * c[1], c[1]) : t);
    }
    return item;
  });
}

/** Runs `run` on each item of `feeds` and joins the outputs along their batch axes. */
export function runItems(
  program: Model,
  batching: Batching,
  feeds: ReadonlyMap<string, Tensor>,
  run: (item: ReadonlyMap<string, Tensor>, index: number) => ReadonlyMap<string, Tensor>,
): Map<string, Tensor> {
  const items = splitItems(program, batching, feeds);
  if (items.length === 1) return new Map(run(items[0]!, 0));
  const outs = items.map((item, k) => run(item, k));
  return new Map(program.graph.outputs.map((o) => {
    const axis = batching.outputs[o.name];
    if (axis === undefined) throw new HwacError("HW3012", `output '${o.name}' has no batch axis, so the program cannot run ${items.length} items at once; give inputs of the compiled shape`);
    return [o.name, concatAxis(outs.map((m) => m.get(o.name)!), axis)];
  }));
}
