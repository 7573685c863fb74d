/**
 * SPEC.md §2 requantization checked against a BigInt model of the formula, over random
 * accumulators, multipliers and shifts (a seeded generator, so failures reproduce).
 */
import { describe, expect, it } from "vitest";
import {
  multiplierValue,
  quantizeMultiplier,
  requantize,
  requantizeStochastic,
  roundHalfEven,
  stochasticRounding,
  xorshift32,
} from "../../ir/numeric.js";

function refRequant(acc: number, m0: number, shift: number, r: bigint | undefined, z: number, lo: number, hi: number): number {
  const t = BigInt(31 - shift);
  const round = r ?? 1n << (t - 1n);
  const y = (BigInt(acc) * BigInt(m0) + round) >> t; // BigInt >> is arithmetic (floor)
  const v = Number(y) + z;
  return Math.min(hi, Math.max(lo, v));
}

describe("roundHalfEven", () => {
  it("rounds ties to even and everything else to nearest", () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 2.5001, -2.5001].map(roundHalfEven)).toEqual([
      0, 2, 2, -0, -2, -2, 2, 3, -3,
    ]);
  });
});

describe("quantizeMultiplier", () => {
  it("encodes m0 in [2^30, 2^31) within half an ulp of 2^-31 relative", () => {
    let s = 12345;
    for (let i = 0; i < 10000; i++) {
      s = xorshift32(s);
      const m = (s / 2 ** 32) * 2 ** (((s >>> 3) % 40) - 30);
      const f = quantizeMultiplier(m);
      if (f.m0 === 0) continue;
      expect(f.m0).toBeGreaterThanOrEqual(2 ** 30);
      expect(f.m0).toBeLessThan(2 ** 31);
      expect(Math.abs(multiplierValue(f) - m) / m).toBeLessThanOrEqual(2 ** -31);
    }
  });
  it("handles exact powers of two and zero", () => {
    expect(quantizeMultiplier(0.5)).toEqual({ m0: 2 ** 30, shift: 0 });
    expect(quantizeMultiplier(1)).toEqual({ m0: 2 ** 30, shift: 1 });
    expect(quantizeMultiplier(0.25)).toEqual({ m0: 2 ** 30, shift: -1 });
    expect(quantizeMultiplier(0)).toEqual({ m0: 0, shift: 0 });
  });
});

describe("requantize equals the BigInt formula", () => {
  it("on 200k random (acc, multiplier, shift) triples, incl. extremes", () => {
    let s = 987654321;
    const next = () => (s = xorshift32(s));
    const extremes = [-(2 ** 31), 2 ** 31 - 1, 0, -1, 1];
    for (let i = 0; i < 200_000; i++) {
      const acc = i < 5 ? extremes[i]! : (next() | 0) >> (next() % 31);
      const m0 = 2 ** 30 + (next() % 2 ** 30);
      const shift = 31 - (1 + (next() % 62)); // t in [1, 62]
      const z = (next() % 256) - 128;
      expect(requantize(acc, m0, shift, z, -128, 127)).toBe(refRequant(acc, m0, shift, undefined, z, -128, 127));
      const wide = requantize(acc, m0, shift, 0, -(2 ** 31), 2 ** 31 - 1);
      expect(wide).toBe(refRequant(acc, m0, shift, undefined, 0, -(2 ** 31), 2 ** 31 - 1));
    }
  });
  it("stochastic rounding with any t-bit constant", () => {
    let s = 42;
    const next = () => (s = xorshift32(s));
    for (let i = 0; i < 100_000; i++) {
      const acc = next() | 0;
      const m0 = 2 ** 30 + (next() % 2 ** 30);
      const t = 1 + (next() % 62);
      const r = stochasticRounding(next(), t);
      expect(r).toBeLessThan(2 ** t);
      const got = requantizeStochastic(acc, m0, 31 - t, r, 3, -32768, 32767);
      expect(got).toBe(refRequant(acc, m0, 31 - t, BigInt(r), 3, -32768, 32767));
    }
  });
});

describe("xorshift32", () => {
  it("follows Marsaglia's (13, 17, 5) sequence", () => {
    // First outputs from state 1, computed by hand with 32-bit unsigned arithmetic.
    const seq: number[] = [];
    let x = 1;
    for (let i = 0; i < 3; i++) seq.push((x = xorshift32(x)));
    expect(seq).toEqual([270369, 67634689, 2647435461]);
  });
});
