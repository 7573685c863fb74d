/**
 * The prepared multipliers of ir/numeric.ts against `requantize`, bit for bit, across every shift,
 * both signs of m0, m0 = 0 and the accumulator extremes; and the re-export the fixed-point module keeps.
 */
import { describe, expect, it } from "vitest";
import { Requantizer as FromFixedPoint } from "../../ir/kernels/fixed-point.js";
import { quantizeMultiplier, requantize, Requantizer, xorshift32 } from "../../ir/numeric.js";

describe("Requantizer", () => {
  it("equals requantize per channel for shifts −31..30, negative and zero m0, |acc| up to 2^31 − 1", () => {
    const m0: number[] = [];
    const shift: number[] = [];
    for (let s = -31; s <= 30; s++) {
      const f = quantizeMultiplier(0.7 * 2 ** s); // 0.7 = m0·2^−31 with m0 ∈ [2^30, 2^31), so the shift is s
      expect(f.shift).toBe(s);
      m0.push(f.m0, -f.m0);
      shift.push(s, s);
    }
    m0.push(0);
    shift.push(0);
    const q = new Requantizer({ m0: Int32Array.from(m0), shift: Int8Array.from(shift) });
    const accs = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31) + 1, 12345, -98765];
    let seed = 3;
    for (let i = 0; i < 50; i++) accs.push((seed = xorshift32(seed)) | 0);
    for (let k = 0; k < m0.length; k++) {
      for (const acc of accs) {
        const want = requantize(acc, m0[k]!, shift[k]!, 3, -(2 ** 40), 2 ** 40);
        expect(q.requantize(acc, k, 3, -(2 ** 40), 2 ** 40), `acc ${acc}, m0 ${m0[k]}, shift ${shift[k]}`).toBe(want);
      }
    }
  });

  it("saturates to the output range and applies one multiplier with `of`", () => {
    const f = quantizeMultiplier(0.25);
    const q = Requantizer.of(f);
    expect(q.requantize(400, 0, -5, -128, 127)).toBe(95); // −5 + 100
    expect(q.requantize(1000, 0, -5, -128, 127)).toBe(127);
    expect(q.requantize(-1000, 0, -5, -128, 127)).toBe(-128);
    expect(q.apply(-6, 0)).toBe(-1); // −1.5 rounds half toward +∞
  });

  it("is the class fixed-point.ts re-exports", () => {
    expect(FromFixedPoint).toBe(Requantizer);
  });
});
