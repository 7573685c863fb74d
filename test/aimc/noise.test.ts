import { describe, expect, it } from "vitest";
import { profileConfig } from "../../backends/aimc/config.js";
import {
  addOutputNoise, addReadNoise, applyIrDrop, applyProgrammingNoise, conductanceAt, driftFactor,
  irDropCoefficient, nuMean, nuStd, oneOverFSigma, progSigma, sampleNu,
} from "../../backends/aimc/noise.js";
import { Purpose } from "../../backends/aimc/rng.js";
import { meanStd, normals } from "./helpers.js";

const c = profileConfig("standard");
const G_MAX = c.conductance.gMax;
const N = 1_000_000;
const DAY = 86_400;
const YEAR = 365 * DAY;

describe("programming noise", () => {
  const cases: [number, number][] = [[0, 0.2635], [0.1, 0.4482], [0.5, 0.9527], [1, 1.0554]];

  it("σ(g) = 0.26348 + 1.9650·g_rel − 1.1731·g_rel² µS", () => {
    for (const [gRel, sigma] of cases) expect(progSigma(gRel * G_MAX, c.programming, G_MAX)).toBeCloseTo(sigma, 4);
  });

  it("scales with g_max against the 25 µS fit", () => {
    expect(progSigma(50, c.programming, 50)).toBeCloseTo(2 * 1.0554, 3);
  });

  for (const [gRel, sigma] of cases) {
    it(`draws σ ${sigma} µS at g/g_max = ${gRel} over 10^6 devices`, () => {
      const g = new Float64Array(N).fill(gRel * G_MAX);
      applyProgrammingNoise(g, normals(1, N, Purpose.prog), c.programming, G_MAX);
      let min = Infinity;
      for (const v of g) min = Math.min(min, v);
      expect(min).toBeGreaterThanOrEqual(0);
      if (gRel === 0) {
        // Clamped at 0: half the draws become 0, so E[g²] = σ²/2.
        let q = 0;
        for (const v of g) q += v * v;
        expect(Math.sqrt((2 * q) / N) / sigma).toBeCloseTo(1, 2);
      } else {
        const s = meanStd(g);
        expect(s.mean / (gRel * G_MAX)).toBeCloseTo(1, 3);
        expect(Math.abs(s.std / sigma - 1)).toBeLessThan(0.01);
      }
    });
  }
});

describe("drift", () => {
  // ((t + 20 s)/20 s)^(−ν), t = 1 s, 1 h, 1 day, 1 year.
  const times = [1, 3600, DAY, YEAR];
  it("factors for ν = 0.049 are 0.9976 / 0.7751 / 0.6635 / 0.4969", () => {
    expect(times.map((t) => driftFactor(0.049, t, 20))).toEqual(
      [0.9976, 0.7751, 0.6635, 0.4969].map((v) => expect.closeTo(v, 4)),
    );
  });

  it("factors for ν = 0.1, the top of the μ_ν range, are 0.9951 / 0.5946 / 0.4330 / 0.2400", () => {
    expect(times.map((t) => driftFactor(0.1, t, 20))).toEqual(
      [0.99513, 0.59461, 0.43295, 0.24001].map((v) => expect.closeTo(v, 5)),
    );
  });

  it("μ_ν and σ_ν follow the clamped log fits", () => {
    expect(nuMean(1, c.drift)).toBe(0.049); // 0.0244 clamped up
    expect(nuStd(1, c.drift)).toBe(0.008); // −0.0059 clamped up
    expect(nuMean(0.01, c.drift)).toBeCloseTo(-0.0155 * Math.log(0.01) + 0.0244, 12); // 0.0958, inside
    expect(nuStd(0.01, c.drift)).toBe(0.045); // 0.0517 clamped down
    expect(nuMean(0.001, c.drift)).toBe(0.1); // 0.1315 clamped down
    expect(nuStd(0.1, c.drift)).toBeCloseTo(-0.0125 * Math.log(0.1) - 0.0059, 12); // 0.0229, inside
    expect(nuMean(0, c.drift)).toBe(0.1); // g = 0 counts as 1e-7
  });

  it("draws ν ~ N(μ_ν, σ_ν) per device", () => {
    const g = new Float64Array(N).fill(G_MAX);
    const nu = new Float64Array(N);
    sampleNu(g, normals(2, N, Purpose.nu), nu, c.drift, G_MAX);
    const s = meanStd(nu);
    expect(s.mean).toBeCloseTo(0.049, 4);
    expect(Math.abs(s.std / 0.008 - 1)).toBeLessThan(0.01);
  });

  it("1/f noise at 1 h is σ_rel = min(0.2, 0.0088/g_rel^0.65)·√ln((t + t0 + 250 ns)/500 ns)", () => {
    const time = Math.sqrt(Math.log((3600 + 20 + 250e-9) / 500e-9));
    expect(oneOverFSigma(1, 3620, c.oneOverF)).toBeCloseTo(0.0088 * time, 12);
    expect(oneOverFSigma(0.5, 3620, c.oneOverF)).toBeCloseTo((0.0088 / 0.5 ** 0.65) * time, 12);
    expect(oneOverFSigma(1e-6, 3620, c.oneOverF)).toBeCloseTo(0.2 * time, 12); // both clamps

    const gProg = new Float64Array(N).fill(G_MAX / 2);
    const nu = new Float64Array(N).fill(0.049);
    const g = new Float64Array(N);
    conductanceAt(gProg, nu, normals(3, N, Purpose.oneOverF), g, 3600, c);
    const s = meanStd(g);
    const drifted = (G_MAX / 2) * 0.775129;
    expect(s.mean / drifted).toBeCloseTo(1, 3);
    expect(Math.abs(s.std / (drifted * (0.0088 / 0.5 ** 0.65) * time) - 1)).toBeLessThan(0.01);
  });
});

describe("MVM non-idealities", () => {
  const units = { w: 127, x: 127 };

  it("output noise has σ 0.04 (normalised) over 10^6 outputs", () => {
    const y = new Float64Array(N);
    addOutputNoise(y, 0.04, units, normals(4, N));
    const s = meanStd(y);
    expect(Math.abs(s.std / (0.04 * 127 * 127) - 1)).toBeLessThan(0.01);
    expect(Math.abs(s.mean)).toBeLessThan(0.002 * 127 * 127);
  });

  it("read noise has σ_i = 0.0175·√(Σ_j |W_ij|·x_j²) over 10^6 outputs", () => {
    // 4 rows × 1000 columns, column i of weights (i mod 5 + 1)·(−1)^j·20 codes; 1000 MVMs.
    const rows = 4;
    const cols = 1000;
    const w = new Float64Array(rows * cols);
    const x = Float64Array.of(127, -64, 30, 0);
    for (let j = 0; j < rows; j++) for (let i = 0; i < cols; i++) w[j * cols + i] = ((i % 5) + 1) * 20 * (j % 2 ? -1 : 1);
    const expected = (i: number) => {
      let s = 0;
      for (let j = 0; j < rows; j++) s += (Math.abs(w[j * cols + i]!) / 127) * (x[j]! / 127) ** 2;
      return 0.0175 * Math.sqrt(s) * 127 * 127;
    };
    const ratio = new Float64Array(N);
    const y = new Float64Array(cols);
    for (let m = 0; m < N / cols; m++) {
      y.fill(0);
      addReadNoise(y, w, x, rows, cols, 0.0175, units, normals(5, cols, Purpose.read, m));
      for (let i = 0; i < cols; i++) ratio[m * cols + i] = y[i]! / expected(i);
    }
    expect(Math.abs(meanStd(ratio).std - 1)).toBeLessThan(0.01);
  });

  it("IR drop: coefficient 0.1921 for an all-on 512-row column", () => {
    const a = (512 * 512) / c.irDrop.gRatio; // a = n·Σ|w||x| / g_ratio with w = x = 1
    expect(a).toBeCloseTo(0.458752, 6);
    expect(irDropCoefficient(a)).toBeCloseTo(0.1921, 4);
  });

  it("IR drop lowers an all-on column by 0.1921·Σ_j (1 − (1 − j/512)²)", () => {
    const rows = 512;
    const w = new Float64Array(rows).fill(127);
    const x = new Float64Array(rows).fill(127);
    const y = Float64Array.of(rows * 127 * 127);
    applyIrDrop(y, w, x, rows, 1, c.irDrop, units);
    // Σ_j (1 − (1 − j/512)²) = 512 − Σ_k (k/512)² = 340.8330078125.
    expect(y[0]! / (127 * 127)).toBeCloseTo(512 - 0.1921126 * 340.8330078125, 3);
  });

  it("IR drop grows with the row's distance from the driver, and vanishes with the factor", () => {
    // Two rows, g_ratio 2: a = 2·|W·X|/(2·127²) = 1 for a full-scale cell, c(1) = 0.35.
    const ir = { factor: 1, gRatio: 2 };
    const w = Float64Array.of(127, 127);
    const run = (x: Float64Array, factor = 1) => {
      const y = Float64Array.of(127 * 127);
      applyIrDrop(y, w, x, 2, 1, { ...ir, factor }, units);
      return y[0]! / (127 * 127);
    };
    expect(run(Float64Array.of(127, 0))).toBe(1); // row 0: weight 1 − (1 − 0/2)² = 0
    expect(run(Float64Array.of(0, 127))).toBeCloseTo(1 - 0.35 * 0.75, 12); // row 1: 1 − (1 − 1/2)² = 0.75
    expect(run(Float64Array.of(0, 127), 0)).toBe(1);
  });
});
