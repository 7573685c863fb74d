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

/**
 * floor((acc · m0 + r) / 2^t), exact for |acc| < 2^31, m0 < 2^31, 0 ≤ r < 2^t, 1 ≤ t ≤ 62, without
 * BigInt: m0 and r are split into 16-bit halves so every intermediate stays below 2^53, using
 * floor((A·2^16 + C)/2^t) = floor((A + floor(C/2^16)) / 2^(t−16)) for t ≥ 16. For t < 16 the result
 * is exact whenever it is below 2^53 in magnitude, and otherwise saturates the same way.
 */
function mulAddShift(acc: number, m0: number, r: number, t: number): number {
  const mHi = Math.floor(m0 / 65536);
  const mLo = m0 - mHi * 65536;
  if (t >= 16) {
    const rHi = Math.floor(r / 65536);
    const a = acc * mHi + rHi;
    const c = acc * mLo + (r - rHi * 65536);
    return Math.floor((a + Math.floor(c / 65536)) / 2 ** (t - 16));
  }
  return acc * mHi * 2 ** (16 - t) + Math.floor((acc * mLo + r) / 2 ** t);
}

/** `(acc · m0 + 2^(t−1)) >> t` with t = 31 − shift: multiply, round half toward +∞. */
export function mulShiftRound(acc: number, m0: number, shift: number): number {
  const t = 31 - shift;
  return mulAddShift(acc, m0, 2 ** (t - 1), t);
}

/** SPEC.md §2 requantization: `clamp(zOut + ((acc·m0 + 2^(t−1)) >> t), lo, hi)`. */
export function requantize(acc: number, m0: number, shift: number, zOut: number, lo: number, hi: number): number {
  if (m0 === 0) return clamp(zOut, lo, hi);
  return clamp(zOut + mulShiftRound(acc, m0, shift), lo, hi);
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
