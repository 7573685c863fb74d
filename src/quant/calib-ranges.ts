/**
 * Range choosers: the clipping range of an activation from its calibration statistics, for a
 * bit width, a grid family (symmetric or not) and a method:
 * - `minmax`: the observed range;
 * - `percentile`: keeps `percentile` % of the elements, cutting half the rest from each tail
 *   (symmetric grids: cutting the rest from the top of |x|), at histogram bin edges;
 * - `mse`: the range whose grid gives the least expected squared error over the histogram
 *   (NVIDIA pytorch-quantization's "mse" calibrator; `calib-mse.ts`). Symmetric grids search one
 *   threshold, asymmetric ones both ends;
 * - `entropy`: TensorRT's KL-divergence threshold on |x| (`calib-kl.ts`). Like onnxruntime's,
 *   it gives asymmetric grids a symmetric threshold cut to the observed range; it compares
 *   against the levels the grid has on one side of 0: qmax (127 for int8), or all 255 steps of
 *   an asymmetric int8 grid when the data has one sign (ReLU outputs).
 * Every range contains 0 and lies within the observed one. Candidate thresholds are histogram
 * bin edges; the full observed range is always a candidate and wins ties.
 */
import { intRange } from "../../ir/dtype.js";
import { check } from "../../ir/errors.js";
import { klDivergences } from "./calib-kl.js";
import { expectedMse, gridOf } from "./calib-mse.js";
import type { CalibrationMethod } from "./config.js";
import { absCounts, type ValueStats } from "./observers.js";
import { activationType, type ActRange } from "./quantize.js";

export const DEFAULT_PERCENTILE = 99.99;

export interface RangeOptions {
  method: CalibrationMethod;
  bits: 4 | 8 | 16;
  /** Asks for a symmetric grid; 4- and 16-bit activations are always symmetric (docs/quantization.md). */
  symmetric: boolean;
  /** Percent of the elements the `percentile` method keeps (default 99.99). */
  percentile?: number;
}

/** One choice: the statistics, the observed range [lo, hi] widened to contain 0, and the grid family. */
interface Problem {
  readonly stats: ValueStats;
  readonly bits: 4 | 8 | 16;
  readonly symmetric: boolean;
  readonly lo: number;
  readonly hi: number;
}

export function chooseRange(stats: ValueStats, opts: RangeOptions): ActRange {
  const lo = Math.min(stats.min, 0);
  const hi = Math.max(stats.max, 0);
  if (stats.hist.width === 0 || opts.method === "minmax") return { min: lo, max: hi };
  // As activationType decides: only 8-bit grids can be asymmetric.
  const p: Problem = { stats, bits: opts.bits, symmetric: opts.symmetric || opts.bits !== 8, lo, hi };
  const method = opts.method;
  switch (method) {
    case "percentile":
      return percentileRange(p, opts.percentile ?? DEFAULT_PERCENTILE);
    case "mse":
      return p.symmetric
        ? thresholdSearch(p, 1, (a) => expectedMse(stats.hist, gridOf(clip(p, a), p.bits, true)))
        : rangeSearch(p, (r) => expectedMse(stats.hist, gridOf(r, p.bits, false)));
    case "entropy": {
      const levels = entropyLevels(p);
      const kl = klDivergences(absCounts(stats.hist), levels);
      return thresholdSearch(p, levels, (_, k) => kl(k));
    }
    default: {
      const never: never = method;
      throw new Error(`unknown calibration method ${String(never)}`);
    }
  }
}

function entropyLevels(p: Problem): number {
  // The code range of the type the quantizer picks for these bits.
  const [qmin, qmax] = intRange(activationType({ min: -1, max: 1 }, p.bits, p.symmetric, null).dtype);
  const oneSigned = p.lo === 0 || p.hi === 0;
  return !p.symmetric && oneSigned ? qmax - qmin : qmax;
}

/** The clip ±a as a range within the observed one. */
function clip(p: Problem, a: number): ActRange {
  return { min: Math.max(-a, p.lo), max: Math.min(a, p.hi) };
}

function percentileRange(p: Problem, percentile: number): ActRange {
  check(percentile > 0 && percentile <= 100, "HW4031", `percentile must be in (0, 100], got ${percentile}`);
  const h = p.stats.hist;
  const w = h.width;
  const c = p.symmetric ? absCounts(h) : h.counts;
  let total = 0;
  for (let i = 0; i < c.length; i++) total += c[i]!;
  // The relative slack lets e.g. 0.01 % of 10000 elements cut exactly 1 despite rounding.
  const allowed = ((100 - percentile) / 100 / (p.symmetric ? 1 : 2)) * total * (1 + 1e-9);
  // The first bin with at most `allowed` elements above it.
  let above = total;
  let top = 0;
  while (top < c.length - 1 && (above -= c[top]!) > allowed) top++;
  if (p.symmetric) return clip(p, (top + 1) * w);
  let below = total;
  let bottom = c.length - 1;
  while (bottom > 0 && (below -= c[bottom]!) > allowed) bottom--;
  return within(p, (h.offset + bottom) * w, (h.offset + top + 1) * w);
}

/** [lo, hi] cut to the observed range, containing 0. */
function within(p: Problem, lo: number, hi: number): ActRange {
  return { min: Math.min(0, Math.max(p.lo, lo)), max: Math.max(0, Math.min(p.hi, hi)) };
}

/**
 * The index in [first, last] that minimizes f: about 32 evenly spaced indices, then ever finer
 * spacing (÷4) around the best so far, down to single indices (about 70 evaluations for 4096
 * candidates). Ties go to the larger index, the wider range, as TensorRT's search does.
 */
function argmin(first: number, last: number, f: (i: number) => number): number {
  let best = last;
  let bestV = f(last);
  let lo = first;
  let hi = last;
  let stride = Math.max(1, Math.ceil((last - first + 1) / 32));
  for (;;) {
    for (let i = hi - Math.floor((hi - lo) / stride) * stride; i <= hi; i += stride) {
      const v = f(i);
      if (v < bestV || (v === bestV && i > best)) {
        best = i;
        bestV = v;
      }
    }
    if (stride === 1) return best;
    lo = Math.max(first, best - stride + 1);
    hi = Math.min(last, best + stride - 1);
    stride = Math.ceil(stride / 4);
  }
}

/**
 * The symmetric threshold a = k·w (capped at max|x|, so the top candidate is the full range)
 * minimizing f(a, k) over k = minEdge … the last |x| bin holding data.
 */
function thresholdSearch(p: Problem, minEdge: number, f: (a: number, k: number) => number): ActRange {
  const abs = absCounts(p.stats.hist);
  let top = abs.length;
  while (top > 1 && abs[top - 1] === 0) top--;
  if (top <= minEdge) return { min: p.lo, max: p.hi };
  const maxAbs = Math.max(-p.lo, p.hi);
  const at = (k: number): number => Math.min(k * p.stats.hist.width, maxAbs);
  return clip(p, at(argmin(minEdge, top, (k) => f(at(k), k))));
}

/**
 * Both ends by coordinate descent over bin edges, from the observed range: the best upper edge
 * for the current lower one, then the reverse, until neither moves.
 */
function rangeSearch(p: Problem, f: (r: ActRange) => number): ActRange {
  const h = p.stats.hist;
  const w = h.width;
  let first = 0;
  while (first < h.counts.length - 1 && h.counts[first] === 0) first++;
  let last = h.counts.length - 1;
  while (last > 0 && h.counts[last] === 0) last--;
  // Edge indices, counted from 0 outwards so that a larger index is a wider range on both sides.
  const loMost = Math.max(-(h.offset + first), 0);
  const hiMost = Math.max(h.offset + last + 1, 0);
  const range = (l: number, u: number): ActRange => within(p, -l * w, u * w);
  let l = loMost;
  let u = hiMost;
  for (let round = 0; round < 8; round++) {
    const nu = argmin(0, hiMost, (i) => f(range(l, i)));
    const nl = argmin(0, loMost, (i) => f(range(i, nu)));
    if (nu === u && nl === l) break;
    u = nu;
    l = nl;
  }
  return range(l, u);
}
