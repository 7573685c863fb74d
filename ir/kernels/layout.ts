/**
 * Data movement shared by the shape ops. Every op here copies elements without looking at them,
 * so one kernel serves every element type (typed arrays, BigInt64Array, string[]).
 *
 * The kernel is a gather through per-axis offset tables:
 *   out[i0, …, ik] = src[tables[0][i0] + … + tables[k][ik]]
 * Transpose, Slice, Expand, Tile, Pad, Gather and nearest-neighbour Resize differ only in the tables.
 */
import { broadcastStrides } from "./broadcast.js";
import { allocate, type DType, type TensorData } from "../dtype.js";
import type { Attrs } from "../attrs.js";
import type { Dim, Node, TensorType } from "../graph.js";
import { opError, type TypeCtx } from "../op.js";
import { fromFloat64, numel, strides, toNumbers, type Tensor } from "../tensor.js";

/** One element of any tensor. */
export type Scalar = number | bigint | string;

/** Element storage viewed uniformly, so one loop copies every dtype. */
type Elems = { [i: number]: unknown; readonly length: number };

/**
 * A table entry for a position outside the source (constant padding). No tensor reaches 2^31
 * elements, so any offset sum that includes it stays negative.
 */
export const OUTSIDE = -0x80000000;

/** Rows shorter than this are copied element by element: a subarray per row costs more. */
const MIN_BLOCK = 16;

type Ctx = { node: Node };

/** Resolves a possibly negative axis against `rank`. */
export function normAxis(axis: number, rank: number, ctx: Ctx, what = "axis"): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw opError(ctx, `${what} ${axis} is out of range for rank ${rank} (expected ${-rank}..${rank - 1})`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Resolves a list of axes, which must not repeat. */
export function normAxes(axes: readonly number[], rank: number, ctx: Ctx, what = "axes"): number[] {
  const out = axes.map((a) => normAxis(a, rank, ctx, what));
  if (new Set(out).size !== out.length) throw opError(ctx, `${what} [${axes.join(",")}] repeat an axis`);
  return out;
}

/**
 * An int-list operand (axes, pads, starts, …) as a type rule sees it: its values when known,
 * "dynamic" when computed at run time, undefined when absent. Older opsets give it as attribute `attr`.
 */
export function knownInts(ctx: TypeCtx, input: number, attr?: string): readonly number[] | "dynamic" | undefined {
  if (ctx.inputs[input]) {
    const c = ctx.consts[input];
    return c ? toNumbers(c) : "dynamic";
  }
  return attr === undefined ? undefined : ctx.attrs.optInts(attr);
}

/** Longest shape or axes operand a type rule accepts: its length becomes a rank, built as an array of dims. */
const MAX_OPERAND_RANK = 1024;

/** The length of 1-D input `input` when its shape is static: how many values a dynamic operand holds. */
export function operandLength(ctx: TypeCtx, input: number): number | undefined {
  const len = ctx.inputs[input]?.shape?.[0];
  if (typeof len === "number" && len > MAX_OPERAND_RANK) {
    throw opError(ctx, `input ${input} declares ${len} entries; a shape or axes list has at most ${MAX_OPERAND_RANK}`);
  }
  return typeof len === "number" ? len : undefined;
}

/** The run-time counterpart of knownInts: input `input` when given, else attribute `attr`. */
export function intsArg(
  inputs: readonly (Tensor | undefined)[],
  input: number,
  attrs: Attrs,
  attr?: string,
): readonly number[] | undefined {
  const t = inputs[input];
  if (t) return toNumbers(t);
  return attr === undefined ? undefined : attrs.optInts(attr);
}

/**
 * The type of `x`'s elements rearranged into `shape`. Per-tensor quantization carries over;
 * per-axis parameters would need their axis remapped, so they do not.
 */
export function moved(x: TensorType, shape: readonly Dim[] | null): TensorType {
  return x.quant && x.quant.axis === undefined ? { dtype: x.dtype, shape, quant: x.quant } : { dtype: x.dtype, shape };
}

/** Product of dims: a number when all are static, a symbol times ones is that symbol, else "?". */
export function dimProduct(dims: readonly Dim[]): Dim {
  let p = 1;
  const symbols = dims.filter((d): d is string => typeof d !== "number");
  for (const d of dims) if (typeof d === "number") p *= d;
  if (symbols.length === 0 || p === 0) return p;
  return symbols.length === 1 && p === 1 ? symbols[0]! : "?";
}

/** Offsets `(start + i * step) * stride` for `i < n`. */
export function rangeTable(n: number, start: number, step: number, stride: number): Int32Array {
  const t = new Int32Array(n);
  for (let i = 0; i < n; i++) t[i] = (start + i * step) * stride;
  return t;
}

/** Offsets `index(i) * stride` for `i < n`; a negative index marks a position outside the source. */
export function mappedTable(n: number, stride: number, index: (i: number) => number): Int32Array {
  const t = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const j = index(i);
    t[i] = j < 0 ? OUTSIDE : j * stride;
  }
  return t;
}

/** The tables that read `src` unchanged, one per axis. */
export function identityTables(shape: readonly number[]): Int32Array[] {
  const st = strides(shape);
  return shape.map((d, k) => rangeTable(d, 0, 1, st[k]!));
}

/** Copies `n` elements of `src` from `from` to `dst` at `to`. */
export function copyBlock(src: TensorData, from: number, dst: TensorData, to: number, n: number): void {
  if (n >= MIN_BLOCK && !Array.isArray(src)) {
    (dst as Float32Array).set((src as Float32Array).subarray(from, from + n), to);
    return;
  }
  const s = src as Elems;
  const d = dst as Elems;
  for (let i = 0; i < n; i++) d[to + i] = s[from + i];
}

/** `v` as an element of `dtype` (rounded to float16 precision, converted to bigint, …). */
export function elementOf(dtype: DType, v: number): Scalar {
  return dtype === "string" ? String(v) : (fromFloat64(dtype, [], [v]).data[0] as Scalar);
}

/** A tensor of `shape` whose every element is `value`. */
export function filled(dtype: DType, shape: readonly number[], value: Scalar): Tensor {
  const data = allocate(dtype, numel(shape));
  (data as { fill(v: Scalar): unknown }).fill(value);
  return { dtype, shape: [...shape], data };
}

/** The gather described in the file comment; positions marked OUTSIDE read `fill`. */
export function gatherAxes(
  src: Tensor,
  outShape: readonly number[],
  tables: readonly Int32Array[],
  fill?: Scalar,
): Tensor {
  const out = allocate(src.dtype, numel(outShape));
  const result: Tensor = { dtype: src.dtype, shape: [...outShape], data: out };
  if (out.length === 0) return result;
  // A scalar is a one-element row.
  const shape = outShape.length === 0 ? [1] : outShape;
  const tabs = outShape.length === 0 ? [Int32Array.of(0)] : tables;
  const s = src.data as Elems;
  const d = out as Elems;
  const rank = shape.length;
  const last = tabs[rank - 1]!;
  const inner = shape[rank - 1]!;
  const contiguous = isRun(last);
  const counters = new Int32Array(rank - 1);
  let base = 0;
  for (let k = 0; k < rank - 1; k++) base += tabs[k]![0]!;
  for (let o = 0; o < out.length; o += inner) {
    if (base < 0) {
      for (let j = 0; j < inner; j++) d[o + j] = fill;
    } else if (contiguous) {
      copyBlock(src.data, base + last[0]!, out, o, inner);
    } else {
      for (let j = 0; j < inner; j++) {
        const p = base + last[j]!;
        d[o + j] = p < 0 ? fill : s[p];
      }
    }
    for (let k = rank - 2; k >= 0; k--) {
      const t = tabs[k]!;
      base -= t[counters[k]!]!;
      if (++counters[k]! < shape[k]!) {
        base += t[counters[k]!]!;
        break;
      }
      counters[k] = 0;
      base += t[0]!;
    }
  }
  return result;
}

/** True when the table reads consecutive source elements. */
function isRun(t: Int32Array): boolean {
  if (t[0]! < 0) return false;
  for (let i = 1; i < t.length; i++) if (t[i] !== t[0]! + i) return false;
  return true;
}

/** Permutes the axes of `src`: output axis k is input axis perm[k]. */
export function transpose(src: Tensor, perm: readonly number[]): Tensor {
  const st = strides(src.shape);
  const outShape = perm.map((p) => src.shape[p]!);
  return gatherAxes(src, outShape, perm.map((p, k) => rangeTable(outShape[k]!, 0, 1, st[p]!)));
}

/** Repeats `src` along its size-1 (or missing leading) axes to `outShape`, which it must broadcast to. */
export function broadcastTo(src: Tensor, outShape: readonly number[]): Tensor {
  const st = broadcastStrides(src.shape, outShape);
  return gatherAxes(src, outShape, outShape.map((n, k) => rangeTable(n, 0, 1, st[k]!)));
}

/** The slice [start, start + len) of `src` along `axis`. */
export function sliceAxis(src: Tensor, axis: number, start: number, len: number): Tensor {
  const outer = numel(src.shape.slice(0, axis));
  const inner = numel(src.shape.slice(axis + 1));
  const shape = [...src.shape];
  shape[axis] = len;
  const out = allocate(src.dtype, outer * len * inner);
  const srcRow = src.shape[axis]! * inner;
  for (let o = 0; o < outer; o++) copyBlock(src.data, o * srcRow + start * inner, out, o * len * inner, len * inner);
  return { dtype: src.dtype, shape, data: out };
}

/** Joins tensors of one dtype along `axis`; all other dims must agree (the caller checks). */
export function concat(parts: readonly Tensor[], axis: number): Tensor {
  const first = parts[0]!;
  const outer = numel(first.shape.slice(0, axis));
  const inner = numel(first.shape.slice(axis + 1));
  const shape = [...first.shape];
  shape[axis] = parts.reduce((s, t) => s + t.shape[axis]!, 0);
  const out = allocate(first.dtype, numel(shape));
  let pos = 0;
  for (let o = 0; o < outer; o++) {
    for (const t of parts) {
      const row = t.shape[axis]! * inner;
      copyBlock(t.data, o * row, out, pos, row);
      pos += row;
    }
  }
  return { dtype: first.dtype, shape, data: out };
}
