/**
 * Integer routines that the quantized Softmax, LogSoftmax and normalizations run once per row:
 * square root, reciprocal and logarithm, plus the tables they read (docs/numerics-norm.md).
 * Each is defined bit for bit by the iteration written here, so a backend reproduces it exactly;
 * the JS code keeps every intermediate an exact integer below 2^53.
 */
import { mulShiftRound, quantizeMultiplier, roundHalfEven, type FixedMultiplier } from "../numeric.js";
import type { Multipliers } from "../quant-params.js";

const TWO30 = 2 ** 30;
const TWO31 = 2 ** 31;
const TWO32 = 2 ** 32;

/** b with 2^(b−1) ≤ n < 2^b, for an integer 1 ≤ n < 2^53 (0 for n = 0). */
export function bitLength(n: number): number {
  return n < TWO32 ? 32 - Math.clz32(n) : 64 - Math.clz32(Math.floor(n / TWO32));
}

/**
 * floor(sqrt(n)) for an integer 0 ≤ n < 2^52, by the restoring digit-by-digit method: 26 fixed
 * steps, each deciding one bit of the root from two bits of n (a shift, an add, a compare).
 */
export function isqrt(n: number): number {
  let rem = n;
  let root = 0;
  for (let bit = 2 ** 50; bit >= 1; bit /= 4) {
    const trial = root + bit;
    root = Math.floor(root / 2);
    if (rem >= trial) {
      rem -= trial;
      root += bit;
    }
  }
  return root;
}

/**
 * 1/d for an integer 1 ≤ d < 2^31 as a fixed multiplier (m0 ∈ [2^30, 2^31), value m0·2^(shift−31)):
 * m0 = round_half_up(2^(30+b) / d) with b = bitLength(d), i.e. 1/d to 31 significant bits.
 * Computed as a restoring division of 2^61 by d normalized to [2^30, 2^31): 30 steps of
 * shift / compare / subtract on 32-bit values, then one rounding step.
 */
export function reciprocal(d: number): FixedMultiplier {
  if (!(d >= 1 && d < TWO31 && Number.isInteger(d))) throw new RangeError(`reciprocal needs an integer in [1, 2^31), got ${d}`);
  const b = bitLength(d);
  const dn = d * 2 ** (31 - b);
  let q = dn === TWO30 ? 2 : 1;
  let rem = TWO31 - q * dn;
  for (let i = 0; i < 30; i++) {
    rem *= 2;
    q *= 2;
    if (rem >= dn) {
      rem -= dn;
      q += 1;
    }
  }
  if (2 * rem >= dn) q += 1;
  // q ∈ [2^30, 2^31]; 2^31 happens only for powers of two and renormalizes exactly.
  return q === TWO31 ? { m0: TWO30, shift: 2 - b } : { m0: q, shift: 1 - b };
}

/**
 * The product of two fixed multipliers: m0 = (a.m0 · b.m0 + 2^30) >> 31 (in [2^29, 2^31)),
 * shift = a.shift + b.shift. Relative error at most 2^-29.
 */
export function mulMultipliers(a: FixedMultiplier, b: FixedMultiplier): FixedMultiplier {
  return { m0: mulShiftRound(a.m0, b.m0, 0), shift: a.shift + b.shift };
}

/**
 * Encodes real multipliers of either sign: |m| as `quantizeMultiplier` does, with m0 negated for
 * negative m (|m0| ∈ [2^30, 2^31)). `mulShiftRound`/`requantize` apply negative m0 exactly.
 */
export function encodeSignedMultipliers(reals: ArrayLike<number>): Multipliers {
  const m0 = new Int32Array(reals.length);
  const shift = new Int8Array(reals.length);
  for (let c = 0; c < reals.length; c++) {
    const m = reals[c]!;
    const f = quantizeMultiplier(Math.abs(m));
    m0[c] = m < 0 ? -f.m0 : f.m0;
    shift[c] = f.shift;
  }
  return { m0, shift };
}

/** `floor((x + 2^(s−1)) / 2^s)`: a right shift by s ≥ 1 that rounds half toward +∞. */
export function roundShift(x: number, s: number): number {
  return Math.floor((x + 2 ** (s - 1)) / 2 ** s);
}

/**
 * Q0.15 exponentials of the distance below a row's maximum code: for k = 0 … levels − 1,
 * `T[k] = min(roundHalfEven(2^15 · exp(−scale · k)), 32767)` (exp(0) saturates to 32767/32768).
 */
export function expTableQ15(scale: number, levels: number): Int16Array {
  const t = new Int16Array(levels);
  for (let k = 0; k < levels; k++) t[k] = Math.min(roundHalfEven(32768 * Math.exp(-scale * k)), 32767);
  return t;
}

/** Natural logarithm in fixed point: a 257-entry mantissa table and ln 2, both in units of `unit`. */
export interface LnTable {
  /** `round(ln(1 + i/256) / unit)` for i = 0 … 256. */
  readonly table: Int32Array;
  /** `round(ln 2 / unit)`. */
  readonly ln2: number;
}

export function lnTable(unit: number): LnTable {
  const table = new Int32Array(257);
  for (let i = 0; i <= 256; i++) table[i] = roundHalfEven(Math.log1p(i / 256) / unit);
  return { table, ln2: roundHalfEven(Math.LN2 / unit) };
}

/**
 * ln(v) in the table's units for an integer 1 ≤ v < 2^31: with b = bitLength(v) and the mantissa
 * f = v·2^(31−b) − 2^30 (30 bits), `(b − 1)·ln2 + T[i] + ((T[i+1] − T[i])·u + 128) >> 8`, where
 * i is f's top 8 bits and u the next 8 (linear interpolation; the low 14 bits are dropped).
 */
export function lnFixed(v: number, t: LnTable): number {
  const b = bitLength(v);
  const f = v * 2 ** (31 - b) - TWO30;
  const i = Math.floor(f / 2 ** 22);
  const u = Math.floor(f / 2 ** 14) - i * 256;
  const lo = t.table[i]!;
  return (b - 1) * t.ln2 + lo + roundShift((t.table[i + 1]! - lo) * u, 8);
}
