/**
 * Streaming statistics of one float value over every calibration run: element count, min, max
 * and a histogram from which the range choosers (`calib-ranges.ts`) pick a clipping range for
 * any bit width and method without running the model again.
 *
 * The histogram is collected in ONE pass over the data (one float run per calibration set):
 * its bins have a width `w` and are anchored at 0 (bin g covers [g·w, (g+1)·w)), so every range
 * a chooser returns can contain 0 exactly at a bin edge. The first set with a nonzero value
 * fixes `w` so that `bins` bins span [min(x, 0), max(x, 0)]. When a later set reaches outside,
 * bins are appended at the same width (onnxruntime's histogram merging) up to 2 × `bins`; beyond
 * that the width doubles and pairs of bins merge, which is exact because the doubled grid's edges
 * are edges of the old one. The result is deterministic for a given order of sets; a different
 * order may give a different (equally valid) bin grid. A single batched set always gets exactly
 * `bins` bins over its range.
 */

/** Default number of histogram bins over the first set's range (onnxruntime's and TensorRT's 2048). */
export const HISTOGRAM_BINS = 2048;

/** Counts over bins of width `width` anchored at 0: `counts[i]` covers [(offset+i)·width, (offset+i+1)·width). */
export interface Histogram {
  /** 0 while every value seen is 0 (then `counts` is empty and `count` holds the zeros). */
  readonly width: number;
  readonly offset: number;
  readonly counts: readonly number[];
}

/** What calibration keeps of one value: plain JSON, so it can be cached. */
export interface ValueStats {
  /** Finite elements seen. */
  readonly count: number;
  /** NaN and ±Infinity elements, which are left out of the range and the histogram. */
  readonly nonFinite: number;
  /** Smallest and largest finite element (0 when there are none). */
  readonly min: number;
  readonly max: number;
  readonly hist: Histogram;
}

export type FloatData = Float32Array | Float64Array;

export class ValueObserver {
  private count = 0;
  private nonFinite = 0;
  private min = Infinity;
  private max = -Infinity;
  private width = 0;
  private offset = 0;
  private n = 0;
  private counts: Float64Array;

  constructor(private readonly bins: number = HISTOGRAM_BINS) {
    this.counts = new Float64Array(2 * bins);
  }

  observe(data: FloatData): void {
    let mn = Infinity;
    let mx = -Infinity;
    let bad = 0;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      // v − v is NaN exactly for NaN and ±Infinity.
      if (v - v !== 0) {
        bad++;
        continue;
      }
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
    this.nonFinite += bad;
    const finite = data.length - bad;
    if (finite === 0) return;
    if (mn < this.min) this.min = mn;
    if (mx > this.max) this.max = mx;
    if (mn !== 0 || mx !== 0) this.cover(Math.min(mn, 0), Math.max(mx, 0));
    this.count += finite;
    if (this.width === 0) return;
    const w = this.width;
    const off = this.offset;
    const last = this.n - 1;
    const c = this.counts;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v - v !== 0) continue;
      const k = Math.floor(v / w) - off;
      c[k < 0 ? 0 : k > last ? last : k]++;
    }
  }

  /** Makes the bins cover [lo, hi] (lo ≤ 0 ≤ hi, not both 0). */
  private cover(lo: number, hi: number): void {
    if (this.width === 0) {
      this.width = (hi - lo) / (this.bins - 1);
      this.offset = Math.floor(lo / this.width);
      this.n = this.bins;
      // Everything seen so far was 0: it belongs to the bin starting at 0.
      this.counts[-this.offset] += this.count;
      return;
    }
    let start = Math.min(this.offset, Math.floor(lo / this.width));
    let end = Math.max(this.offset + this.n, Math.floor(hi / this.width) + 1);
    if (start === this.offset && end === this.offset + this.n) return;
    let k = 1;
    while (Math.floor((end - 1) / k) - Math.floor(start / k) + 1 > 2 * this.bins) k *= 2;
    start = Math.floor(start / k);
    end = Math.floor((end - 1) / k) + 1;
    const merged = new Float64Array(2 * this.bins);
    for (let i = 0; i < this.n; i++) merged[Math.floor((this.offset + i) / k) - start] += this.counts[i]!;
    this.counts = merged;
    this.width *= k;
    this.offset = start;
    this.n = end - start;
  }

  stats(): ValueStats {
    const none = this.count === 0;
    return {
      count: this.count,
      nonFinite: this.nonFinite,
      // + 0 turns −0 into 0, which JSON would do anyway.
      min: none ? 0 : this.min + 0,
      max: none ? 0 : this.max + 0,
      hist: { width: this.width, offset: this.offset, counts: Array.from(this.counts.subarray(0, this.n)) },
    };
  }
}

/** Statistics of `data` alone. */
export function observe(data: FloatData, bins = HISTOGRAM_BINS): ValueStats {
  const o = new ValueObserver(bins);
  o.observe(data);
  return o.stats();
}

/**
 * The histogram of |x|: bin k covers [k·width, (k+1)·width). Exact because the signed bins are
 * anchored at 0, so bin g < 0 of x is bin −g − 1 of |x|.
 */
export function absCounts(h: Histogram): Float64Array {
  const hiBins = Math.max(h.offset + h.counts.length, -h.offset, 0);
  const out = new Float64Array(hiBins);
  for (let i = 0; i < h.counts.length; i++) {
    const g = h.offset + i;
    out[g < 0 ? -g - 1 : g] += h.counts[i]!;
  }
  return out;
}
