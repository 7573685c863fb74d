/**
 * Power-of-two fixed point for the recurrent cells (SPEC.md §2, docs/numerics.md): Q formats,
 * the rounding product of two Q values, format conversion by shifts, and sigmoid/tanh as
 * 513-entry tables read with linear interpolation over the whole int16 input range (the scheme
 * of TFLite's int16 activations). Tables and multipliers are computed here, at compile time,
 * from formats and scales alone, so a backend stores exactly the numbers the reference uses.
 */
import { intRange, type DType } from "../dtype.js";
import { HwacError } from "../errors.js";
import type { TensorType } from "../graph.js";
import { clamp, quantizeMultiplier, roundHalfEven, type FixedMultiplier } from "../numeric.js";
import { sigmoid } from "../ops/Sigmoid.js";

// Prepared multipliers belong with the requantization primitives of numeric.ts; re-exported for
// the code that imports them from here.
export { Requantizer } from "../numeric.js";

/** Signed `bits`-bit integers q standing for q·2^−frac, zero point 0 (Q(bits−1−frac).frac). */
export interface QFormat {
  readonly bits: 8 | 16;
  readonly frac: number;
}

/** Gate pre-activations: [−8, 8) in steps of 2^−12. */
export const Q3_12: QFormat = { bits: 16, frac: 12 };
/** Gate activations: [−1, 1) in steps of 2^−15. */
export const Q0_15: QFormat = { bits: 16, frac: 15 };
/** The LSTM cell state when Y_c has no calibrated range: |c| < 16 in steps of 2^−11. */
export const DEFAULT_CELL: QFormat = { bits: 16, frac: 11 };

export function formatDType(f: QFormat): DType {
  return f.bits === 8 ? "int8" : "int16";
}

export function formatRange(f: QFormat): [number, number] {
  return intRange(formatDType(f));
}

/** The quantized type of a value held in format `f`: scale 2^−frac, zero point 0. */
export function formatType(f: QFormat, shape: TensorType["shape"]): TensorType {
  return { dtype: formatDType(f), shape, quant: { scale: Float32Array.of(2 ** -f.frac), zeroPoint: Int32Array.of(0) } };
}

/** The format a quantized type stands for; it must be int8/int16, per tensor, zero point 0, scale 2^−frac. */
export function formatOf(t: TensorType, what: string): QFormat {
  const q = t.quant;
  const bits = t.dtype === "int8" ? 8 : t.dtype === "int16" ? 16 : 0;
  const frac = q && q.scale.length === 1 ? -Math.log2(q.scale[0]!) : NaN;
  if (!bits || !q || q.zeroPoint[0] !== 0 || !Number.isInteger(frac) || frac < 0 || frac >= bits) {
    throw new HwacError("HW4051", `${what} must be int8 or int16 with a power-of-two scale 2^-f (0 ≤ f < bits) and zero point 0`);
  }
  return { bits, frac };
}

/**
 * `(a·b + 2^(s−1)) >> s` for 1 ≤ s ≤ 30 and |a·b| ≤ 2^30 (two 16-bit operands): the product of
 * two Q values, rounded half toward +∞ as requantization rounds. Equals
 * `mulShiftRound(a, b, 31 − s)` (ir/numeric.ts); with these bounds every sum stays in int32,
 * so the shift is exact.
 */
export function mulRound(a: number, b: number, s: number): number {
  return (a * b + (1 << (s - 1))) >> s;
}

/**
 * x·2^−s in another format: for s > 0 a right shift rounding half toward +∞, for s ≤ 0 a left
 * shift; then saturated to [lo, hi]. Exact for 16-bit x and −15 ≤ s ≤ 30.
 */
export function shiftRound(x: number, s: number, lo: number, hi: number): number {
  const y = s > 0 ? (x + (1 << (s - 1))) >> s : x * (1 << -s);
  return y < lo ? lo : y > hi ? hi : y;
}

/** Entries of an interpolated table: one every 2^7 codes of the int16 input, plus the end point. */
export const TABLE_SIZE = 513;
const STEP_BITS = 7;
const STEP = 1 << STEP_BITS;
const HALF = (TABLE_SIZE - 1) / 2;

/**
 * The table of f from a 16-bit input format to an output format: entry i samples
 * x_i = (−2^15 + 128·i)·2^−frac_in (x_512 lies one step past the largest code, for the last slope).
 * As TFLite's LUTPopulate, entry i < 512 is lowered by half the interpolation error at the
 * midpoint of its segment, which roughly halves the worst error:
 *   v = f(x_i)·2^fo, m = f(x_i + step/2)·2^fo, n = f(x_{i+1})·2^fo,
 *   T[i] = clamp(r(v) − r((r((n + r(v))/2) − r(m))/2)),  T[512] = clamp(r(f(x_512)·2^fo)),
 * with r = round half to even (the compile-time rule), clamped to the output range.
 */
export function interpTable(f: (x: number) => number, input: QFormat, output: QFormat): Int16Array {
  if (input.bits !== 16) throw new RangeError("interpolated tables take a 16-bit input");
  const [lo, hi] = formatRange(output);
  const inScale = 2 ** -input.frac;
  const outScale = 2 ** output.frac;
  const at = (code: number) => f(code * inScale) * outScale;
  const t = new Int16Array(TABLE_SIZE);
  for (let i = 0; i < TABLE_SIZE - 1; i++) {
    const code = (i - HALF) * STEP;
    const sample = roundHalfEven(at(code));
    const midInterp = roundHalfEven((at(code + STEP) + sample) / 2);
    const bias = roundHalfEven((midInterp - roundHalfEven(at(code + STEP / 2))) / 2);
    t[i] = clamp(sample - bias, lo, hi);
  }
  t[TABLE_SIZE - 1] = clamp(roundHalfEven(at(HALF * STEP)), lo, hi);
  return t;
}

/** The interpolated lookup is the hardware's defined function: it lives with the other primitives. */
export { lookupInterp } from "../numeric.js";

let sigmoidQ: Int16Array | undefined;
let tanhQ: Int16Array | undefined;

/** Sigmoid from Q3.12 to Q0.15 (computed once; the formats are fixed). */
export function sigmoidTable(): Int16Array {
  return (sigmoidQ ??= interpTable(sigmoid, Q3_12, Q0_15));
}

/** Tanh from Q3.12 to Q0.15. */
export function tanhTable(): Int16Array {
  return (tanhQ ??= interpTable(Math.tanh, Q3_12, Q0_15));
}

/** The multiplier taking a fixed-point value with `frac` fraction bits to a type of scale `sOut`: 2^−frac / sOut. */
export function fracMultiplier(frac: number, sOut: number): FixedMultiplier {
  return quantizeMultiplier(2 ** -frac / sOut);
}
