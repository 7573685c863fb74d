/**
 * Weight quantization (src/quant/weights.ts) and codebook weights (src/quant/codebook.ts):
 * hand-computed codes, the clipping search, stochastic rounding's bias and reproducibility, and
 * Lloyd-Max codebooks, on small tensors and on the trained digits-mlp layers.
 */
import { describe, expect, it } from "vitest";
import { xoroshiro128plus } from "pure-rand";
import { HwacError } from "../../ir/errors.js";
import { clamp, roundHalfEven } from "../../ir/numeric.js";
import { f32, tensor, type Tensor } from "../../ir/tensor.js";
import { loadModel } from "../../src/onnx/load.js";
import { codebookWeights, lloydMax } from "../../src/quant/codebook.js";
import { quantizeWeights, type WeightQuantOptions } from "../../src/quant/weights.js";
import { FIXTURES } from "../helpers/fixtures.js";

const NEAREST = { rounding: "nearest", clip: "minmax" } as const;

function codes(t: Tensor): number[] {
  return Array.from(t.data as Int8Array | Uint8Array);
}

/** Σ(w − ŵ)² with ŵ = scale[channel(i)] · q[i]. */
function sqError(w: Tensor, q: Tensor, scale: Float32Array, channel: (i: number) => number): number {
  const x = w.data as Float32Array;
  const c = q.data as Int8Array;
  let e = 0;
  for (let i = 0; i < x.length; i++) e += (x[i]! - Math.fround(c[i]! * scale[channel(i)]!)) ** 2;
  return e;
}

function sqnr(w: Tensor, q: Tensor, scale: Float32Array, channel: (i: number) => number): number {
  let s = 0;
  for (const v of w.data as Float32Array) s += v * v;
  return 10 * Math.log10(s / sqError(w, q, scale, channel));
}

/** n samples of a Laplace(0, 1) distribution at the quantiles (i + ½)/n: heavy-tailed, max |w| = ln n. */
function laplace(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => {
    const u = (i + 0.5) / n - 0.5;
    return -Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
  });
}

function expectCode(f: () => unknown, code: string): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(HwacError);
    expect((e as HwacError).code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe("quantizeWeights, nearest rounding, minmax", () => {
  it("8 bits: scale = max|w|/127 per channel, ties to even", () => {
    const w = f32([2, 8], [
      63.5, -10.25, 3.75, 0.25, 0.75, -0.75, 1.25, -1.25, // s = 0.5: codes 127, −20.5, 7.5, 0.5, 1.5, −1.5, 2.5, −2.5
      -127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, //        s = 1
    ]);
    const r = quantizeWeights(w, { bits: 8, axis: 0, ...NEAREST });
    expect(r.q.dtype).toBe("int8");
    expect(Array.from(r.scale)).toEqual([0.5, 1]);
    expect(codes(r.q)).toEqual([127, -20, 8, 0, 2, -2, 2, -2, -127, 0, 2, 2, 0, -2, -2, 4]);
    expect(Array.from(r.clipped)).toEqual([0, 0]);
  });

  it("8 bits: the quotient is taken in float32 (1/127 is not exact)", () => {
    const r = quantizeWeights(f32([1, 3], [-1, 0.75, 0.25]), { bits: 8, axis: 0, ...NEAREST });
    expect(r.scale[0]).toBe(Math.fround(1 / 127));
    expect(codes(r.q)).toEqual([-127, 95, 32]); // 95.25, 31.75
  });

  it("4 bits on the last axis (Gemm B[K, N]): int4 codes, an all-zero channel gets scale 1", () => {
    // Column 0 = [3.5, −1.25, 0.75] (s = 0.5: 7, −2.5, 1.5); column 1 = zeros.
    const w = f32([3, 2], [3.5, 0, -1.25, 0, 0.75, 0]);
    for (const axis of [1, -1]) {
      const r = quantizeWeights(w, { bits: 4, axis, ...NEAREST });
      expect(r.q.dtype).toBe("int4");
      expect(Array.from(r.scale)).toEqual([0.5, 1]);
      expect(codes(r.q)).toEqual([7, 0, -2, 0, 2, 0]);
    }
  });

  it("2 bits: ternary codes {−1, 0, 1} with scale = max|w|", () => {
    // Row 0: s = 0.75, quotients 2/3, −1/3, 1, −1/2; row 1: s = 2, quotients −1, 1/2, 1/4, 3/4.
    const w = f32([2, 4], [0.5, -0.25, 0.75, -0.375, -2, 1, 0.5, 1.5]);
    const r = quantizeWeights(w, { bits: 2, axis: 0, ...NEAREST });
    expect(r.q.dtype).toBe("int4");
    expect(Array.from(r.scale)).toEqual([0.75, 2]);
    expect(codes(r.q)).toEqual([1, 0, 1, 0, -1, 0, 0, 1]);
  });

  it("a conv weight W[Cout, Cin, kh, kw] uses axis 0; codes run 5..8 bits as int8", () => {
    const w = f32([2, 1, 2, 2], [15, -7.5, 1, 0, 0.5, 0.2, -0.125, 0]);
    const r = quantizeWeights(w, { bits: 5, axis: 0, ...NEAREST }); // qmax 15: s = 1 and 1/30
    expect(r.q.dtype).toBe("int8");
    expect(Array.from(r.scale)).toEqual([1, Math.fround(0.5 / 15)]);
    expect(codes(r.q)).toEqual([15, -8, 1, 0, 15, 6, -4, 0]); // −7.5 ties to −8; 6, −3.75
  });

  it("rejects bad options and weights with HW4040 / HW4041", () => {
    const w = f32([2, 2], [1, 2, 3, 4]);
    expectCode(() => quantizeWeights(w, { bits: 9, axis: 0, ...NEAREST }), "HW4040");
    expectCode(() => quantizeWeights(w, { bits: 1, axis: 0, ...NEAREST }), "HW4040");
    expectCode(() => quantizeWeights(w, { bits: 8, axis: 2, ...NEAREST }), "HW4040");
    expectCode(() => quantizeWeights(w, { bits: 8, axis: 0, rounding: "up", clip: "minmax" } as unknown as WeightQuantOptions), "HW4040");
    expectCode(() => quantizeWeights(w, { bits: 8, axis: 0, rounding: "stochastic", clip: "minmax", seed: 0.5 }), "HW4040");
    expectCode(() => quantizeWeights(f32([2], [1, NaN]), { bits: 8, axis: 0, ...NEAREST }), "HW4041");
    expectCode(() => quantizeWeights({ dtype: "float64", shape: [1], data: new Float64Array(1) }, { bits: 8, axis: 0, ...NEAREST }), "HW4041");
  });
});

describe("quantizeWeights, MSE clipping", () => {
  const n = 1000;
  const w = f32([1, n], laplace(n));
  const channel = () => 0;

  it("clips a heavy-tailed tensor, lowering the error, and reports the clipped fraction", () => {
    const minmax = quantizeWeights(w, { bits: 4, axis: 0, ...NEAREST });
    const mse = quantizeWeights(w, { bits: 4, axis: 0, rounding: "nearest", clip: "mse" });
    const eMinmax = sqError(w, minmax.q, minmax.scale, channel);
    const eMse = sqError(w, mse.q, mse.scale, channel);
    const x = w.data as Float32Array;
    const maxabs = Math.max(...x.map(Math.abs));
    expect(maxabs).toBeCloseTo(Math.log(n), 5);
    expect(minmax.scale[0]).toBe(Math.fround(maxabs / 7));
    expect(minmax.clipped[0]).toBe(0);
    expect(eMse).toBeLessThan(0.7 * eMinmax);
    // The chosen scale is on the documented grid and is the best of it.
    const grid = Array.from({ length: 100 }, (_, k) => Math.fround((maxabs * (0.5 + (0.5 * k) / 99)) / 7));
    expect(grid).toContain(mse.scale[0]);
    for (const s of grid) {
      const q = tensor("int8", [1, n], Int8Array.from(x, (v) => clamp(roundHalfEven(Math.fround(v / s)), -7, 7)));
      expect(eMse).toBeLessThanOrEqual(sqError(w, q, new Float32Array([s]), channel));
    }
    // Clipped = weights whose quotient rounds beyond ±7.
    let beyond = 0;
    for (let i = 0; i < n; i++) if (Math.abs(Math.fround(x[i]! / mse.scale[0]!)) >= 7.5) beyond++;
    expect(beyond).toBeGreaterThan(0);
    expect(mse.clipped[0]).toBe(Math.fround(beyond / n));
  });

  it("never does worse than minmax and keeps ratio 1 for a uniform channel", () => {
    const uniform = f32([1, 15], Array.from({ length: 15 }, (_, i) => i - 7));
    const r = quantizeWeights(uniform, { bits: 4, axis: 0, rounding: "nearest", clip: "mse" });
    expect(Array.from(r.scale)).toEqual([1]);
    expect(codes(r.q)).toEqual(Array.from({ length: 15 }, (_, i) => i - 7));
  });

  it("keeps zeros exactly zero and an all-zero channel at scale 1", () => {
    const sparse = f32([2, 6], [0, 5, 0, -0.01, 0, 0.02, 0, 0, 0, 0, 0, 0]);
    const r = quantizeWeights(sparse, { bits: 2, axis: 0, rounding: "nearest", clip: "mse" });
    expect(r.scale[1]).toBe(1);
    const c = codes(r.q);
    for (const i of [0, 2, 4, 6, 7, 8, 9, 10, 11]) expect(c[i]).toBe(0);
  });
});

describe("quantizeWeights, stochastic rounding", () => {
  const stochastic = (seed: number): WeightQuantOptions => ({ bits: 4, axis: 0, rounding: "stochastic", clip: "minmax", seed });

  it("follows the documented construction: xoroshiro128plus(fmix32(seed)), low 24 bits, row-major order", () => {
    // MurmurHash3's fmix32, restated here; fmix32(1) = 0x514e28b7 is its published value.
    const fmix32 = (h: number): number => {
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      return (h ^ (h >>> 16)) | 0;
    };
    expect(fmix32(1) >>> 0).toBe(0x514e28b7);
    // Columns are the channels (axis 1), so row-major order interleaves them: s = 1, 0.5, 2.
    const w = f32([3, 3], [0.3, 1.1, -3.3, -6.9, 0.25, 13.7, 7, -3.5, 14]);
    const scale = [1, 0.5, 2];
    const rng = xoroshiro128plus(fmix32(7));
    const expected = Array.from(w.data as Float32Array, (x, i) => {
      const u = (rng.unsafeNext() & 0xffffff) / 2 ** 24;
      return Math.floor(Math.fround(x / scale[i % 3]!) + u);
    });
    const r = quantizeWeights(w, { bits: 4, axis: 1, rounding: "stochastic", clip: "minmax", seed: 7 });
    expect(Array.from(r.scale)).toEqual(scale);
    expect(codes(r.q)).toEqual(expected);
  });

  it("is unbiased: the mean of s·q over many seeds is w, where nearest rounding is off", () => {
    const w = f32([1, 7], [0.3, -1.7, 2.25, 0.05, 7, -6.9, 0.5]); // s = 1
    const draws = 4000;
    const sum = new Float64Array(7);
    for (let seed = 0; seed < draws; seed++) {
      const q = quantizeWeights(w, stochastic(seed)).q.data as Int8Array;
      for (let i = 0; i < 7; i++) {
        const x = (w.data as Float32Array)[i]!;
        expect(q[i] === Math.floor(x) || q[i] === Math.ceil(x)).toBe(true);
        sum[i] += q[i]!;
      }
    }
    // Each draw has σ ≤ 0.5; five standard errors of the mean.
    const bound = (5 * 0.5) / Math.sqrt(draws);
    const nearest = codes(quantizeWeights(w, { bits: 4, axis: 0, ...NEAREST }).q);
    for (let i = 0; i < 7; i++) {
      const x = (w.data as Float32Array)[i]!;
      expect(Math.abs(sum[i]! / draws - x)).toBeLessThan(bound);
      if (i === 0 || i === 1) expect(Math.abs(nearest[i]! - x)).toBeGreaterThan(bound);
    }
  });

  it("is reproducible: the same seed gives the same bytes, another seed different ones", () => {
    const w = f32([4, 16], laplace(64));
    const a = quantizeWeights(w, stochastic(123)).q.data as Int8Array;
    const b = quantizeWeights(w, stochastic(123)).q.data as Int8Array;
    const c = quantizeWeights(w, stochastic(124)).q.data as Int8Array;
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
    // The default seed is 0.
    const d = quantizeWeights(w, { bits: 4, axis: 0, rounding: "stochastic", clip: "minmax" }).q.data as Int8Array;
    expect(Array.from(d)).toEqual(Array.from(quantizeWeights(w, stochastic(0)).q.data as Int8Array));
  });

  it("keeps zeros zero (also −0) under every seed and with MSE clipping", () => {
    const x = laplace(48).map((v, i) => (i % 3 === 0 ? 0 : v));
    x[3] = -0;
    const w = f32([3, 16], x);
    for (let seed = 0; seed < 50; seed++) {
      for (const clip of ["minmax", "mse"] as const) {
        const q = quantizeWeights(w, { bits: 2, axis: 0, rounding: "stochastic", clip, seed }).q.data as Int8Array;
        for (let i = 0; i < 48; i += 3) expect(q[i]).toBe(0);
      }
    }
  });
});

describe("codebookWeights", () => {
  it("Lloyd-Max by hand: quantile start, three rounds, scale 1 when the extreme centroid is 127", () => {
    // Start at sorted[1, 3, 5, 7] = 2, 10, 12, 127 → means {2, 10.5, 37.5, 127} → {2, 11, 63, 127}, stable.
    const w = f32([1, 8], [12, 1, 127, 3, 63, 10, 2, 11]);
    expect(Array.from(lloydMax(w.data as Float32Array, 4))).toEqual([2, 11, 63, 127]);
    const r = codebookWeights(w, { bits: 2, axis: 0, perChannel: false });
    expect(r.indices.dtype).toBe("uint4");
    expect(Array.from(r.centroids)).toEqual([2, 11, 63, 127]);
    expect(Array.from(r.scale)).toEqual([1]);
    expect(codes(r.indices)).toEqual([1, 0, 3, 0, 2, 1, 0, 1]);
    expect(codes(r.q)).toEqual([11, 2, 127, 2, 63, 11, 2, 11]);
  });

  it("pins a zero centroid when there are zeros: it keeps its weights (−63 too) at exactly 0", () => {
    // Non-zero quantiles −127, 32, 127 plus the pinned 0; without the pin, −63 and the zeros would average to −21.
    const w = f32([1, 8], [-127, -127, -63, 0, 0, 32, 127, 127]);
    const r = codebookWeights(w, { bits: 2, axis: 0, perChannel: false });
    expect(Array.from(r.centroids)).toEqual([-127, 0, 32, 127]);
    expect(codes(r.indices)).toEqual([0, 0, 1, 1, 1, 2, 3, 3]);
    expect(codes(r.q)).toEqual([-127, -127, 0, 0, 0, 32, 127, 127]);
  });

  it("per channel on axis 1, with fixed scales (saturating at 127)", () => {
    // Column 0 = [127, −127, 63, 0] (scale 1), column 1 = [1, 2, 3, 8] (scale 1/32: 8 → 256 → 127).
    const w = f32([4, 2], [127, 1, -127, 2, 63, 3, 0, 8]);
    const r = codebookWeights(w, { bits: 2, axis: 1, perChannel: true, scale: new Float32Array([1, 1 / 32]) });
    expect(Array.from(r.scale)).toEqual([1, 1 / 32]);
    expect(Array.from(r.centroids)).toEqual([-127, 0, 63, 127, 32, 64, 96, 127]);
    expect(codes(r.indices)).toEqual([3, 0, 0, 1, 2, 2, 1, 3]);
    expect(codes(r.q)).toEqual([127, 32, -127, 64, 63, 96, 0, 127]);
    expectCode(() => codebookWeights(w, { bits: 2, axis: 1, perChannel: true, scale: new Float32Array([1]) }), "HW4040");
    expectCode(() => codebookWeights(w, { bits: 2, axis: 1, perChannel: false, scale: new Float32Array([0]) }), "HW4040");
  });

  // A [16, 24] layer (axis 0) with a third of its weights pruned to zero.
  const values = laplace(384).map((v, i) => (i % 3 === 1 ? 0 : v * (1 + (i % 7) / 4)));
  for (let i = values.length - 1; i > 0; i--) {
    const j = (i * 7919) % (i + 1); // a fixed shuffle, so channels mix small and large weights
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  const layer = f32([16, 24], values);
  const channel = (i: number) => Math.floor(i / 24);

  for (const perChannel of [false, true]) {
    const kind = perChannel ? "per channel" : "per layer";
    it(`${kind}: q = centroids[indices], at most 2^b values, zeros stay zero, deterministic`, () => {
      for (const bits of [2, 3, 4, 8]) {
        const k = 2 ** bits;
        const r = codebookWeights(layer, { bits, axis: 0, perChannel });
        expect(r.indices.dtype).toBe(bits <= 4 ? "uint4" : "uint8");
        expect(r.centroids.length).toBe((perChannel ? 16 : 1) * k);
        const idx = r.indices.data as Uint8Array;
        const q = r.q.data as Int8Array;
        for (let i = 0; i < q.length; i++) {
          const book = perChannel ? channel(i) : 0;
          expect(idx[i]).toBeLessThan(k);
          expect(q[i]).toBe(r.centroids[book * k + idx[i]!]);
          if (values[i] === 0) expect(q[i]).toBe(0);
        }
        for (let b = 0; b * k < r.centroids.length; b++) {
          const table = Array.from(r.centroids.subarray(b * k, (b + 1) * k));
          expect(table).toEqual([...table].sort((x, y) => x - y));
          expect(Math.max(...table.map(Math.abs))).toBe(127); // the default scale puts the extreme centroid on ±127
        }
        if (!perChannel) expect(new Set(r.scale).size).toBe(1);
        const again = codebookWeights(layer, { bits, axis: 0, perChannel });
        expect(codes(again.indices)).toEqual(codes(r.indices));
        expect(Array.from(again.scale)).toEqual(Array.from(r.scale));
      }
    });

    it(`${kind}: the reconstruction error falls as bits grow`, () => {
      const errs = [2, 3, 4, 5].map((bits) => {
        const r = codebookWeights(layer, { bits, axis: 0, perChannel });
        return sqError(layer, r.q, r.scale, channel);
      });
      for (let b = 1; b < errs.length; b++) expect(errs[b]).toBeLessThan(errs[b - 1]!);
    });
  }
});

describe("the trained digits-mlp layers", () => {
  const model = loadModel(`${FIXTURES}trained/digits-mlp/model.onnx`);
  const gemms = model.graph.nodes.filter((n) => n.op === "Gemm");
  const layers = gemms.map((n) => model.graph.initializers.get(n.inputs[1]!)!);

  it("reconstruction SQNR (dB): 8-bit above 44, MSE ≥ minmax, codebook beats both at 2 bits", () => {
    const results = layers.map((w) => {
      const k = w.shape[1]!;
      const channel = (i: number) => Math.floor(i / k);
      const at = (bits: number) => {
        const mm = quantizeWeights(w, { bits, axis: 0, ...NEAREST });
        const mse = quantizeWeights(w, { bits, axis: 0, rounding: "nearest", clip: "mse" });
        const cb = codebookWeights(w, { bits, axis: 0, perChannel: true });
        return [mm, mse, cb].map((r) => sqnr(w, r.q, r.scale, channel));
      };
      return { 8: at(8), 4: at(4), 2: at(2) };
    });
    expect(results).toHaveLength(3);
    // transB = 1: B[N, K], output channels on axis 0.
    for (const n of gemms) expect(n.attrs["transB"]).toEqual({ kind: "int", value: 1 });
    for (const r of results) {
      expect(r[8][0]).toBeGreaterThan(44);
      for (const bits of [8, 4, 2] as const) expect(r[bits][1]).toBeGreaterThanOrEqual(r[bits][0]);
      expect(r[2][1]).toBeGreaterThan(r[2][0] + 4);
      expect(r[2][2]).toBeGreaterThan(r[2][1] + 2);
    }
    // Layer 0 (B[128, 64]) to 0.01 dB: minmax, MSE, per-channel codebook.
    expect(results[0]![8].map((v) => v.toFixed(2))).toEqual(["44.97", "45.08", "44.97"]);
    expect(results[0]![4].map((v) => v.toFixed(2))).toEqual(["19.96", "20.71", "20.14"]);
    expect(results[0]![2].map((v) => v.toFixed(2))).toEqual(["3.29", "7.74", "10.08"]);
  });
});
