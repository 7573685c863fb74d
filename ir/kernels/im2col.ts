/**
 * Lowers convolutions to GEMM. `im2col` copies the windows of a [channels, …image] block into the
 * columns of a [channels·∏kernel, positions] matrix whose rows follow W's flattening (channel, then
 * kernel coordinates row-major), with zeros where a window reaches into the padding. `col2im` adds
 * such a matrix back into the image: ConvTranspose's scatter, the adjoint of im2col. `windowDot`
 * multiplies one channel by a one-row W without building the matrix: depthwise convolution, where
 * a GEMM of one row would spend more time packing than multiplying.
 *
 * im2col and col2im take a range of output positions [pos0, pos0 + npos) so callers can bound the
 * matrix's size; the matrix has row pitch `npos`. The last spatial axis is handled as contiguous
 * runs whose valid part is computed once per run, so the inner loops have no bounds checks.
 *
 * The same routines serve the integer convolutions on codes, read through a `Reading`: the
 * padding reads the input's zero point (a real 0), and sums into an Int32Array wrap like int32
 * accumulators.
 */
import type { Window } from "./conv-geometry.js";
import type { NumArray } from "./gemm.js";
import { numel } from "../tensor.js";

const GATHER = 0;
const SCATTER = 1;
const WEIGHTED = 2;
type Mode = typeof GATHER | typeof SCATTER | typeof WEIGHTED;
const NO_WEIGHTS = new Float32Array(0);

/** Fills each `size`-element plane of y ([images, channels, size]) with its channel's value: bias. */
export function fillChannels(y: NumArray, values: ArrayLike<number>, size: number): void {
  const m = values.length;
  for (let i = 0; i * size < y.length; i++) y.fill(values[i % m]!, i * size, (i + 1) * size);
}

/**
 * How the image is read: every element as `x − offset` and every padding tap as `pad − offset`.
 * Float convolutions read x and 0; the integer ones pad with the zero point, and may shift uint8
 * codes by 128 into the int8 range.
 */
export interface Reading {
  readonly pad: number;
  readonly offset: number;
}

export const PLAIN: Reading = { pad: 0, offset: 0 };

export function im2col(img: NumArray, imgOff: number, channels: number, w: Window, col: NumArray, pos0: number, npos: number, read = PLAIN): void {
  walk(img, imgOff, channels, w, col, 0, npos, pos0, npos, GATHER, NO_WEIGHTS, 0, read);
}

export function col2im(col: NumArray, channels: number, w: Window, img: NumArray, imgOff: number, pos0: number, npos: number): void {
  walk(img, imgOff, channels, w, col, 0, npos, pos0, npos, SCATTER, NO_WEIGHTS, 0, PLAIN);
}

/** out[outOff + pos] += Σ_k weights[wOff + k]·(window k of position pos in one image channel). */
export function windowDot(img: NumArray, imgOff: number, w: Window, weights: NumArray, wOff: number, out: NumArray, outOff: number, read = PLAIN): void {
  const positions = numel(w.outShape);
  walk(img, imgOff, 1, w, out, outOff, 0, 0, positions, WEIGHTED, weights, wOff, read);
}

/**
 * Visits, for every row (channel, kernel tap) and every output position in range, the image
 * element the window reads. Matrix element (row, pos) lives at col[colOff + row·rowPitch + pos − pos0].
 */
function walk(
  img: NumArray, imgOff: number, channels: number, w: Window,
  col: NumArray, colOff: number, rowPitch: number, pos0: number, npos: number,
  mode: Mode, weights: NumArray, wOff: number, read: Reading,
): void {
  const { inShape, outShape, kernel, strides, dilations, padBegin } = w;
  const rank = inShape.length;
  const last = rank - 1;
  const kprod = numel(kernel);
  const imgSize = numel(inShape);
  const pitch = new Int32Array(rank);
  for (let d = last, acc = 1; d >= 0; acc *= inShape[d]!, d--) pitch[d] = acc;
  const kc = new Int32Array(rank);
  const oc = new Int32Array(rank);
  const gridLast = outShape[last]!;
  const sLast = strides[last]!;
  const nLast = inShape[last]!;
  const end = pos0 + npos;
  const offset = read.offset;
  const pad = read.pad - offset;
  for (let ch = 0; ch < channels; ch++) {
    const chOff = imgOff + ch * imgSize;
    for (let kk = 0; kk < kprod; kk++) {
      for (let d = last, r = kk; d >= 0; d--) {
        kc[d] = r % kernel[d]!;
        r = Math.floor(r / kernel[d]!);
      }
      // Along the last axis, position j reads x = j·s + shift; it is inside the image for j in [lo, hi).
      const shift = kc[last]! * dilations[last]! - padBegin[last]!;
      const lo = Math.max(0, Math.ceil(-shift / sLast));
      const hi = Math.min(gridLast, Math.floor((nLast - 1 - shift) / sLast) + 1);
      for (let d = last, r = pos0; d >= 0; d--) {
        oc[d] = r % outShape[d]!;
        r = Math.floor(r / outShape[d]!);
      }
      const row = ch * kprod + kk;
      const wt = mode === WEIGHTED ? weights[wOff + row]! : 0;
      const padTerm = wt * pad;
      let c = colOff + row * rowPitch;
      let j0 = oc[last]!;
      for (let q = pos0; q < end; ) {
        const len = Math.min(gridLast - j0, end - q);
        const j1 = j0 + len;
        let base = chOff + shift;
        let inside = true;
        for (let d = 0; d < last; d++) {
          const x = oc[d]! * strides[d]! + kc[d]! * dilations[d]! - padBegin[d]!;
          if (x < 0 || x >= inShape[d]!) inside = false;
          base += x * pitch[d]!;
        }
        const a = inside ? Math.min(j1, Math.max(j0, lo)) : j1;
        const b = inside ? Math.max(a, Math.min(j1, hi)) : j1;
        let i = c + a - j0;
        let src = base + a * sLast;
        if (mode === SCATTER) {
          for (let j = a; j < b; j++, i++, src += sLast) img[src] += col[i]!;
        } else if (mode === WEIGHTED) {
          for (let j = a; j < b; j++, i++, src += sLast) col[i] += wt * (img[src]! - offset);
          if (padTerm !== 0) {
            for (let z = c; z < c + a - j0; z++) col[z] += padTerm;
            for (let z = i; z < c + len; z++) col[z] += padTerm;
          }
        } else {
          // Runs are short (one output row), so plain loops beat TypedArray.fill's call overhead.
          for (let z = c; z < c + a - j0; z++) col[z] = pad;
          for (let j = a; j < b; j++, i++, src += sLast) col[i] = img[src]! - offset;
          for (let z = i; z < c + len; z++) col[z] = pad;
        }
        c += len;
        q += len;
        j0 = 0;
        for (let d = last - 1; d >= 0; d--) {
          if (++oc[d]! < outShape[d]!) break;
          oc[d] = 0;
        }
      }
    }
  }
}
