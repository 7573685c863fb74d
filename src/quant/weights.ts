/**
 * Weight quantization (SPEC.md §1, docs/quantization.md): per output channel, symmetric, zero
 * point 0, narrow range [−qmax, qmax] with qmax = 2^(b−1) − 1, so `real = scale[c] × q`.
 * Codes are int8 for b ≥ 5 and int4 (unpacked) for b ≤ 4.
 *
 * Every quotient w / s is taken in float32, as ONNX QuantizeLinear divides, so the codes equal
 * those a float32 QuantizeLinear with the same scales gives (nearest rounding). A weight exactly 0
 * becomes code 0 in every mode: 0 / s rounds to 0, and floor(0 + u) = 0 for u ∈ [0, 1).
 */
import { fail } from "../../ir/errors.js";
import { dequantizeValue, forEachRun, perAxisLayout, quantizeValue, type ParamLayout } from "../../ir/kernels/quantize.js";
import { clamp, roundHalfEven } from "../../ir/numeric.js";
import { shapeStr, tensor, type Tensor } from "../../ir/tensor.js";
import { unsafeUniformIntDistribution, xoroshiro128plus } from "pure-rand";
import { gptqCodes, type LayerHessian } from "./gptq.js";

/** Error codes of weight quantization (HW404x). */
export const WEIGHT_CODES = {
  /** An option out of its range: bits, axis, seed, rounding or clipping mode, fixed scales. */
  badOption: "HW4040",
  /** A weight tensor that is not float32 or holds NaN or ±Infinity. */
  badWeights: "HW4041",
} as const;

export interface WeightQuantOptions {
  /** Code width, 2..8. */
  readonly bits: number;
  /** The output-channel axis; one scale per index along it. Negative counts from the end. */
  readonly axis: number;
  /** "gptq" needs `hessian`. */
  readonly rounding: "nearest" | "stochastic" | "gptq";
  /** The layer's input Hessian, for "gptq" rounding: one row of it per weight of a channel. */
  readonly hessian?: LayerHessian;
  /** Seed of the stochastic rounding generator (an integer, taken modulo 2^32); default 0. */
  readonly seed?: number;
  /** "minmax": scale = max|w| / qmax; "mse": the clipping threshold minimizing Σ(w − s·q)². */
  readonly clip: "minmax" | "mse";
}

export interface QuantizedWeights {
  /** int8 (bits ≥ 5) or int4 (bits ≤ 4) codes in [−qmax, qmax], the weight's shape. */
  readonly q: Tensor;
  /** float32, one per output channel; an all-zero channel has scale 1. */
  readonly scale: Float32Array;
  /** Per channel, the fraction of its weights whose code saturated at ±qmax. */
  readonly clipped: Float32Array;
}

export const MIN_WEIGHT_BITS = 2;
export const MAX_WEIGHT_BITS = 8;

/** Candidate clipping ratios of the "mse" search: 0.5 + 0.5·k/(N − 1), k = 0..N−1 (the last is 1). */
const CLIP_CANDIDATES = 100;

/** Stochastic rounding draws u on a 2^-24 grid (one float32 mantissa's worth of resolution). */
const U_STEPS = 2 ** 24;

export function quantizeWeights(w: Tensor, opts: WeightQuantOptions): QuantizedWeights {
  const { data, layout } = weightLayout(w, opts.bits, opts.axis);
  if (opts.rounding !== "nearest" && opts.rounding !== "stochastic" && opts.rounding !== "gptq") {
    fail(WEIGHT_CODES.badOption, `rounding must be "nearest", "stochastic" or "gptq", got ${JSON.stringify(opts.rounding)}`);
  }
  if (opts.rounding === "gptq" && !opts.hessian) fail(WEIGHT_CODES.badOption, `"gptq" rounding needs the layer's Hessian`);
  if (opts.clip !== "minmax" && opts.clip !== "mse") {
    fail(WEIGHT_CODES.badOption, `clip must be "minmax" or "mse", got ${JSON.stringify(opts.clip)}`);
  }
  const qmax = narrowMax(opts.bits);
  const maxabs = channelMaxAbs(data, layout);
  const scale = opts.clip === "mse" ? mseScales(data, layout, maxabs, qmax) : maxabs.map((m) => symmetricScale(m, qmax));

  const q = tensor(opts.bits <= 4 ? "int4" : "int8", w.shape);
  const codes = q.data as Int8Array;
  const saturated = new Float64Array(layout.axisLen);
  if (opts.rounding === "gptq") gptqCodes(data, layout, scale, qmax, opts.hessian!, codes, saturated);
  else roundCodes(data, layout, scale, qmax, opts.rounding === "stochastic" ? stochasticRounder(opts.seed ?? 0) : roundHalfEven, codes, saturated);
  const perChannel = layout.outer * layout.inner;
  const clipped = Float32Array.from(saturated, (k) => (perChannel === 0 ? 0 : k / perChannel));
  return { q, scale, clipped };
}

/** Each weight on its own: codes[i] = clamp(round(w / s)), counting per channel the codes that saturated. */
function roundCodes(
  data: Float32Array,
  layout: ParamLayout,
  scale: Float32Array,
  qmax: number,
  round: (v: number) => number,
  codes: Int8Array,
  saturated: Float64Array,
): void {
  // forEachRun visits elements in row-major order, which is the order stochastic rounding draws in.
  forEachRun(layout, (start, len, c) => {
    const s = scale[c]!;
    for (let i = start; i < start + len; i++) {
      const r = round(Math.fround(data[i]! / s));
      if (r > qmax || r < -qmax) saturated[c]!++;
      codes[i] = clamp(r, -qmax, qmax);
    }
  });
}

/**
 * q = floor(v + u) with u uniform in [0, 1), so E[q] = v (within 2^-24). The generator is
 * pure-rand's xoroshiro128plus(fmix32(seed)); each call draws exactly one u, so element i of the
 * weight tensor in row-major order (zeros included) uses the i-th draw. u = k / 2^24 with
 * k = unsafeUniformIntDistribution(0, 2^24 − 1, rng): for this power-of-two range pure-rand never
 * rejects, so k is the low 24 bits of one 32-bit generator output (pure-rand 7.x).
 */
function stochasticRounder(seed: number): (v: number) => number {
  if (!Number.isSafeInteger(seed)) fail(WEIGHT_CODES.badOption, `seed must be an integer, got ${seed}`);
  const rng = xoroshiro128plus(fmix32(seed | 0));
  return (v) => Math.floor(v + unsafeUniformIntDistribution(0, U_STEPS - 1, rng) / U_STEPS);
}

/**
 * MurmurHash3's 32-bit finalizer. xoroshiro128plus(s) starts from the state (−1, ~s, s, 0): its
 * first output is ~s and the next few stay correlated across neighbouring seeds (seeds 0, 1, 2, …
 * would round the first weight up almost always), so the seed is scrambled first.
 */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** Per channel, the scale among the candidates whose nearest-rounding reconstruction error is least. */
function mseScales(data: Float32Array, layout: ParamLayout, maxabs: Float32Array, qmax: number): Float32Array {
  const scale = new Float32Array(layout.axisLen);
  const values = new Float32Array(layout.outer * layout.inner);
  for (let c = 0; c < layout.axisLen; c++) {
    gatherChannel(data, layout, c, values);
    scale[c] = mseScale(values, maxabs[c]!, qmax);
  }
  return scale;
}

/** Searches from ratio 1 down and keeps only strict improvements: ties keep the wider range (less clipping). */
function mseScale(values: Float32Array, maxabs: number, qmax: number): number {
  let best = symmetricScale(maxabs, qmax);
  if (maxabs === 0) return best;
  let bestErr = reconstructionError(values, best, qmax);
  for (let k = CLIP_CANDIDATES - 2; k >= 0; k--) {
    const s = symmetricScale(maxabs * (0.5 + (0.5 * k) / (CLIP_CANDIDATES - 1)), qmax);
    const err = reconstructionError(values, s, qmax);
    if (err < bestErr) {
      bestErr = err;
      best = s;
    }
  }
  return best;
}

/** Σ (w − s·q)², q by nearest rounding, in float64 over the float32 reconstruction. */
function reconstructionError(values: Float32Array, s: number, qmax: number): number {
  let err = 0;
  for (let i = 0; i < values.length; i++) {
    const d = values[i]! - dequantizeValue(quantizeValue(values[i]!, s, 0, -qmax, qmax), s, 0);
    err += d * d;
  }
  return err;
}

/** The largest code of a b-bit narrow symmetric range: 2^(b−1) − 1. */
export function narrowMax(bits: number): number {
  return 2 ** (bits - 1) - 1;
}

/** fround(range / qmax); 1 for an all-zero range, so every multiplier stays finite. */
export function symmetricScale(range: number, qmax: number): number {
  return range === 0 ? 1 : Math.fround(range / qmax);
}

/** max |w| per index along the layout's axis. */
function channelMaxAbs(data: Float32Array, layout: ParamLayout): Float32Array {
  const m = new Float32Array(layout.axisLen);
  forEachRun(layout, (start, len, c) => {
    let v = m[c]!;
    for (let i = start; i < start + len; i++) v = Math.max(v, Math.abs(data[i]!));
    m[c] = v;
  });
  return m;
}

/** Copies channel c's weights into `dst` (length outer·inner), in row-major order. */
export function gatherChannel(data: Float32Array, layout: ParamLayout, c: number, dst: Float32Array): void {
  let k = 0;
  for (let o = 0; o < layout.outer; o++) {
    const base = (o * layout.axisLen + c) * layout.inner;
    for (let j = 0; j < layout.inner; j++) dst[k++] = data[base + j]!;
  }
}

/**
 * Checks a weight tensor and the options every weight quantizer shares, and returns its data and
 * the [outer, channels, inner] view around the output-channel axis.
 */
export function weightLayout(w: Tensor, bits: number, axis: number): { data: Float32Array; layout: ParamLayout } {
  if (!Number.isInteger(bits) || bits < MIN_WEIGHT_BITS || bits > MAX_WEIGHT_BITS) {
    fail(WEIGHT_CODES.badOption, `weight bits must be an integer from ${MIN_WEIGHT_BITS} to ${MAX_WEIGHT_BITS}, got ${bits}`);
  }
  if (w.dtype !== "float32") fail(WEIGHT_CODES.badWeights, `weights must be float32 to quantize, got ${w.dtype}`);
  const rank = w.shape.length;
  if (rank === 0) fail(WEIGHT_CODES.badOption, "a scalar weight has no output-channel axis; expected a tensor of rank ≥ 1");
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    fail(WEIGHT_CODES.badOption, `output-channel axis ${axis} is out of range for a ${shapeStr(w.shape)} weight (expected ${-rank}..${rank - 1})`);
  }
  const data = w.data as Float32Array;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) fail(WEIGHT_CODES.badWeights, `weight element ${i} is ${data[i]}; weights must be finite`);
  }
  return { data, layout: perAxisLayout(w.shape, axis) };
}
