/**
 * Linear and cubic Resize on quantized codes (docs/numerics-elementwise.md). The float path's
 * taps (`interpolationTaps`) get integer weights of F fraction bits, and the axes are resampled one
 * at a time, innermost first as the float path does, on int32 values v = (q − z)·2^G:
 *   v' = clamp(roundShift(Σ W_j·v_j, F), −2^18, 2^18)   per resized axis,
 *   y  = requantize(v, s_in/(2^G·s_out), z_out)          at the end.
 * G = 16 − bits(input) makes |v| < 2^16 at the start. Linear weights are non-negative and sum to
 * 2^F, so v stays below 2^16 and F = 14 keeps Σ W_j·v_j below 2^30. Cubic weights overshoot
 * (Σ|w_j| ≤ 1.375 for Keys' kernel with A = −0.75, 1.5 for |A| ≤ 1), so F = 12 and v is bounded
 * by 2^18, keeping the sums below 2^31; the bound binds only past 4× the input's range.
 */
import { bitWidth } from "../dtype.js";
import type { TensorType } from "../graph.js";
import { clamp, requantize, roundHalfEven } from "../numeric.js";
import { perTensor } from "../quant-params.js";
import { tensor, type Tensor } from "../tensor.js";
import { roundShift } from "./int-math.js";
import { multiplier } from "./int-elementwise.js";
import type { IntArray } from "./quantize.js";
import { interpolationTaps, isIdentity, resampleAxis, type AxisResize, type Sampling, type Taps } from "./resize.js";

/** Fraction bits F of the integer interpolation weights. */
export function weightBits(s: Sampling): number {
  return s.mode === "linear" ? 14 : 12;
}

/** Bound on the working values between axes. */
const V_LIMIT = 2 ** 18;

/**
 * The taps with integer weights in units of 2^-F: each weight rounded half to even, and the
 * largest in magnitude absorbing the remainder so that every position's weights sum to exactly
 * 2^F (a constant input stays exactly constant).
 */
export function integerTaps(t: Taps, bits: number): Taps {
  const one = 2 ** bits;
  const weight = new Float64Array(t.weight.length);
  for (let x = 0; x < t.outside.length; x++) {
    if (t.outside[x]) continue;
    let sum = 0;
    let largest = x * t.n;
    for (let i = x * t.n; i < (x + 1) * t.n; i++) {
      weight[i] = roundHalfEven(t.weight[i]! * one);
      sum += weight[i]!;
      if (Math.abs(t.weight[i]!) > Math.abs(t.weight[largest]!)) largest = i;
    }
    weight[largest]! += one - sum;
  }
  return { ...t, weight };
}

/** Guard bits G of the working values (q − z)·2^G: 8 for 8-bit inputs, 12 for 4-bit, 0 for 16-bit. */
export function guardBits(inT: TensorType | undefined): number {
  return 16 - bitWidth(perTensor(inT, "the input").dtype);
}

/** Resamples the codes `x` along `axes` (one entry per input axis) with linear or cubic sampling `s`. */
export function resampleInt(x: Tensor, inT: TensorType | undefined, outT: TensorType, axes: readonly AxisResize[], s: Sampling): Tensor {
  const a = perTensor(inT, "the input");
  const b = perTensor(outT, "the output");
  const g = 2 ** guardBits(inT);
  const f = weightBits(s);
  const codes = x.data as IntArray;
  let v: Float64Array = new Float64Array(codes.length);
  for (let i = 0; i < v.length; i++) v[i] = (codes[i]! - a.zp) * g;
  // Positions outside a tf_crop_and_resize window take the extrapolation value, already weighted.
  const fill = clamp(roundHalfEven((s.extrapolation / a.scale) * g), -V_LIMIT, V_LIMIT) * 2 ** f;
  const cur = [...x.shape];
  for (let k = axes.length - 1; k >= 0; k--) {
    const ax = axes[k]!;
    if (isIdentity(ax, s)) continue;
    // Weighted sums of integers below 2^30 are exact in float64.
    v = resampleAxis(v, cur, k, integerTaps(interpolationTaps(ax, s), f), fill);
    for (let i = 0; i < v.length; i++) v[i] = clamp(roundShift(v[i]!, f), -V_LIMIT, V_LIMIT);
    cur[k] = ax.outLen;
  }
  const { m0, shift } = multiplier(a.scale / (g * b.scale), "the resized values");
  const out = tensor(outT.dtype, cur);
  const y = out.data as IntArray;
  for (let i = 0; i < y.length; i++) y[i] = requantize(v[i]!, m0, shift, b.zp, b.lo, b.hi);
  return out;
}
