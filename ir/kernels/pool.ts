/**
 * Max and average pooling over N-d windows, for MaxPool, AveragePool and the global pools, and the
 * integer average pool on quantized codes. `x` holds `planes` (batch × channel) row-major images of
 * the window's input shape; `y` receives `planes` images of its output shape. Window starts are
 * computed once per output position; windows lying wholly inside the input read through a table of
 * kernel offsets, only border windows check each tap against the input bounds.
 */
import type { TensorType } from "../graph.js";
import type { Window } from "./conv-geometry.js";
import type { FloatArray, IntArray } from "./gemm.js";
import { avgPoolParams, requantizeIndexed } from "./requant.js";
import { numel } from "../tensor.js";

/** Pooling inputs: any numeric storage but 64-bit integers (MaxPool also takes int8/uint8). */
export type PoolArray = FloatArray | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

interface Layout {
  readonly rank: number;
  readonly inSize: number;
  readonly outSize: number;
  readonly kprod: number;
  /** Row-major pitch of each input axis. */
  readonly pitch: Int32Array;
  /** Per kernel tap: its offset from the window start in a row-major input. */
  readonly offsets: Int32Array;
  /** Per kernel tap and axis: its coordinate relative to the window start (k·dilation). */
  readonly taps: Int32Array;
  /** Per output position and axis: the window's first input coordinate (may lie in the padding). */
  readonly starts: Int32Array;
  /** Per output position: 1 when the whole window is inside the input. */
  readonly interior: Uint8Array;
  /** Per output position: row-major index of the window start (meaningful for interior windows). */
  readonly base: Int32Array;
}

function layout(w: Window): Layout {
  const { inShape, outShape, kernel, strides, dilations, padBegin } = w;
  const rank = inShape.length;
  const inSize = numel(inShape);
  const outSize = numel(outShape);
  const kprod = numel(kernel);
  const pitch = new Int32Array(rank);
  for (let d = rank - 1, acc = 1; d >= 0; acc *= inShape[d]!, d--) pitch[d] = acc;
  const offsets = new Int32Array(kprod);
  const taps = new Int32Array(kprod * rank);
  for (let j = 0; j < kprod; j++) {
    for (let d = rank - 1, r = j; d >= 0; d--) {
      const t = (r % kernel[d]!) * dilations[d]!;
      r = Math.floor(r / kernel[d]!);
      taps[j * rank + d] = t;
      offsets[j] += t * pitch[d]!;
    }
  }
  const starts = new Int32Array(outSize * rank);
  const interior = new Uint8Array(outSize);
  const base = new Int32Array(outSize);
  for (let pos = 0; pos < outSize; pos++) {
    let inside = 1;
    let b = 0;
    for (let d = rank - 1, r = pos; d >= 0; d--) {
      const s = (r % outShape[d]!) * strides[d]! - padBegin[d]!;
      r = Math.floor(r / outShape[d]!);
      starts[pos * rank + d] = s;
      if (s < 0 || s + (kernel[d]! - 1) * dilations[d]! >= inShape[d]!) inside = 0;
      b += s * pitch[d]!;
    }
    interior[pos] = inside;
    base[pos] = b;
  }
  return { rank, inSize, outSize, kprod, pitch, offsets, taps, starts, interior, base };
}

export interface MaxPoolOptions {
  /** Receives the flat index into `x` of each window's first maximum (MaxPool's Indices output). */
  readonly indices?: BigInt64Array;
  /** Number the spatial axes of `indices` column-major (storage_order = 1). */
  readonly columnMajor?: boolean;
  /**
   * The result of a window lying wholly in the padding: −∞ by default; the type's lowest code for
   * integer codes, so padding never wins, as if padded with that code.
   */
  readonly empty?: number;
}

/** Max over each window, ignoring padding (as if padded with −∞) and NaN. */
export function maxPool(x: PoolArray, planes: number, w: Window, y: PoolArray, opts: MaxPoolOptions = {}): void {
  const { indices, columnMajor = false, empty = -Infinity } = opts;
  const L = layout(w);
  const { rank, inSize, outSize, kprod, pitch, offsets, taps, starts, interior, base } = L;
  const inShape = w.inShape;
  for (let plane = 0; plane < planes; plane++) {
    const xo = plane * inSize;
    const yo = plane * outSize;
    for (let pos = 0; pos < outSize; pos++) {
      let best = -Infinity;
      let arg = -1;
      if (interior[pos]) {
        const b = xo + base[pos]!;
        for (let j = 0; j < kprod; j++) {
          const v = x[b + offsets[j]!]!;
          if (v > best) {
            best = v;
            arg = b + offsets[j]!;
          }
        }
      } else {
        const so = pos * rank;
        for (let j = 0; j < kprod; j++) {
          let idx = xo;
          let d = 0;
          for (; d < rank; d++) {
            const c = starts[so + d]! + taps[j * rank + d]!;
            if (c < 0 || c >= inShape[d]!) break;
            idx += c * pitch[d]!;
          }
          if (d < rank) continue;
          const v = x[idx]!;
          if (v > best) {
            best = v;
            arg = idx;
          }
        }
      }
      y[yo + pos] = arg < 0 ? empty : best;
      if (indices) indices[yo + pos] = BigInt(columnMajor && arg >= 0 ? xo + toColumnMajor(arg - xo, L, inShape) : arg);
    }
  }
}

function toColumnMajor(flat: number, L: Layout, inShape: readonly number[]): number {
  let out = 0;
  for (let d = 0, colPitch = 1; d < L.rank; colPitch *= inShape[d]!, d++) {
    out += (Math.floor(flat / L.pitch[d]!) % inShape[d]!) * colPitch;
  }
  return out;
}

/**
 * The divisor of each output position's window: the taps inside the input, or with `withPads` those
 * inside the input and its declared pads (the overhang of a ceil_mode window past the end padding
 * never counts).
 */
export function windowCounts(w: Window, withPads: boolean): Int32Array {
  const { rank, outSize, kprod, taps, starts, interior } = layout(w);
  const { inShape, padBegin, padEnd } = w;
  const counts = new Int32Array(outSize);
  for (let pos = 0; pos < outSize; pos++) {
    if (interior[pos]) {
      counts[pos] = kprod;
      continue;
    }
    const so = pos * rank;
    let count = 0;
    for (let j = 0; j < kprod; j++) {
      let d = 0;
      for (; d < rank; d++) {
        const c = starts[so + d]! + taps[j * rank + d]!;
        if (withPads ? c < -padBegin[d]! || c >= inShape[d]! + padEnd[d]! : c < 0 || c >= inShape[d]!) break;
      }
      if (d === rank) count++;
    }
    counts[pos] = count;
  }
  return counts;
}

/** sums[plane·outSize + pos] = Σ x over the taps of window `pos` inside the input, in float64 (exact for integer codes). */
export function windowSums(x: PoolArray, planes: number, w: Window, sums: Float64Array): void {
  const { rank, inSize, outSize, kprod, offsets, taps, starts, interior, base, pitch } = layout(w);
  const { inShape } = w;
  for (let plane = 0; plane < planes; plane++) {
    const xo = plane * inSize;
    const yo = plane * outSize;
    for (let pos = 0; pos < outSize; pos++) {
      let sum = 0;
      if (interior[pos]) {
        const b = xo + base[pos]!;
        for (let j = 0; j < kprod; j++) sum += x[b + offsets[j]!]!;
      } else {
        const so = pos * rank;
        for (let j = 0; j < kprod; j++) {
          let idx = xo;
          let d = 0;
          for (; d < rank; d++) {
            const c = starts[so + d]! + taps[j * rank + d]!;
            if (c < 0 || c >= inShape[d]!) break;
            idx += c * pitch[d]!;
          }
          if (d === rank) sum += x[idx]!;
        }
      }
      sums[yo + pos] = sum;
    }
  }
}

/**
 * Mean over each window. Padding counts toward the divisor only with `countIncludePad`, and then
 * only the declared pads.
 */
export function avgPool(x: FloatArray, planes: number, w: Window, y: FloatArray, countIncludePad: boolean): void {
  const outSize = numel(w.outShape);
  const sums = new Float64Array(planes * outSize);
  windowSums(x, planes, w, sums);
  const counts = windowCounts(w, countIncludePad);
  for (let i = 0, pos = 0; i < sums.length; i++, pos = pos + 1 === outSize ? 0 : pos + 1) y[i] = sums[i]! / counts[pos]!;
}

/**
 * The integer average pool on codes of type `xType` into codes of `yType`: per window the int32 sum
 * Σ (x − z_x) over its taps inside the input (a padding tap is a real 0, i.e. contributes 0), then
 * `requantize` by s_x/(count·s_y) with count the float op's divisor (`avgPoolParams`).
 */
export function avgPoolInt(
  x: IntArray, planes: number, w: Window, countIncludePad: boolean,
  xType: TensorType | undefined, yType: TensorType | undefined, y: IntArray, what: string,
): void {
  const outSize = numel(w.outShape);
  const valid = windowCounts(w, false);
  const p = avgPoolParams(xType, yType, countIncludePad ? windowCounts(w, true) : valid, what);
  const sums = new Float64Array(planes * outSize);
  windowSums(x, planes, w, sums);
  const acc = new Int32Array(sums.length);
  for (let i = 0, pos = 0; i < sums.length; i++, pos = pos + 1 === outSize ? 0 : pos + 1) acc[i] = sums[i]! - p.zIn * valid[pos]!;
  requantizeIndexed(acc, y, p.requant, p.index);
}
