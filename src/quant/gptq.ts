/**
 * Error-compensating weight rounding (GPTQ, Frantar et al. 2022, in the LDL form of Chee et al.,
 * "QuIP", 2023). A layer's output error on its calibration inputs is, for one output channel with
 * weight error δ = w − ŵ, δ·H·δᵀ with H = Σ x·xᵀ over the input rows x. Rounding each weight to
 * its nearest code ignores that inputs are correlated; GPTQ rounds the weights one after the other
 * and lets the weights still to be rounded absorb the error of those already rounded, along the
 * directions the inputs actually take.
 *
 * With H = L·D·Lᵀ (L unit lower triangular), δ·H·δᵀ = Σ_k D_k·(δ_k + Σ_{j>k} δ_j·L_jk)², so
 * visiting the weights from the last to the first, each
 *   ŵ_k = s·clamp(round((w_k + Σ_{j>k} (w_j − ŵ_j)·L_jk) / s), −qmax, qmax)
 * zeroes its own term as far as the grid allows (Babai's nearest plane): GPTQ's result with one
 * Cholesky factorization of H instead of one of H⁻¹. H is permuted so that its largest diagonal
 * entries come last: the weights of the inputs with the most energy are rounded first, while the
 * most weights remain to compensate them (GPTQ's "act order").
 *
 * H is damped by 1 % of its mean diagonal (GPTQ's default): that keeps the factorization well
 * conditioned when there are fewer calibration rows than weights per channel (H singular) and
 * limits how far the compensation moves weights along directions the calibration inputs barely
 * visit. The scale of each output channel is chosen beforehand (min/max or MSE clipping) and kept;
 * a weight that is exactly 0 stays code 0, its would-be correction passed on like a rounding
 * error. Per group of channels sharing an H, the cost is K³/6 multiply-adds to factor H and
 * channels·K²/2 to round; both run as blocked GEMMs (float64 sums, float32 block results).
 */
import { fail } from "../../ir/errors.js";
import { sgemm, view } from "../../ir/kernels/gemm.js";
import type { ParamLayout } from "../../ir/kernels/quantize.js";
import { clamp, roundHalfEven } from "../../ir/numeric.js";

/** Σ x·xᵀ of a weight's input rows x (length k, in the order of one output channel's weights). */
export interface LayerHessian {
  readonly k: number;
  /**
   * k×k, row-major, one per group of output channels (Conv's groups; one for the other ops). Only
   * the lower triangle (row ≥ column) is read.
   */
  readonly groups: readonly Float64Array[];
  /** Σ x per group (length k). */
  readonly sums: readonly Float64Array[];
  /** Rows summed in each group. */
  readonly count: number;
  /** Output channel c uses `groups[Math.floor(c / channelsPerGroup)]`. */
  readonly channelsPerGroup: number;
}

/** Damping added to H's diagonal, as a fraction of its mean. */
export const GPTQ_DAMPING = 0.01;

/** Factorizations tried, each with ten times the damping of the one before. */
const DAMPING_TRIES = 6;

/** Columns per block of the factorization and of the rounding. */
const BLOCK = 64;

/**
 * Codes of `data` (per-channel `scale`, `layout` around the output-channel axis) by GPTQ rounding
 * under `h`, written to `codes`; counts per channel the weights whose compensated value fell
 * outside ±qmax in `saturated`.
 */
export function gptqCodes(
  data: Float32Array,
  layout: ParamLayout,
  scale: Float32Array,
  qmax: number,
  h: LayerHessian,
  codes: Int8Array,
  saturated: Float64Array,
): void {
  const k = layout.outer * layout.inner;
  if (h.k !== k || h.groups.length * h.channelsPerGroup !== layout.axisLen) {
    fail("HW4040", `a Hessian of ${h.groups.length} × [${h.k}×${h.k}] does not fit ${layout.axisLen} channels of ${k} weights`);
  }
  const rows = h.channelsPerGroup;
  const offset = new Int32Array(k);
  const w = new Float64Array(rows * k);
  const err = new Float64Array(rows * k);
  h.groups.forEach((hg, g) => {
    const order = actOrder(hg, k);
    const l = dampedFactor(hg, k, order);
    const c0 = g * rows;
    // offset[j]: where the j-th weight visited sits, relative to its channel's first element.
    for (let j = 0; j < k; j++) {
      const e = order[j]!;
      offset[j] = Math.floor(e / layout.inner) * layout.axisLen * layout.inner + (e % layout.inner);
    }
    for (let r = 0; r < rows; r++) {
      const base = (c0 + r) * layout.inner;
      for (let j = 0; j < k; j++) w[r * k + j] = data[base + offset[j]!]!;
    }
    const quantize = (r: number, j: number, v: number): number => {
      const c = c0 + r;
      const i = c * layout.inner + offset[j]!;
      const s = scale[c]!;
      let q = 0;
      if (data[i] !== 0) {
        // The quotient in float32, as QuantizeLinear divides: with H = 0 the codes are nearest rounding's.
        q = roundHalfEven(Math.fround(v / s));
        if (q > qmax || q < -qmax) saturated[c]!++;
        q = clamp(q, -qmax, qmax);
      }
      codes[i] = q;
      return data[i]! - s * q;
    };
    // No calibration input reached this group (H = 0): nothing to compensate, nearest rounding.
    if (!l) for (let r = 0; r < rows; r++) for (let j = 0; j < k; j++) quantize(r, j, w[r * k + j]!);
    else roundWithFeedback(w, err, rows, k, l, quantize);
  });
}

/**
 * The Babai loop over the rows (rows × k, columns in visiting order) of `w`, from the last column
 * to the first. `quantize(r, j, v)` rounds the compensated value v of row r, column j and returns
 * that weight's error w_j − ŵ_j, which `err` keeps. `l` holds L's strictly lower part (L_ji at
 * j·k + i, i < j). The errors of finished blocks reach the next block as one GEMM; within a block
 * each error is pushed into the columns before it at once.
 */
function roundWithFeedback(
  w: Float64Array,
  err: Float64Array,
  rows: number,
  k: number,
  l: Float64Array,
  quantize: (row: number, col: number, v: number) => number,
): void {
  const feedback = new Float32Array(rows * BLOCK);
  for (let hi = k; hi > 0; hi -= BLOCK) {
    const lo = Math.max(0, hi - BLOCK);
    const n = hi - lo;
    if (hi < k) {
      sgemm(rows, n, k - hi, view(err, hi, k), view(l, hi * k + lo, k), view(feedback, 0, n));
      for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) w[r * k + lo + j] += feedback[r * n + j]!;
    }
    for (let j = hi - 1; j >= lo; j--) {
      const lj = j * k;
      for (let r = 0; r < rows; r++) {
        const row = r * k;
        const e = quantize(r, j, w[row + j]!);
        err[row + j] = e;
        if (e !== 0) for (let i = lo; i < j; i++) w[row + i] += e * l[lj + i]!;
      }
    }
  }
}

/** The visiting order: ascending diagonal of H (ties by index), so the largest are rounded first. */
function actOrder(h: Float64Array, k: number): Int32Array {
  return Int32Array.from({ length: k }, (_, i) => i).sort((a, b) => h[a * k + a]! - h[b * k + b]! || a - b);
}

/**
 * L's strictly lower part (L_jk = C_jk / C_kk, C the Cholesky factor; C_kk stays on the diagonal)
 * of H permuted to `order` and damped. A factorization that breaks down (H numerically
 * indefinite) is retried with more damping; undefined when H is zero or not finite.
 */
function dampedFactor(h: Float64Array, k: number, order: Int32Array): Float64Array | undefined {
  let mean = 0;
  for (let i = 0; i < k; i++) mean += h[i * k + i]!;
  mean /= k;
  if (!(mean > 0 && mean < Infinity)) return undefined;
  const a = new Float64Array(k * k);
  for (let t = 0, damping = GPTQ_DAMPING; ; t++, damping *= 10) {
    if (t === DAMPING_TRIES) return undefined;
    for (let i = 0; i < k; i++) {
      const oi = order[i]!;
      for (let j = 0; j <= i; j++) {
        const oj = order[j]!;
        a[i * k + j] = oi >= oj ? h[oi * k + oj]! : h[oj * k + oi]!;
      }
      a[i * k + i] += damping * mean;
    }
    if (cholesky(a, k)) break;
  }
  for (let c = 0; c < k; c++) {
    const d = a[c * k + c]!;
    for (let j = c + 1; j < k; j++) a[j * k + c] /= d;
  }
  return a;
}

/**
 * In-place Cholesky factorization of the lower triangle of a (k×k, row-major): a = C·Cᵀ, the upper
 * triangle left undefined. Blocked, right-looking: a diagonal block is factored by dot products;
 * the rows below it are solved against it as one GEMM with the inverse of its factor (float64);
 * the rest of the matrix is updated by GEMMs whose block results are float32 (relative error
 * about 1e-8, far below what rounding to a weight grid can tell apart). Returns false when a pivot
 * is not positive.
 */
export function cholesky(a: Float64Array, k: number): boolean {
  const update = new Float32Array(BLOCK * k);
  const panel = new Float64Array(BLOCK * k);
  const inv = new Float64Array(BLOCK * BLOCK);
  for (let j0 = 0; j0 < k; j0 += BLOCK) {
    const j1 = Math.min(k, j0 + BLOCK);
    const jb = j1 - j0;
    if (!factorBlock(a, k, j0, j1, inv)) return false;
    const m = k - j1;
    if (m === 0) break;
    // The rows below: P = B·C11⁻ᵀ, then kept transposed (jb × m) for the update's right operand.
    sgemm(m, jb, jb, view(a, j1 * k + j0, k), view(inv, 0, jb, true), view(panel, 0, jb));
    for (let i = 0; i < m; i++) for (let t = 0; t < jb; t++) a[(j1 + i) * k + j0 + t] = panel[i * jb + t]!;
    for (let i = 0; i < m; i++) for (let t = 0; t < jb; t++) panel[t * m + i] = a[(j1 + i) * k + j0 + t]!;
    // Lower part only, block row by block row: a[i0..i1, j1..i1] −= P[i0..i1]·P[j1..i1]ᵀ.
    for (let i0 = j1; i0 < k; i0 += BLOCK) {
      const i1 = Math.min(k, i0 + BLOCK);
      const n = i1 - j1;
      sgemm(i1 - i0, n, jb, view(a, i0 * k + j0, k), view(panel, 0, m), view(update, 0, n));
      for (let i = i0; i < i1; i++) {
        const dst = i * k + j1;
        const src = (i - i0) * n;
        for (let j = 0; j < n; j++) a[dst + j] -= update[src + j]!;
      }
    }
  }
  return true;
}

/** Factors the diagonal block [j0, j1) of a in place and writes the inverse of its factor (jb×jb, lower) to inv. */
function factorBlock(a: Float64Array, k: number, j0: number, j1: number, inv: Float64Array): boolean {
  const jb = j1 - j0;
  for (let i = j0; i < j1; i++) {
    const ri = i * k;
    for (let j = j0; j < i; j++) {
      const rj = j * k;
      let s = a[ri + j]!;
      for (let t = j0; t < j; t++) s -= a[ri + t]! * a[rj + t]!;
      a[ri + j] = s / a[rj + j]!;
    }
    let d = a[ri + i]!;
    for (let t = j0; t < i; t++) d -= a[ri + t]! * a[ri + t]!;
    if (!(d > 0)) return false;
    a[ri + i] = Math.sqrt(d);
  }
  inv.fill(0);
  for (let c = 0; c < jb; c++) {
    inv[c * jb + c] = 1 / a[(j0 + c) * k + j0 + c]!;
    for (let r = c + 1; r < jb; r++) {
      const rr = (j0 + r) * k + j0;
      let s = 0;
      for (let t = c; t < r; t++) s += a[rr + t]! * inv[t * jb + c]!;
      inv[r * jb + c] = -s / a[rr + r]!;
    }
  }
  return true;
}
