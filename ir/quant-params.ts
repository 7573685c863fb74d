/**
 * Parameters derived from quantization scales: requantization multipliers and lookup tables.
 * The integer reference computes them here, and the backends' lowering calls the same functions,
 * so a program stores exactly the numbers the golden model uses.
 */
import { intRange, type DType } from "./dtype.js";
import { HwacError } from "./errors.js";
import type { QuantParams, TensorType } from "./graph.js";
import { clamp, quantizeMultiplier, roundHalfEven } from "./numeric.js";

/** Per-channel (or single) fixed-point multipliers. */
export interface Multipliers {
  readonly m0: Int32Array;
  readonly shift: Int8Array;
}

/** Encodes real multipliers `reals[c]` (float64) for `requantize`. */
export function encodeMultipliers(reals: ArrayLike<number>): Multipliers {
  const m0 = new Int32Array(reals.length);
  const shift = new Int8Array(reals.length);
  for (let c = 0; c < reals.length; c++) {
    const f = quantizeMultiplier(reals[c]!);
    m0[c] = f.m0;
    shift[c] = f.shift;
  }
  return { m0, shift };
}

/** M[c] = s_a · s_b[c] / s_out: the requantization of a product accumulator (conv, matmul, mul). */
export function productMultipliers(sA: number, sB: ArrayLike<number>, sOut: number): Multipliers {
  const reals = new Float64Array(sB.length);
  for (let c = 0; c < sB.length; c++) reals[c] = (sA * sB[c]!) / sOut;
  return encodeMultipliers(reals);
}

/** The quantization parameters of a type, which must be quantized. */
export function quantOf(t: TensorType | undefined, what: string): QuantParams {
  if (!t?.quant) throw new HwacError("HW4002", `${what} must be a quantized value`);
  return t.quant;
}

/** Per-tensor scale and zero point of a type. */
export function perTensor(t: TensorType | undefined, what: string): { scale: number; zp: number; lo: number; hi: number; dtype: DType } {
  const q = quantOf(t, what);
  if (q.scale.length !== 1) throw new HwacError("HW4003", `${what} must be quantized per tensor`);
  const [lo, hi] = intRange(t!.dtype);
  return { scale: q.scale[0]!, zp: q.zeroPoint[0]!, lo, hi, dtype: t!.dtype };
}

/**
 * The lookup table of an elementwise function from one per-tensor quantized type to another:
 * `table[q − lo] = clamp(roundHalfEven(f(s_in·(q − z_in)) / s_out) + z_out)` for every code q of
 * the input type (256 entries for 8 bits). Computed in float64 at compile time.
 */
export function unaryTable(f: (x: number) => number, inT: TensorType, outT: TensorType): Int32Array {
  const a = perTensor(inT, "the table's input");
  const b = perTensor(outT, "the table's output");
  const table = new Int32Array(a.hi - a.lo + 1);
  for (let q = a.lo; q <= a.hi; q++) {
    const y = f(a.scale * (q - a.zp)) / b.scale;
    table[q - a.lo] = Number.isNaN(y) ? b.zp : clamp(roundHalfEven(y) + b.zp, b.lo, b.hi);
  }
  return table;
}
