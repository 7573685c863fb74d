/**
 * Calibration: the histogram collector's exact bin bookkeeping, each range method on synthetic
 * data with known answers, calibration of real models (every value recorded, exact input
 * ranges), the cache round trip and determinism.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { intRange } from "../../ir/dtype.js";
import type { Model, Node } from "../../ir/graph.js";
import { clamp, roundHalfEven, xorshift32 } from "../../ir/numeric.js";
import { numel, toFloat64 } from "../../ir/tensor.js";
import { loadModel } from "../../src/onnx/load.js";
import { calibrateCached, calibrationCacheKey, readCache, sha256Hex, writeCache } from "../../src/quant/calib-cache.js";
import { loadCalibrationSets } from "../../src/quant/calib-data.js";
import { klDivergences } from "../../src/quant/calib-kl.js";
import { expectedMse } from "../../src/quant/calib-mse.js";
import { chooseRange, type RangeOptions } from "../../src/quant/calib-ranges.js";
import { calibrate, rangeFn } from "../../src/quant/calibrate.js";
import { defaultConfig } from "../../src/quant/config.js";
import { absCounts, observe, ValueObserver, type ValueStats } from "../../src/quant/observers.js";
import { activationType, type ActRange } from "../../src/quant/quantize.js";
import { FIXTURES } from "../helpers/fixtures.js";

const tmp = mkdtempSync(join(tmpdir(), "hwac-calib-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sum = (a: readonly number[]): number => a.reduce((x, y) => x + y, 0);

/** N(0, 1) samples (Box–Muller over a seeded xorshift32), then `outliers` appended. */
function gaussianWithOutliers(n: number, outliers: readonly number[]): Float32Array {
  const out = new Float32Array(n + outliers.length);
  let state = 12345;
  const uniform = (): number => {
    state = xorshift32(state);
    return ((state >>> 0) + 0.5) / 2 ** 32;
  };
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  out.set(outliers, n);
  return out;
}

/** Measured MSE of quantizing `x` with the quantizer's grid for `range`. */
function quantMse(x: Float32Array, range: ActRange, bits: 4 | 8 | 16, symmetric: boolean): number {
  const t = activationType(range, bits, symmetric, null);
  const s = t.quant!.scale[0]!;
  const z = t.quant!.zeroPoint[0]!;
  const [lo, hi] = intRange(t.dtype);
  let e = 0;
  for (const v of x) e += (s * (clamp(roundHalfEven(v / s) + z, lo, hi) - z) - v) ** 2;
  return e / x.length;
}

describe("histogram collection", () => {
  it("records count, min, max and skips non-finite values", () => {
    const s = observe(Float32Array.of(-1.5, 0.25, NaN, 3, Infinity, 2, -Infinity));
    expect([s.count, s.nonFinite, s.min, s.max]).toEqual([4, 3, -1.5, 3]);
    expect(sum(s.hist.counts)).toBe(4);
  });

  it("spans the first set's range with `bins` bins anchored at 0", () => {
    const s = observe(Float32Array.from({ length: 2048 }, (_, i) => i));
    expect([s.hist.width, s.hist.offset, s.hist.counts.length]).toEqual([1, 0, 2048]);
    expect(s.hist.counts.every((c) => c === 1)).toBe(true);
  });

  it("appends bins at the same width, then doubles the width merging pairs exactly", () => {
    const o = new ValueObserver(2048);
    o.observe(Float32Array.from({ length: 2048 }, (_, i) => i));
    o.observe(Float32Array.of(4095.5));
    let s = o.stats();
    expect([s.hist.width, s.hist.offset, s.hist.counts.length, s.hist.counts[4095]]).toEqual([1, 0, 4096, 1]);
    o.observe(Float32Array.of(-1));
    s = o.stats();
    // 4097 unit bins [−1, 4096) no longer fit in 4096: bins of width 2 over [−2, 4096).
    expect([s.hist.width, s.hist.offset, s.hist.counts.length]).toEqual([2, -1, 2049]);
    expect(s.hist.counts.slice(0, 3)).toEqual([1, 2, 2]);
    expect(s.hist.counts[2048]).toBe(1);
    expect([s.count, s.min, s.max, sum(s.hist.counts)]).toEqual([2050, -1, 4095.5, 2050]);
  });

  it("keeps zeros seen before the first nonzero value in the bin at 0", () => {
    const o = new ValueObserver(2048);
    o.observe(new Float32Array(3));
    expect(o.stats().hist).toEqual({ width: 0, offset: 0, counts: [] });
    o.observe(Float32Array.of(-1, 1));
    const h = o.stats().hist;
    expect(h.width).toBe(2 / 2047);
    expect(h.offset).toBe(-1024);
    expect([h.counts[0], h.counts[1024], h.counts[2047], sum(h.counts)]).toEqual([1, 3, 1, 5]);
  });

  it("folds the histogram into |x| bins exactly", () => {
    const s = observe(Float32Array.from({ length: 2048 }, (_, i) => i - 1023.5), 2048);
    // width 2047/2047 = 1, bins [−1024, 1024): every |x| bin gets one value from each side.
    expect([s.hist.width, s.hist.offset]).toEqual([1, -1024]);
    const a = absCounts(s.hist);
    expect(a.length).toBe(1024);
    expect([...a].every((c) => c === 2)).toBe(true);
  });
});

describe("range objectives", () => {
  it("expected MSE integrates the squared distance to the grid over each bin", () => {
    const h = { width: 1, offset: 0, counts: [1] };
    // Values uniform on [0, 1), grid {0, 1}: 2·∫₀^½ x² dx.
    expect(expectedMse(h, { gLo: 0, gHi: 1, s: 1 })).toBeCloseTo(1 / 12, 15);
    // Grid {0, ½}: ∫₀^¼ x² + ∫¼^½ (½ − x)² + ∫½^1 (x − ½)² (clipped).
    expect(expectedMse(h, { gLo: 0, gHi: 0.5, s: 0.5 })).toBeCloseTo((2 * 0.25 ** 3 + 0.5 ** 3) / 3, 15);
    // Two bins [−1, 0) and [0, 1) with 1 and 3 values; grid {−1, 0, 1}: every bin has error 1/12.
    expect(expectedMse({ width: 1, offset: -1, counts: [1, 3] }, { gLo: -1, gHi: 1, s: 1 })).toBeCloseTo(1 / 12, 15);
  });

  it("KL divergence adds the outliers to the window's last bin and merges it into levels", () => {
    const kl = klDivergences([1, 1, 1, 1], 2);
    // Window of 4 bins, 2 groups of 2: q equals p.
    expect(kl(4)).toBeCloseTo(0, 15);
    // Window of 2: p = [1, 1 + 2 outliers], q = [1, 1]; normalized [¼, ¾] against [½, ½].
    expect(kl(2)).toBeCloseTo(0.25 * Math.log(0.5) + 0.75 * Math.log(1.5), 15);
    expect(kl(1)).toBe(Infinity);
  });
});

describe("range choosers", () => {
  const asym8: Omit<RangeOptions, "method"> = { bits: 8, symmetric: false };

  it("minmax: the observed range, widened to contain 0", () => {
    expect(chooseRange(observe(Float32Array.of(-1.5, 0.25, 3, 2)), { method: "minmax", ...asym8 })).toEqual({ min: -1.5, max: 3 });
    expect(chooseRange(observe(Float32Array.of(1, 2)), { method: "minmax", ...asym8 })).toEqual({ min: 0, max: 2 });
    expect(chooseRange(observe(Float32Array.of(-2, -1)), { method: "minmax", ...asym8 })).toEqual({ min: -2, max: 0 });
    expect(chooseRange(observe(new Float32Array(4)), { method: "entropy", ...asym8 })).toEqual({ min: 0, max: 0 });
  });

  // 9999 values spread over [0, 1) and one outlier at 100: bins of width 100/2047, the bulk in bins 0…20.
  const bulk = Float32Array.from({ length: 10000 }, (_, i) => (i === 9999 ? 100 : (i + 0.5) / 10000));
  const w = 100 / 2047;

  it("percentile cuts the outlier at the upper edge of the bulk's last bin", () => {
    const s = observe(bulk);
    expect(chooseRange(s, { method: "minmax", ...asym8 })).toEqual({ min: 0, max: 100 });
    // Two-sided 99.98 %: at most one element (0.01 %) cut from each tail.
    expect(chooseRange(s, { method: "percentile", percentile: 99.98, ...asym8 })).toEqual({ min: 0, max: 21 * w });
    // 99.99 % cuts nothing on either side of a two-sided cut (half an element each), ...
    expect(chooseRange(s, { method: "percentile", ...asym8 })).toEqual({ min: 0, max: 100 });
    // ... but one element from the top of |x| for a symmetric one.
    expect(chooseRange(s, { method: "percentile", bits: 8, symmetric: true })).toEqual({ min: 0, max: 21 * w });
    expect(() => chooseRange(s, { method: "percentile", percentile: 0, ...asym8 })).toThrow(/HW4031|percentile/);
  });

  it("percentile cuts both tails two-sided", () => {
    const x = Float32Array.from({ length: 10000 }, (_, i) => (i === 0 ? -100 : i === 9999 ? 100 : (i - 5000) / 5000));
    const s = observe(x);
    const wx = 200 / 2047;
    // Bins start at floor(−100/wx) = −1024; the bulk (−1, 1) spans bins −11 … 10.
    expect(s.hist.offset).toBe(-1024);
    expect(chooseRange(s, { method: "percentile", percentile: 99.98, ...asym8 })).toEqual({ min: -11 * wx, max: 11 * wx });
  });

  // Clipping an outlier at 30 to c costs (30 − c)² per element, so MSE clips it at 8 bits only
  // when outliers are rarer than about 1 in 400 000: here 1 in 500 000 on each side.
  const x = gaussianWithOutliers(1_000_000, [30, -30]);
  const stats = observe(x);

  for (const method of ["mse", "entropy"] as const) {
    for (const [bits, symmetric] of [[8, false], [8, true], [4, true]] as const) {
      it(`${method} clips a Gaussian's outliers well inside the max (${bits}-bit, ${symmetric ? "symmetric" : "asymmetric"})`, () => {
        const r = chooseRange(stats, { method, bits, symmetric });
        expect(r.max).toBeGreaterThan(1.5);
        expect(r.max).toBeLessThan(10);
        if (!symmetric) expect(r.min).toBeLessThan(-1.5);
        expect(r.min).toBeGreaterThan(-10);
        if (method === "mse") {
          const minmax = chooseRange(stats, { method: "minmax", bits, symmetric });
          expect(quantMse(x, r, bits, symmetric)).toBeLessThan(quantMse(x, minmax, bits, symmetric) / 2);
        }
      });
    }
  }

  it("entropy compares a one-signed value against all 255 steps of an asymmetric int8 grid", () => {
    const relu = x.map((v) => Math.max(v, 0));
    const r = chooseRange(observe(relu), { method: "entropy", bits: 8, symmetric: false });
    expect(r.min).toBe(0);
    expect(r.max).toBeGreaterThan(1.5);
    expect(r.max).toBeLessThan(10);
  });

  it("mse keeps the full range at 16 bits, where clipping costs more than rounding", () => {
    expect(chooseRange(stats, { method: "mse", bits: 16, symmetric: true })).toEqual({ min: -30, max: 30 });
  });

  it("entropy keeps the full range when the grid has more levels than the histogram bins", () => {
    expect(chooseRange(stats, { method: "entropy", bits: 16, symmetric: true })).toEqual({ min: -30, max: 30 });
  });

  it("mse at 4 bits clips tighter than at 8 bits", () => {
    const r4 = chooseRange(stats, { method: "mse", bits: 4, symmetric: true });
    const r8 = chooseRange(stats, { method: "mse", bits: 8, symmetric: true });
    expect(r4.max).toBeLessThan(r8.max);
  });
});

const DIGITS = join(FIXTURES, "trained", "digits-cnn");

function floatOutputs(nodes: readonly Node[]): string[] {
  return nodes.flatMap((n) => n.outputs.filter((o) => o !== ""));
}

describe("calibrating models", () => {
  const model = loadModel(join(DIGITS, "model.onnx"));
  const data = loadCalibrationSets([join(DIGITS, "calib")], model);
  const result = calibrate(model, data.sets);

  it("records every value of digits-cnn", () => {
    expect(result.sets).toBe(1);
    expect(Object.keys(result.values).sort()).toEqual(["x", ...floatOutputs(model.graph.nodes)].sort());
    const input = data.sets[0]!.get("x")!;
    const xs = toFloat64(input);
    const x = result.values["x"]!;
    expect([x.count, x.min, x.max]).toEqual([numel(input.shape), Math.min(...xs), Math.max(...xs)]);
    for (const relu of ["/2/Relu_output_0", "/5/Relu_output_0"]) {
      const s = result.values[relu]!;
      expect(s.min).toBe(0);
      expect(s.max).toBeGreaterThan(0);
      expect(sum(s.hist.counts)).toBe(s.count);
    }
    expect(calibrate(model, data.sets, { bins: 64 }).values["x"]!.hist.counts.length).toBe(64);
    // The batch of 197 images is one set: every logit is counted once per image.
    expect(result.values["logits"]!.count).toBe(197 * 10);
  });

  it("reads every set folder of a model folder, calib first", () => {
    const both = loadCalibrationSets([DIGITS], model);
    expect(both.dirs).toEqual([join(DIGITS, "calib"), join(DIGITS, "test_data_set_0")]);
    expect(both.hash).not.toBe(data.hash);
    const r = calibrate(model, both.sets);
    expect(r.sets).toBe(2);
    expect(r.values["x"]!.count).toBe(result.values["x"]!.count + numel(both.sets[1]!.get("x")!.shape));
  });

  it("rejects a folder without inputs", () => {
    const empty = join(tmp, "empty");
    mkdirSync(empty);
    expect(() => loadCalibrationSets([empty], model)).toThrow(/input_N\.pb/);
    expect(() => loadCalibrationSets([join(tmp, "missing")], model)).toThrow(/does not exist/);
    expect(() => calibrate(model, [])).toThrow(/at least one/);
    expect(() => calibrate(model, data.sets, { bins: 1 })).toThrow(/bins/);
  });

  it("records values computed inside If branches, and only the branch taken", () => {
    const dir = join(FIXTURES, "onnx-node", "test_if");
    const m = loadModel(join(dir, "model.onnx"));
    const sets = loadCalibrationSets([dir], m).sets;
    const cond = (sets[0]!.get("cond")!.data as Uint8Array)[0] === 1;
    const r = calibrate(m, sets);
    expect(Object.keys(r.values).sort()).toEqual([cond ? "then_out" : "else_out", "res"].sort());
    expect(r.values["res"]).toEqual(r.values[cond ? "then_out" : "else_out"]);
  });

  it("gives quantizeModel ranges per scheme", () => {
    const scheme = defaultConfig().default;
    const ranges = rangeFn(result);
    expect(ranges("x", scheme)).toEqual({ min: 0, max: result.values["x"]!.max });
    expect(ranges("nope", scheme)).toBeUndefined();
    const mse = ranges("logits", { ...scheme, calibration: "mse" })!;
    expect(mse.max).toBeLessThanOrEqual(result.values["logits"]!.max);
  });

  it("is deterministic: the same inputs give byte-identical JSON", () => {
    expect(JSON.stringify(calibrate(model, data.sets))).toBe(JSON.stringify(result));
  });

  it("caches histograms, so another method or bit width needs no float run", () => {
    const cacheDir = join(tmp, "cache");
    const modelHash = sha256Hex(readFileSync(join(DIGITS, "model.onnx")));
    let nodeRuns = 0;
    const opts = { onNode: () => void nodeRuns++ };
    const first = calibrateCached(model, data, modelHash, cacheDir, opts);
    expect(first.cached).toBe(false);
    expect(nodeRuns).toBe(model.graph.nodes.length);
    const second = calibrateCached(model, data, modelHash, cacheDir, opts);
    expect(second.cached).toBe(true);
    expect(nodeRuns).toBe(model.graph.nodes.length);
    expect(JSON.stringify(second.result)).toBe(JSON.stringify(first.result));
    const v = "/5/Relu_output_0";
    for (const method of ["percentile", "mse", "entropy"] as const) {
      const o: RangeOptions = { method, bits: 4, symmetric: true };
      expect(chooseRange(second.result.values[v]!, o)).toEqual(chooseRange(first.result.values[v]!, o));
    }
  });

  it("keys the cache on the model, the data and the collection parameters; a bad file is a miss", () => {
    const dir = join(tmp, "keys");
    const k = calibrationCacheKey("m", "d", { bins: 2048 });
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set([k, calibrationCacheKey("m2", "d", { bins: 2048 }), calibrationCacheKey("m", "d2", { bins: 2048 }), calibrationCacheKey("m", "d", { bins: 1024 })]).size).toBe(4);
    expect(readCache(dir, k)).toBeUndefined();
    const file = writeCache(dir, k, result);
    expect(readCache(dir, k)).toEqual(result);
    writeFileSync(file, readFileSync(file, "utf8").slice(0, 100));
    expect(readCache(dir, k)).toBeUndefined();
    writeFileSync(file, JSON.stringify({ key: k, result: { ...result, format: 99 } }));
    expect(readCache(dir, k)).toBeUndefined();
  });
});

describe("calibrating kws-lstm", () => {
  it("records the LSTM outputs of the 50-utterance batch", () => {
    const dir = join(FIXTURES, "trained", "kws-lstm");
    const model: Model = loadModel(join(dir, "model.onnx"));
    const r = calibrate(model, loadCalibrationSets([join(dir, "calib")], model).sets);
    const y: ValueStats = r.values["/lstm/LSTM_1_output_0"]!;
    // Y is [100 steps, 1 direction, 50 utterances, 96 hidden]; hidden states o ⊙ tanh(c) lie in (−1, 1).
    expect(y.count).toBe(100 * 50 * 96);
    expect(y.min).toBeGreaterThan(-1);
    expect(y.max).toBeLessThan(1);
    expect(r.values["features"]!.count).toBe(100 * 50 * 40);
  });
});
