/**
 * Codebook weights (SPEC.md §2): per layer, or per output channel, a table of 2^b int8 centroids
 * fitted by Lloyd-Max (1-D k-means) on the float weights; each weight is stored as the b-bit index
 * of its nearest centroid. The integer semantics are those of an int8 layer whose weights are the
 * looked-up centroids (`q`), with one float32 scale per output channel (`real = scale[c] × q`).
 *
 * Sparsity survives: when a codebook's weights contain an exact 0, one centroid is pinned to 0
 * (it is never moved by the updates) and every zero weight is encoded as that code.
 */
import { fail } from "../../ir/errors.js";
import { quantizeValue, type ParamLayout } from "../../ir/kernels/quantize.js";
import { tensor, type Tensor } from "../../ir/tensor.js";
import { gatherChannel, symmetricScale, WEIGHT_CODES, weightLayout } from "./weights.js";

export interface CodebookOptions {
  /** Index width, 2..8: 2^bits centroids per codebook. */
  readonly bits: number;
  /** The output-channel axis. Negative counts from the end. */
  readonly axis: number;
  /** One codebook per output channel instead of one for the whole layer. */
  readonly perChannel: boolean;
  /**
   * Fixed int8 scales, one per codebook (1, or one per channel when perChannel). Default: per
   * codebook max |centroid| / 127, so the extreme centroids land exactly on ±127.
   */
  readonly scale?: Float32Array;
}

export interface CodebookWeights {
  /** uint4 (bits ≤ 4) or uint8 codes in [0, 2^bits), the weight's shape. */
  readonly indices: Tensor;
  /** 2^bits int8 values per codebook (codebook b at [b·2^bits, (b+1)·2^bits)), ascending within each. */
  readonly centroids: Int8Array;
  /** int8 looked-up centroids: q[i] = centroids[book(i)·2^bits + indices[i]]. */
  readonly q: Tensor;
  /** float32, one per output channel (equal across channels for a per-layer codebook). */
  readonly scale: Float32Array;
}

/** Lloyd-Max stops after this many assignment/update rounds if the assignment is still moving. */
export const LLOYD_MAX_ITERATIONS = 50;

const CENTROID_QMAX = 127;

export function codebookWeights(w: Tensor, opts: CodebookOptions): CodebookWeights {
  const { data, layout } = weightLayout(w, opts.bits, opts.axis);
  const k = 2 ** opts.bits;
  const books = opts.perChannel ? layout.axisLen : 1;
  checkFixedScales(opts.scale, books);

  const indices = tensor(opts.bits <= 4 ? "uint4" : "uint8", w.shape);
  const q = tensor("int8", w.shape);
  const codes = { idx: indices.data as Uint8Array, q: q.data as Int8Array };
  const centroids = new Int8Array(books * k);
  const scale = new Float32Array(layout.axisLen);
  if (opts.perChannel) {
    const values = new Float32Array(layout.outer * layout.inner);
    for (let c = 0; c < layout.axisLen; c++) {
      gatherChannel(data, layout, c, values);
      const table = centroids.subarray(c * k, (c + 1) * k);
      scale[c] = fitTable(values, table, opts.scale?.[c]);
      encodeChannel(data, layout, c, table, scale[c]!, codes);
    }
  } else {
    const s = fitTable(data, centroids, opts.scale?.[0]);
    scale.fill(s);
    encodeRun(data, 0, data.length, centroids, s, codes);
  }
  return { indices, centroids, q, scale };
}

/** Fits Lloyd-Max centroids to `values`, writes their int8 codes (ascending) into `table`, returns the scale. */
function fitTable(values: Float32Array, table: Int8Array, fixedScale: number | undefined): number {
  const c = lloydMax(values, table.length);
  let maxabs = 0;
  for (let i = 0; i < c.length; i++) maxabs = Math.max(maxabs, Math.abs(c[i]!));
  const s = fixedScale ?? symmetricScale(maxabs, CENTROID_QMAX);
  // Rounding and saturation are monotone, so the int8 table stays ascending like the centroids.
  for (let i = 0; i < c.length; i++) table[i] = quantizeValue(c[i]!, s, 0, -CENTROID_QMAX, CENTROID_QMAX);
  return s;
}

/**
 * 1-D k-means on the sorted values: clusters are contiguous runs of the sorted array split at the
 * midpoints between neighbouring centroids (a value on a midpoint joins the lower cluster). An
 * empty cluster keeps its centroid. Centroids stay ascending: each new mean lies inside its run.
 */
export function lloydMax(values: Float32Array, k: number): Float64Array {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  const { c, pinned } = initialCentroids(sorted, k);
  const bounds = new Int32Array(k + 1).fill(-1); // cluster i is sorted[bounds[i], bounds[i + 1])
  for (let it = 0; it < LLOYD_MAX_ITERATIONS; it++) {
    let changed = false;
    for (let i = 0; i <= k; i++) {
      const b = i === 0 ? 0 : i === k ? n : upperBound(sorted, (c[i - 1]! + c[i]!) / 2);
      if (b !== bounds[i]) {
        bounds[i] = b;
        changed = true;
      }
    }
    if (!changed) break;
    for (let i = 0; i < k; i++) {
      const lo = bounds[i]!;
      const hi = bounds[i + 1]!;
      if (i === pinned || hi === lo) continue;
      let sum = 0;
      for (let j = lo; j < hi; j++) sum += sorted[j]!;
      c[i] = sum / (hi - lo);
    }
  }
  return c;
}

/**
 * Quantiles of the sorted values, c[i] = sorted[⌊(i + ½)·n / k⌋]. With zeros present, centroid 0
 * is pinned and the other k − 1 are quantiles of the non-zero values, so a sparse layer does not
 * spend several centroids on its zeros.
 */
function initialCentroids(sorted: Float64Array, k: number): { c: Float64Array; pinned: number } {
  const z0 = upperBound(sorted, -Number.MIN_VALUE); // first value ≥ 0 (−0 included)
  const z1 = upperBound(sorted, 0);
  const zeros = z1 - z0;
  const free = zeros > 0 ? k - 1 : k;
  const m = sorted.length - zeros;
  const nonzero = new Float64Array(free);
  for (let i = 0; i < free && m > 0; i++) {
    const t = Math.floor(((i + 0.5) * m) / free);
    nonzero[i] = sorted[t < z0 ? t : t + zeros]!;
  }
  if (zeros === 0) return { c: nonzero, pinned: -1 };
  const c = new Float64Array(k);
  let pinned = 0;
  while (pinned < free && nonzero[pinned]! < 0) pinned++;
  c.set(nonzero.subarray(0, pinned), 0);
  c.set(nonzero.subarray(pinned), pinned + 1);
  return { c, pinned };
}

/** The first index whose value is > t (sorted.length if none). */
function upperBound(sorted: Float64Array, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! > t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

interface Codes {
  readonly idx: Uint8Array;
  readonly q: Int8Array;
}

function encodeChannel(data: Float32Array, layout: ParamLayout, c: number, table: Int8Array, s: number, out: Codes): void {
  for (let o = 0; o < layout.outer; o++) encodeRun(data, (o * layout.axisLen + c) * layout.inner, layout.inner, table, s, out);
}

/**
 * Encodes each weight as its nearest int8 centroid in real units (s·table[j]); a weight halfway
 * between two takes the lower index, so a zero weight gets the first zero entry.
 */
function encodeRun(data: Float32Array, start: number, len: number, table: Int8Array, s: number, out: Codes): void {
  for (let i = start; i < start + len; i++) {
    const v = data[i]! / s;
    let lo = 0;
    let hi = table.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((table[mid]! + table[mid + 1]!) / 2 < v) lo = mid + 1;
      else hi = mid;
    }
    out.idx[i] = lo;
    out.q[i] = table[lo]!;
  }
}

function checkFixedScales(scale: Float32Array | undefined, books: number): void {
  if (scale === undefined) return;
  if (scale.length !== books) {
    fail(WEIGHT_CODES.badOption, `codebook scale needs one value per codebook (${books}), got ${scale.length}`);
  }
  for (const s of scale) {
    if (!(s > 0) || !Number.isFinite(s)) fail(WEIGHT_CODES.badOption, `codebook scales must be finite and > 0, got ${s}`);
  }
}
