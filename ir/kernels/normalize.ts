/**
 * Shared pieces of the normalization ops. Statistics come from the reduction driver in float64;
 * the affine step is either per channel (BatchNormalization, InstanceNormalization,
 * GroupNormalization fold mean, 1/std, scale and bias into one `x * a + b` per channel) or per
 * element of the normalized block (LayerNormalization, RMSNormalization).
 * The integer semantics (end of file) keep the same two shapes: Layer/Instance normalization
 * compute exact integer statistics per row, BatchNormalization applies a per-channel multiplier
 * and offset.
 */
import { ONNX_DTYPE, isFloat, type DType } from "../dtype.js";
import { HwacError } from "../errors.js";
import type { Dim, Node, TensorType } from "../graph.js";
import type { Attrs } from "../attrs.js";
import { clamp, mulShiftRound, quantizeMultiplier, requantize, roundHalfEven, type FixedMultiplier } from "../numeric.js";
import { opError } from "../op.js";
import { perTensor, type Multipliers } from "../quant-params.js";
import { numel, reshape, shapeStr, tensor, toFloat64, type Tensor } from "../tensor.js";
import { broadcastsTo } from "./broadcast.js";
import { encodeSignedMultipliers, isqrt, reciprocal, roundShift } from "./int-math.js";
import { broadcastTo, normAxis } from "./layout.js";
import type { IntArray } from "./quantize.js";
import { valuesOf, type Values } from "./reduce.js";

type Ctx = { node: Node };
type AttrCtx = { node: Node; attrs: Attrs };

/** [N, C, spatial size] of an (N x C x D1 … Dn) input; a 1-D input is N with one channel. */
export function channels(shape: readonly number[], ctx: Ctx): { n: number; c: number; s: number } {
  if (shape.length === 0) throw opError(ctx, "expects an input of rank >= 1 (N x C x D1 … Dn), got a scalar");
  return { n: shape[0]!, c: shape[1] ?? 1, s: numel(shape.slice(2)) };
}

/** Checks that a per-channel parameter input holds `count` values. */
export function expectCount(t: Tensor, count: number, what: string, ctx: Ctx): Values {
  if (numel(t.shape) !== count) throw opError(ctx, `${what} must hold ${count} values, got shape ${shapeStr(t.shape)}`);
  return valuesOf(t);
}

/**
 * `y = x * a[p] + b[p]` for `x` read as rows of `inner` elements, where p is the row index modulo
 * a.length: with a per channel and inner the spatial size, p is the channel of the row.
 */
export function channelAffine(x: Values, inner: number, a: Float64Array, b: Float64Array): Float64Array {
  const y = new Float64Array(x.length);
  const period = a.length;
  for (let i = 0, p = 0; i < x.length; p = p + 1 === period ? 0 : p + 1) {
    const ap = a[p]!;
    const bp = b[p]!;
    for (let j = 0; j < inner; j++, i++) y[i] = x[i]! * ap + bp;
  }
  return y;
}

/** BatchNormalization's per-channel affine `y = a·x + b`: a = scale / sqrt(var + ε), b = B − mean·a. */
export function batchNormAffine(scale: Values, bias: Values, mean: Values, variance: Values, epsilon: number) {
  const a = new Float64Array(scale.length);
  const b = new Float64Array(scale.length);
  for (let k = 0; k < a.length; k++) {
    a[k] = scale[k]! / Math.sqrt(variance[k]! + epsilon);
    b[k] = bias[k]! - mean[k]! * a[k]!;
  }
  return { a, b };
}

/** The normalized block of Layer/RMS normalization: dims from `axis` on are normalized together. */
export function splitAxis(shape: readonly number[], ctx: AttrCtx) {
  const axis = normAxis(ctx.attrs.int("axis", -1), shape.length, ctx);
  return { axis, rows: numel(shape.slice(0, axis)), cols: numel(shape.slice(axis)) };
}

/** Shape of the Mean / InvStdDev statistics: the normalized dims become 1. */
export function statShape<D extends Dim>(shape: readonly D[], axis: number): (D | 1)[] {
  return shape.map((d, k) => (k < axis ? d : 1));
}

/** Element type of the statistics outputs (stash_type, an ONNX element type code; default float32). */
export function stashType(ctx: AttrCtx): DType {
  const code = ctx.attrs.int("stash_type", 1);
  const dtype = ONNX_DTYPE[code];
  if (!dtype || !isFloat(dtype)) throw opError(ctx, `stash_type ${code} is not a float element type code`);
  return dtype;
}

/**
 * A Scale or B input of Layer/RMS normalization, which broadcasts to X, as values indexed either
 * by position in the normalized block (length `cols`) or, when it also varies along the leading
 * dims, by position in X.
 */
export function affineParam(t: Tensor, xShape: readonly number[], axis: number, what: string, ctx: Ctx): Values {
  if (!broadcastsTo(t.shape, xShape)) {
    throw opError(ctx, `${what} of shape ${shapeStr(t.shape)} does not broadcast to X's shape ${shapeStr(xShape)}`);
  }
  const split = Math.max(0, axis - (xShape.length - t.shape.length));
  const perBlock = t.shape.slice(0, split).every((d) => d === 1);
  const src = perBlock ? reshape(t, t.shape.slice(split)) : t;
  const target = perBlock ? xShape.slice(axis) : xShape;
  return valuesOf(numel(src.shape) === numel(target) ? src : broadcastTo(src, target));
}

/**
 * Normalizes rows of `cols` elements: `y = (x - center[r]) * inv[r] * w + b` (center null: 0),
 * with w and b from `affineParam` (b null: none).
 */
export function normalizeRows(
  x: Values,
  cols: number,
  center: Float64Array | null,
  inv: Float64Array,
  w: Values,
  b: Values | null,
): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0, i = 0; r < inv.length; r++) {
    const c = center ? center[r]! : 0;
    const s = inv[r]!;
    const wo = w.length === cols ? 0 : r * cols;
    const bo = b && b.length !== cols ? r * cols : 0;
    for (let j = 0; j < cols; j++, i++) y[i] = (x[i]! - c) * s * w[wo + j]! + (b ? b[bo + j]! : 0);
  }
  return y;
}

// ---- Integer semantics (docs/numerics-norm.md) ----

/** Longest normalized row: Σ(x − z)² of 8-bit codes stays below 2^31. */
export const MAX_NORM_COUNT = 32768;

/**
 * Fractional bits F of the normalized values n = round(2^F·(x − μ)/σ): the largest F ≤ 15 with
 * (count − 1)·4^F ≤ 2^30. As |x − μ|/σ ≤ sqrt(count − 1), |n| ≤ 2^15, so n·γ stays within 2^30.
 */
export function normFracBits(count: number): number {
  let f = 15;
  while (f > 0 && Math.max(count - 1, 1) * 4 ** f > 2 ** 30) f--;
  return f;
}

export interface QuantizedConst {
  readonly q: Tensor;
  readonly type: TensorType;
}

/**
 * γ and β of Layer/Instance normalization over rows of `count` elements as their integer
 * semantics read them: γ int16 per tensor, symmetric narrow (scale s_γ = max|γ|/32767; 1 when γ
 * is all zero); β int32 with scale s_γ·2^−F and zero point 0, where F is the largest
 * F ≤ normFracBits(count) with max|β| ≤ s_γ·2^(30−F) (F ≥ 0; beyond that β saturates to ±2^30),
 * so that n·γ + β cannot overflow int32. Without β, F = normFracBits(count).
 */
export function quantizeNormAffine(gamma: Tensor, beta: Tensor | undefined, count: number): { gamma: QuantizedConst; beta?: QuantizedConst } {
  const sg = Math.fround(maxAbs(toFloat64(gamma)) / 32767) || 1;
  const codes = (t: Tensor, dtype: "int16" | "int32", s: number, bound: number): QuantizedConst => {
    const x = toFloat64(t);
    const q = tensor(dtype, t.shape);
    const d = q.data as IntArray;
    for (let i = 0; i < x.length; i++) d[i] = clamp(roundHalfEven(x[i]! / s), -bound, bound);
    return { q, type: { dtype, shape: [...t.shape], quant: { scale: Float32Array.of(s), zeroPoint: Int32Array.of(0) } } };
  };
  const out = { gamma: codes(gamma, "int16", sg, 32767) };
  if (!beta) return out;
  const maxBeta = maxAbs(toFloat64(beta));
  let frac = normFracBits(count);
  while (frac > 0 && maxBeta > sg * 2 ** (30 - frac)) frac--;
  return { ...out, beta: codes(beta, "int32", Math.fround(sg / 2 ** frac), 2 ** 30) };
}

function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]!));
  return m;
}

export interface NormIntParams {
  readonly zIn: number;
  /** round(ε·count²/s_x²): ε in the units of the row statistic count²·variance of the codes. */
  readonly epsTerm: number;
  /** F, read from β's scale s_γ·2^−F (normFracBits(count) without β). */
  readonly frac: number;
  /** s_γ·2^−F / s_y. */
  readonly out: FixedMultiplier;
  readonly zOut: number;
  readonly lo: number;
  readonly hi: number;
}

/** Checks that a quantized input has the integer kernels' 8-bit range. */
function eightBit(t: TensorType | undefined, what: string) {
  const a = perTensor(t, what);
  if (a.hi - a.lo > 255) throw new HwacError("HW4050", `the integer semantics need ${what} of at most 8 bits, got ${a.dtype}`);
  return a;
}

/** F as β's type states it: s_β = s_γ·2^−F for an integer 0 ≤ F ≤ normFracBits(count). */
function biasFracBits(count: number, sg: number, b: ReturnType<typeof perTensor>): number {
  const frac = Math.round(Math.log2(sg / b.scale));
  if (b.dtype !== "int32" || b.zp !== 0 || !(frac >= 0 && frac <= normFracBits(count)) || Math.fround(sg / 2 ** frac) !== b.scale) {
    throw new HwacError(
      "HW4052",
      `the bias (β) must be int32 with zero point 0 and scale s_γ·2^-F for an integer F in [0, ${normFracBits(count)}] (s_γ = ${sg}), got ${b.dtype} with scale ${b.scale}`,
    );
  }
  return frac;
}

/** The integer Layer/Instance normalization's parameters; γ and β must be typed as `quantizeNormAffine` types them. */
export function normIntParams(
  count: number,
  epsilon: number,
  xT: TensorType | undefined,
  gammaT: TensorType | undefined,
  betaT: TensorType | undefined,
  yT: TensorType,
): NormIntParams {
  if (count > MAX_NORM_COUNT) throw new HwacError("HW4051", `integer normalization over ${count} elements exceeds the limit of ${MAX_NORM_COUNT}`);
  const x = eightBit(xT, "the input");
  const g = perTensor(gammaT, "the scale (γ)");
  if (g.zp !== 0 || (g.dtype !== "int16" && g.dtype !== "int8")) {
    throw new HwacError("HW4052", `the scale (γ) must be int16 or int8 with zero point 0, got ${g.dtype} with zero point ${g.zp}`);
  }
  const frac = betaT ? biasFracBits(count, g.scale, perTensor(betaT, "the bias (β)")) : normFracBits(count);
  const y = perTensor(yT, "the output");
  return {
    zIn: x.zp,
    epsTerm: Math.min(roundHalfEven((epsilon * count * count) / (x.scale * x.scale)), 2 ** 51),
    frac,
    out: quantizeMultiplier(g.scale / 2 ** frac / y.scale),
    zOut: y.zp,
    lo: y.lo,
    hi: y.hi,
  };
}

/**
 * 2^F / sqrt(v) as a fixed multiplier, for an integer row statistic 0 ≤ v < 2^52 (v = 0: zero).
 * v is scaled by an even power of two into [2^50, 2^52) (truncating when scaled down), its
 * 26-bit integer square root taken and that inverted by `reciprocal`.
 */
export function invSqrtMultiplier(v: number, frac: number): FixedMultiplier {
  if (v === 0) return { m0: 0, shift: 0 };
  let w = v;
  let e = 0;
  for (; w < 2 ** 50; e += 2) w *= 4;
  for (; w >= 2 ** 52; e -= 2) w = Math.floor(w / 4);
  const r = reciprocal(isqrt(w));
  return { m0: r.m0, shift: r.shift + frac + e / 2 };
}

/**
 * Integer Layer/Instance normalization of rows of `cols` codes. Per row, with c = q − z_x:
 * S1 = Σc and S2 = Σc² (int32), V = cols·S2 − S1² + ε term (64-bit, = cols²·(variance + ε) in
 * codes). Per element: n = round(D·2^F / sqrt(V)) with D = cols·c − S1, acc = n·γ + β (int32),
 * y = requantize(acc, s_γ·2^−F/s_y). γ and β are indexed along the row (`perRow` false:
 * LayerNormalization, length cols or rows·cols) or by row (`perRow` true: InstanceNormalization,
 * row r reads index r mod length).
 */
export function normalizeRowsInt(q: Values, rows: number, cols: number, p: NormIntParams, g: Values, b: Values | null, perRow: boolean, y: IntArray): void {
  const step = perRow ? 0 : 1;
  const offset = (len: number, r: number) => (perRow ? r % len : len === cols ? 0 : r * cols);
  for (let r = 0, i = 0; r < rows; r++) {
    let s1 = 0;
    let s2 = 0;
    for (let j = i; j < i + cols; j++) {
      const c = q[j]! - p.zIn;
      s1 += c;
      s2 += c * c;
    }
    const inv = invSqrtMultiplier(cols * s2 - s1 * s1 + p.epsTerm, p.frac);
    const go = offset(g.length, r);
    const bo = b ? offset(b.length, r) : 0;
    for (let j = 0; j < cols; j++, i++) {
      const n = mulShiftRound(cols * (q[i]! - p.zIn) - s1, inv.m0, inv.shift);
      const acc = (n * g[go + j * step]! + (b ? b[bo + j * step]! : 0)) | 0;
      y[i] = requantize(acc, p.out.m0, p.out.shift, p.zOut, p.lo, p.hi);
    }
  }
}

/** Extra fractional bits of the per-channel affine before its final rounding. */
const AFFINE_FRAC = 8;

/** Largest |a·s_x/s_y| of a per-channel affine: keeps the scaled product below 2^30. */
const MAX_AFFINE_GAIN = 2 ** 14;

export interface ChannelAffineIntParams extends Multipliers {
  /** round(b·2^8/s_y), saturated to ±2^30. */
  readonly offset: Int32Array;
  readonly zIn: number;
  readonly zOut: number;
  readonly lo: number;
  readonly hi: number;
}

/**
 * The integer form of `y = a[c]·x + b[c]` from x's type to y's: a signed multiplier
 * a[c]·s_x·2^8/s_y and an int32 offset round(b[c]·2^8/s_y) per channel.
 */
export function channelAffineIntParams(a: ArrayLike<number>, b: ArrayLike<number>, xT: TensorType | undefined, yT: TensorType): ChannelAffineIntParams {
  const x = eightBit(xT, "the input");
  const y = perTensor(yT, "the output");
  const reals = new Float64Array(a.length);
  const offset = new Int32Array(a.length);
  for (let c = 0; c < a.length; c++) {
    const m = (a[c]! * x.scale) / y.scale;
    if (!(Math.abs(m) <= MAX_AFFINE_GAIN)) {
      throw new HwacError("HW4051", `channel ${c}'s gain a·s_x/s_y = ${m} exceeds ${MAX_AFFINE_GAIN}: the output scale is too small for it`);
    }
    reals[c] = m * 2 ** AFFINE_FRAC;
    offset[c] = clamp(roundHalfEven((b[c]! * 2 ** AFFINE_FRAC) / y.scale), -(2 ** 30), 2 ** 30);
  }
  return { ...encodeSignedMultipliers(reals), offset, zIn: x.zp, zOut: y.zp, lo: y.lo, hi: y.hi };
}

/**
 * `y = clamp(z_y + ((mulShiftRound(q − z_x, m0[p], shift[p]) + offset[p] + 2^7) >> 8))` for `q`
 * read as rows of `inner` codes, p = row index mod the channel count (as `channelAffine`).
 */
export function channelAffineInt(q: Values, inner: number, p: ChannelAffineIntParams, y: IntArray): void {
  const period = p.m0.length;
  for (let i = 0, c = 0; i < q.length; c = c + 1 === period ? 0 : c + 1) {
    const m0 = p.m0[c]!;
    const shift = p.shift[c]!;
    const off = p.offset[c]!;
    for (let j = 0; j < inner; j++, i++) {
      y[i] = clamp(p.zOut + roundShift(mulShiftRound(q[i]! - p.zIn, m0, shift) + off, AFFINE_FRAC), p.lo, p.hi);
    }
  }
}
