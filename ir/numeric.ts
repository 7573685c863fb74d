/**
 * The hardware's defined arithmetic (SPEC.md §2): rounding, saturation, fixed-point multipliers
 * and requantization. These primitives are the only code the integer reference shares with the
 * simulators; every op builds on them.
 */

/** Round half to even: the compile-time float→int rule (ONNX QuantizeLinear). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // half toward +inf
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** A real multiplier encoded as M ≈ m0 · 2^(shift − 31) with m0 ∈ [2^30, 2^31) (or m0 = 0). */
export interface FixedMultiplier {
  readonly m0: number;
  readonly shift: number;
}

const TWO31 = 2 ** 31;

/**
 * Encodes a non-negative real multiplier. Multipliers too small to represent with t ≤ 62 become
 * zero; those of 2^31 or more are refused (no layer needs them; they would overflow t ≥ 1).
 */
export function quantizeMultiplier(m: number): FixedMultiplier {
  if (!(m >= 0) || !Number.isFinite(m)) throw new RangeError(`multiplier must be finite and ≥ 0, got ${m}`);
  if (m === 0) return { m0: 0, shift: 0 };
  let e = Math.floor(Math.log2(m)) + 1;
  // Math.log2 may be off by one at exact powers of two: settle q = m / 2^e into [0.5, 1).
  let q = m / 2 ** e;
  if (q >= 1) {
    q /= 2;
    e++;
  } else if (q < 0.5) {
    q *= 2;
    e--;
  }
  let m0 = roundHalfEven(q * TWO31);
  if (m0 === TWO31) {
    m0 /= 2;
    e++;
  }
  if (31 - e > 62) return { m0: 0, shift: 0 };
  if (31 - e < 1) throw new RangeError(`multiplier ${m} is too large (≥ 2^30)`);
  return { m0, shift: e };
}

/** The real value a fixed multiplier stands for. */
export function multiplierValue(f: FixedMultiplier): number {
  return f.m0 * 2 ** (f.shift - 31);
}

/** 2^k and 2^−k for 0 ≤ k < 64: multiplying by a power of two is exact, and cheaper than `**` and a division (the hot path is t ≥ 16). */
const POW2 = Float64Array.from({ length: 64 }, (_, k) => 2 ** k);
const INV_POW2 = Float64Array.from({ length: 64 }, (_, k) => 2 ** -k);
const INV_2_16 = 2 ** -16;

/**
 * floor((acc · m0 + r) / 2^t), exact for |acc| < 2^31, m0 < 2^31, 0 ≤ r < 2^t, 1 ≤ t ≤ 62, without
 * BigInt: m0 and r are split into 16-bit halves so every intermediate stays below 2^53, using
 * floor((A·2^16 + C)/2^t) = floor((A + floor(C/2^16)) / 2^(t−16)) for t ≥ 16. For t < 16 the result
 * is exact whenever it is below 2^53 in magnitude, and otherwise saturates the same way.
 */
function mulAddShift(acc: number, m0: number, r: number, t: number): number {
  const mHi = Math.floor(m0 * INV_2_16);
  const mLo = m0 - mHi * 65536;
  if (t >= 16) {
    const rHi = Math.floor(r * INV_2_16);
    const a = acc * mHi + rHi;
    const c = acc * mLo + (r - rHi * 65536);
    return Math.floor((a + Math.floor(c * INV_2_16)) * (t < 80 ? INV_POW2[t - 16]! : 2 ** (16 - t)));
  }
  return acc * mHi * 2 ** (16 - t) + Math.floor((acc * mLo + r) * 2 ** -t);
}

/** `(acc · m0 + 2^(t−1)) >> t` with t = 31 − shift: multiply, round half toward +∞. */
export function mulShiftRound(acc: number, m0: number, shift: number): number {
  const t = 31 - shift;
  return mulAddShift(acc, m0, t >= 1 && t <= 64 ? POW2[t - 1]! : 2 ** (t - 1), t);
}

/** SPEC.md §2 requantization: `clamp(zOut + ((acc·m0 + 2^(t−1)) >> t), lo, hi)`. */
export function requantize(acc: number, m0: number, shift: number, zOut: number, lo: number, hi: number): number {
  if (m0 === 0) return clamp(zOut, lo, hi);
  return clamp(zOut + mulShiftRound(acc, m0, shift), lo, hi);
}

/**
 * Fixed multipliers prepared for hot loops: `apply(acc, k)` equals `mulShiftRound(acc, m0[k],
 * shift[k])` for |acc| < 2^31 without recomputing powers of two. With m0 = mHi·2^16 + mLo and the
 * rounding constant r = 2^(t−1) = rHi·2^16 + rLo (t = 31 − shift ≥ 16),
 *   floor((acc·m0 + r) / 2^t) = floor((acc·mHi + rHi + floor((acc·mLo + rLo) / 2^16)) · 2^−(t−16)),
 * where every term is an integer below 2^48 and the scalings are exact. Multipliers of 2^15 or
 * more (t < 16) take `mulShiftRound` itself.
 */
export class Requantizer {
  private readonly m0: Int32Array;
  private readonly shift: Int8Array;
  private readonly mHi: Float64Array;
  private readonly mLo: Float64Array;
  private readonly rHi: Float64Array;
  private readonly rLo: Float64Array;
  /** 2^−(t−16), or 0 for the multipliers that take the general path. */
  private readonly inv: Float64Array;

  /** One m0 and shift per channel (the `Multipliers` of ir/quant-params.ts). */
  constructor({ m0, shift }: { readonly m0: Int32Array; readonly shift: Int8Array }) {
    this.m0 = m0;
    this.shift = shift;
    const n = m0.length;
    [this.mHi, this.mLo, this.rHi, this.rLo, this.inv] = Array.from({ length: 5 }, () => new Float64Array(n));
    for (let k = 0; k < n; k++) {
      const t = 31 - this.shift[k]!;
      if (t < 16) continue;
      const r = 2 ** (t - 1);
      this.mHi[k] = Math.floor(m0[k]! / 65536);
      this.mLo[k] = m0[k]! - this.mHi[k]! * 65536;
      this.rHi[k] = Math.floor(r / 65536);
      this.rLo[k] = r - this.rHi[k]! * 65536;
      this.inv[k] = 2 ** -(t - 16);
    }
  }

  /** One multiplier, applied with k = 0. */
  static of(f: FixedMultiplier): Requantizer {
    return new Requantizer({ m0: Int32Array.of(f.m0), shift: Int8Array.of(f.shift) });
  }

  /** `mulShiftRound(acc, m0[k], shift[k])`. */
  apply(acc: number, k: number): number {
    const inv = this.inv[k]!;
    if (inv === 0) return mulShiftRound(acc, this.m0[k]!, this.shift[k]!);
    return Math.floor((acc * this.mHi[k]! + this.rHi[k]! + Math.floor((acc * this.mLo[k]! + this.rLo[k]!) / 65536)) * inv);
  }

  /** `requantize(acc, m0[k], shift[k], zOut, lo, hi)`. */
  requantize(acc: number, k: number, zOut: number, lo: number, hi: number): number {
    const y = zOut + this.apply(acc, k);
    return y < lo ? lo : y > hi ? hi : y;
  }
}

/**
 * Stochastic requantization: the rounding constant 2^(t−1) is replaced by `r` ∈ [0, 2^t)
 * (from `stochasticRounding`), so results are reproducible under a seed.
 */
export function requantizeStochastic(
  acc: number,
  m0: number,
  shift: number,
  r: number,
  zOut: number,
  lo: number,
  hi: number,
): number {
  if (m0 === 0) return clamp(zOut, lo, hi);
  return clamp(zOut + mulAddShift(acc, m0, r, 31 - shift), lo, hi);
}

/** The t-bit rounding constant drawn from one 32-bit generator output (t > 32 scales it up). */
export function stochasticRounding(bits32: number, t: number): number {
  return t <= 32 ? (bits32 >>> 0) % 2 ** t : (bits32 >>> 0) * 2 ** (t - 32);
}

/** Marsaglia's xorshift32 step (13, 17, 5): the generator stochastic requantization draws from. */
export function xorshift32(state: number): number {
  let x = state | 0;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
}

/** Wraps a number to int32 (two's complement), as int32 accumulators do on overflow. */
export function wrapInt32(x: number): number {
  return Number(BigInt.asIntN(32, BigInt(x)));
}

/**
 * The 513-entry interpolated table lookup of int16 values (SPEC.md §2, TFLite's int16
 * activations): for a code x, i = (x >> 7) + 256 and u = x & 127 give
 * `T[i] + (((T[i+1] − T[i])·u + 64) >> 7)`, linear interpolation rounded half toward +∞.
 */
export function lookupInterp(t: Int16Array, x: number): number {
  const i = (x >> 7) + 256;
  const base = t[i]!;
  return base + (((t[i + 1]! - base) * (x & 127) + 64) >> 7);
}
