/**
 * Numpy multidirectional broadcasting, as ONNX defines it for Add, Where, Max, …: shapes align at
 * their trailing axes, a missing leading axis counts as 1, and along each axis the sizes must be
 * equal or one of them 1 (which then repeats). Unidirectional broadcasting (PRelu's slope, Expand)
 * is the special case where the result must equal one of the shapes.
 *
 * Two levels: the type rule over symbolic dims (`broadcastDims`), and for evaluation a plan
 * (`broadcastPlan`) that walks the output in long rows, so loops do no per-element index arithmetic
 * beyond `offset + j·step`.
 */
import type { Dim } from "../graph.js";
import { numel, strides } from "../tensor.js";

/**
 * One axis of the result, or undefined when the sizes conflict. A symbol paired with a number n ≠ 1
 * must be n or 1 at run time, so the result is n; two different symbols could each be 1, so "?".
 */
export function broadcastDim(a: Dim, b: Dim): Dim | undefined {
  if (a === b || b === 1) return a;
  if (a === 1) return b;
  if (typeof a === "number" && typeof b === "number") return undefined;
  if (typeof a === "number") return a;
  if (typeof b === "number") return b;
  return "?";
}

/**
 * The broadcast of `shapes` for type rules: null when some rank is unknown, undefined when two
 * static sizes conflict.
 */
export function broadcastDims(shapes: readonly (readonly Dim[] | null)[]): Dim[] | null | undefined {
  let out: Dim[] = [];
  for (const s of shapes) {
    if (s === null) return null;
    const r = Math.max(out.length, s.length);
    const next = new Array<Dim>(r);
    for (let k = 1; k <= r; k++) {
      const d = broadcastDim(out[out.length - k] ?? 1, s[s.length - k] ?? 1);
      if (d === undefined) return undefined;
      next[r - k] = d;
    }
    out = next;
  }
  return out;
}

/** The broadcast of static shapes, or undefined when they conflict. */
export function broadcastShapes(shapes: readonly (readonly number[])[]): number[] | undefined {
  // Only two distinct symbols yield a symbol, so numbers in give numbers out.
  return broadcastDims(shapes) as number[] | undefined;
}

/** True when `from` broadcasts to exactly `to` (unidirectional broadcasting). */
export function broadcastsTo(from: readonly number[], to: readonly number[]): boolean {
  const b = broadcastShapes([to, from]);
  return b !== undefined && b.length === to.length && b.every((d, k) => d === to[k]);
}

/**
 * Strides for reading a tensor of `shape` at the coordinates of `out`: aligned at the trailing
 * axes, 0 along axes where `shape` has size 1 (or lacks the axis), so those coordinates repeat.
 */
export function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const st = strides(shape);
  const lead = out.length - shape.length;
  return out.map((_, k) => (k < lead || shape[k - lead] === 1 ? 0 : st[k - lead]!));
}

/**
 * A walk over operands broadcast to an output: the output is consecutive rows of `inner` elements;
 * in row r, operand k starts at `offsets[k][r]` and advances `steps[k]` per element — 1, or 0 where
 * it repeats one element along the row.
 */
export interface BroadcastPlan {
  readonly inner: number;
  readonly offsets: readonly Int32Array[];
  readonly steps: readonly number[];
}

/**
 * The plan for `shapes` broadcast to `out`. Rows are as long as possible: size-1 axes are dropped
 * and an axis merges into the one inside it when every operand walks both as one, so same-shape
 * and scalar operands give a single row, and a per-channel bias on NCHW gives rows of H·W.
 */
export function broadcastPlan(shapes: readonly (readonly number[])[], out: readonly number[]): BroadcastPlan {
  const st = shapes.map((s) => broadcastStrides(s, out));
  const dims: number[] = [];
  const strides: number[][] = shapes.map(() => []);
  for (let k = 0; k < out.length; k++) {
    const size = out[k]!;
    if (size === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && strides.every((s, i) => s[last] === st[i]![k]! * size)) {
      dims[last] *= size;
      strides.forEach((s, i) => (s[last] = st[i]![k]!));
    } else {
      dims.push(size);
      strides.forEach((s, i) => s.push(st[i]![k]!));
    }
  }
  const inner = dims.pop() ?? 1;
  const steps = strides.map((s) => s.pop() ?? 0);
  const rows = inner === 0 ? 0 : numel(dims);
  const offsets = shapes.map(() => new Int32Array(rows));
  const counters = new Int32Array(dims.length);
  const base = new Array<number>(shapes.length).fill(0);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < base.length; i++) offsets[i]![r] = base[i]!;
    // Odometer over the outer axes, keeping base[i] = Σ counter·stride.
    for (let k = dims.length - 1; k >= 0; k--) {
      const wrap = ++counters[k]! === dims[k];
      for (let i = 0; i < base.length; i++) base[i] += wrap ? -(dims[k]! - 1) * strides[i]![k]! : strides[i]![k]!;
      if (!wrap) break;
      counters[k] = 0;
    }
  }
  return { inner, offsets, steps };
}
