/**
 * GPTQ rounding: the blocked Cholesky factorization, the LDL (Babai) form against the explicit
 * inverse-update form of the GPTQ paper, a case by hand, the output error against nearest
 * rounding, sparsity, the Hessians collected from float runs (Conv with groups and padding, Gemm
 * with transA, a bidirectional LSTM's W and R) against independent computations, exact-mean bias
 * correction, the LeakyRelu input range cut, the config option and determinism.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Attr, Graph, Model, Node } from "../../ir/graph.js";
import { runModel } from "../../ir/interpret.js";
import { perAxisLayout } from "../../ir/kernels/quantize.js";
import { clamp, roundHalfEven, xorshift32 } from "../../ir/numeric.js";
import { tensor, type Tensor } from "../../ir/tensor.js";
import { readInputs } from "../../src/io.js";
import { loadModel } from "../../src/onnx/load.js";
import { encodeModel } from "../../src/onnx/save.js";
import { meanCorrection } from "../../src/quant/bias.js";
import { calibratedRange } from "../../src/quant/calibrate.js";
import { defaultConfig, parseConfig } from "../../src/quant/config.js";
import { cholesky, GPTQ_DAMPING, gptqCodes, type LayerHessian } from "../../src/quant/gptq.js";
import { hessianSource } from "../../src/quant/hessian.js";
import { quantize } from "../../src/quant/index.js";
import { activationType } from "../../src/quant/quantize.js";
import { compareModels, type Reference } from "../../src/quant/report.js";
import { quantizeWeights } from "../../src/quant/weights.js";
import { FIXTURES } from "../helpers/fixtures.js";

/** Uniform numbers in [−0.5, 0.5) from a seeded xorshift32. */
function uniforms(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) out[i] = (s = xorshift32(s)) / 2 ** 32 - 0.5;
  return out;
}

/** Rows x (m × k) with a strong shared component, as post-activation features have: x_i = c + 0.3·u_i. */
function correlatedRows(m: number, k: number, seed: number): Float64Array {
  const u = uniforms(m * (k + 1), seed);
  const x = new Float64Array(m * k);
  for (let r = 0; r < m; r++) for (let i = 0; i < k; i++) x[r * k + i] = 2 * u[r * (k + 1) + k]! + 0.3 * u[r * (k + 1) + i]!;
  return x;
}

/** Σ x·xᵀ over the rows, full k×k. */
function gram(x: Float64Array, m: number, k: number): Float64Array {
  const h = new Float64Array(k * k);
  for (let r = 0; r < m; r++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) h[i * k + j] += x[r * k + i]! * x[r * k + j]!;
  return h;
}

function hessianOf(h: Float64Array, k: number, channels: number): LayerHessian {
  return { k, groups: [h], sums: [new Float64Array(k)], count: 0, channelsPerGroup: channels };
}

/** GPTQ codes of w (channels × k, one channel per row) under H. */
function gptq(w: Float64Array, channels: number, k: number, h: Float64Array, scale: Float32Array, qmax: number): Int8Array {
  const codes = new Int8Array(channels * k);
  gptqCodes(Float32Array.from(w), perAxisLayout([channels, k], 0), scale, qmax, hessianOf(h, k, channels), codes, new Float64Array(channels));
  return codes;
}

/** Σ_rows ‖x·(w_c − s_c·q_c)‖² over all channels. */
function outputError(x: Float64Array, m: number, k: number, w: Float64Array, codes: ArrayLike<number>, scale: Float32Array): number {
  let e = 0;
  for (let c = 0; c < scale.length; c++) {
    for (let r = 0; r < m; r++) {
      let d = 0;
      for (let i = 0; i < k; i++) d += x[r * k + i]! * (w[c * k + i]! - scale[c]! * codes[c * k + i]!);
      e += d * d;
    }
  }
  return e;
}

/**
 * The GPTQ paper's form: columns in decreasing order of diag(H), each rounded, its error divided
 * by [H⁻¹]_jj spread over the later columns along row j of H⁻¹, then column j eliminated from H⁻¹.
 */
function referenceGptq(w: Float64Array, channels: number, k: number, h: Float64Array, scale: Float32Array, qmax: number): Int8Array {
  let mean = 0;
  for (let i = 0; i < k; i++) mean += h[i * k + i]!;
  const damp = (GPTQ_DAMPING * mean) / k;
  const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => h[b * k + b]! - h[a * k + a]! || b - a);
  // Gauss–Jordan inverse of the permuted, damped H.
  const a = order.map((oi) => [...order.map((oj) => h[oi * k + oj]! + (oi === oj ? damp : 0)), ...order.map((_, j) => (j === order.indexOf(oi) ? 1 : 0))]);
  for (let c = 0; c < k; c++) {
    const p = a[c]![c]!;
    for (let j = 0; j < 2 * k; j++) a[c]![j]! /= p;
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = a[r]![c]!;
      for (let j = 0; j < 2 * k; j++) a[r]![j]! -= f * a[c]![j]!;
    }
  }
  const codes = new Int8Array(channels * k);
  for (let c = 0; c < channels; c++) {
    const inv = a.map((row) => row.slice(k));
    const v = order.map((o) => w[c * k + o]!);
    for (let j = 0; j < k; j++) {
      const q = clamp(roundHalfEven(v[j]! / scale[c]!), -qmax, qmax);
      codes[c * k + order[j]!] = q;
      const e = (v[j]! - scale[c]! * q) / inv[j]![j]!;
      for (let t = j + 1; t < k; t++) v[t]! -= e * inv[j]![t]!;
      for (let r = j + 1; r < k; r++) for (let t = j + 1; t < k; t++) inv[r]![t]! -= (inv[r]![j]! * inv[j]![t]!) / inv[j]![j]!;
    }
  }
  return codes;
}

describe("cholesky", () => {
  it("factors [[4, 2], [2, 3]] into [[2, 0], [1, √2]]", () => {
    const a = Float64Array.of(4, 0, 2, 3);
    expect(cholesky(a, 2)).toBe(true);
    expect([a[0], a[2], a[3]]).toEqual([2, 1, Math.SQRT2]);
  });

  it("reproduces a 150×150 Gram matrix across blocks within float32 block rounding", () => {
    const k = 150;
    const h = gram(Float64Array.from(uniforms(200 * k, 7)), 200, k);
    const a = Float64Array.from(h);
    expect(cholesky(a, k)).toBe(true);
    let err = 0;
    let max = 0;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j <= i; j++) {
        let v = 0;
        for (let t = 0; t <= j; t++) v += a[i * k + t]! * a[j * k + t]!;
        err = Math.max(err, Math.abs(v - h[i * k + j]!));
        max = Math.max(max, Math.abs(h[i * k + j]!));
      }
    }
    expect(err / max).toBeLessThan(1e-6);
  });

  it("reports an indefinite matrix", () => {
    expect(cholesky(Float64Array.of(1, 0, 2, 1), 2)).toBe(false);
  });
});

describe("gptqCodes", () => {
  it("rounds two correlated weights by hand: w = (0.4, 0.4), H = [[1, 0.9], [0.9, 1]] gives codes (1, 0)", () => {
    // Equal diagonals: column 1 goes first and rounds to 0 (error 0.4); with the 1 % damping
    // L_10 = 0.9 / 1.01, so column 0 sees 0.4 + 0.4·0.891 = 0.756 and rounds to 1. Output error
    // δ·H·δᵀ: 0.088 for δ = (−0.6, 0.4), against 0.608 for nearest rounding's δ = (0.4, 0.4).
    const codes = gptq(Float64Array.of(0.4, 0.4), 1, 2, Float64Array.of(1, 0.9, 0.9, 1), Float32Array.of(1), 7);
    expect(Array.from(codes)).toEqual([1, 0]);
  });

  it("gives the codes of the paper's inverse-update form", () => {
    const [channels, k, m] = [6, 80, 200]; // k crosses a 64-column block
    const x = correlatedRows(m, k, 3);
    const h = gram(x, m, k);
    const w = uniforms(channels * k, 11);
    const scale = Float32Array.from({ length: channels }, (_, c) => 0.5 / 7 + c / 100);
    expect(Array.from(gptq(w, channels, k, h, scale, 7))).toEqual(Array.from(referenceGptq(w, channels, k, h, scale, 7)));
  });

  it("has a lower output error than nearest rounding on correlated inputs", () => {
    const [channels, k, m] = [16, 96, 400];
    const x = correlatedRows(m, k, 5);
    const w = uniforms(channels * k, 9);
    const scale = Float32Array.from({ length: channels }, () => 0.5 / 7);
    const nearest = Int8Array.from(w, (v, i) => clamp(roundHalfEven(v / scale[Math.floor(i / k)]!), -7, 7));
    const rtn = outputError(x, m, k, w, nearest, scale);
    const ours = outputError(x, m, k, w, gptq(w, channels, k, gram(x, m, k), scale, 7), scale);
    expect(ours).toBeLessThan(rtn / 4);
  });

  it("keeps exact zeros at code 0 and rounds to nearest when no input was seen", () => {
    const [k, m] = [8, 30];
    const x = correlatedRows(m, k, 13);
    const w = Float64Array.from(uniforms(k, 17), (v, i) => (i % 3 === 0 ? 0 : v));
    const codes = gptq(w, 1, k, gram(x, m, k), Float32Array.of(0.05), 7);
    for (let i = 0; i < k; i += 3) expect(codes[i]).toBe(0);
    const unseen = gptq(w, 1, k, new Float64Array(k * k), Float32Array.of(0.05), 7);
    expect(Array.from(unseen)).toEqual(Array.from(w, (v) => clamp(roundHalfEven(Math.fround(v) / Math.fround(0.05)), -7, 7)));
  });

  it("is chosen by the scheme and needs a Hessian", () => {
    const w = tensor("float32", [2, 3], Float32Array.of(0.1, -0.2, 0.3, 0.4, 0.5, -0.6));
    expect(() => quantizeWeights(w, { bits: 4, axis: 0, rounding: "gptq", clip: "minmax" })).toThrow(/HW4040|Hessian/);
    const base = defaultConfig();
    expect(base.default.rounding).toBe("gptq");
    expect(parseConfig('{"default": {"rounding": "nearest"}}', "q.json", base).default.rounding).toBe("nearest");
    expect(() => parseConfig('{"default": {"rounding": "adaround"}}', "q.json", base)).toThrow(/rounding/);
  });
});

// ---- Hessians from float runs ----

const f32 = (shape: number[], seed: number, offset = 0) => tensor("float32", shape, Float32Array.from(uniforms(shape.reduce((a, b) => a * b, 1), seed), (v) => v + offset));
const values = (t: Tensor) => t.data as Float32Array;
const ints = (value: number[]): Attr => ({ kind: "ints", value });

function oneNodeModel(node: Node, inputs: [string, Tensor][], inits: [string, Tensor][], outputs: string[]): Model {
  const graph: Graph = {
    name: "g",
    inputs: inputs.map(([name, t]) => ({ name, type: { dtype: "float32", shape: [...t.shape] } })),
    outputs: outputs.map((name) => ({ name, type: { dtype: "float32", shape: null } })),
    initializers: new Map(inits),
    nodes: [node],
    valueTypes: new Map(),
  };
  return { irVersion: 9, opsets: { "": 17 }, producer: "test", graph };
}

/** Lower triangles of the collected and the expected H agree within float32 rounding. */
function expectLower(got: Float64Array, want: Float64Array, k: number): void {
  let max = 0;
  for (const v of want) max = Math.max(max, Math.abs(v));
  for (let i = 0; i < k; i++) for (let j = 0; j <= i; j++) expect(Math.abs(got[i * k + j]! - want[i * k + j]!)).toBeLessThan(1e-6 * max);
}

describe("hessianSource", () => {
  it("collects a grouped, padded, strided Conv's im2col rows per group", () => {
    // X [2, 4, 5, 5], W [6, 2, 3, 3], group 2, pads 1, strides 2: K = 18, 3×3 positions.
    const x = f32([2, 4, 5, 5], 1, 1);
    const node: Node = { op: "Conv", domain: "", name: "conv", inputs: ["x", "w"], outputs: ["y"], attrs: { group: { kind: "int", value: 2 }, pads: ints([1, 1, 1, 1]), strides: ints([2, 2]) } };
    const model = oneNodeModel(node, [["x", x]], [["w", f32([6, 2, 3, 3], 2)]], ["y"]);
    const h = hessianSource(model, [new Map([["x", x]])], () => true)(node, 1)!;
    expect([h.k, h.groups.length, h.channelsPerGroup, h.count]).toEqual([18, 2, 3, 2 * 9]);
    for (let g = 0; g < 2; g++) {
      const want = new Float64Array(18 * 18);
      const sums = new Float64Array(18);
      for (let n = 0; n < 2; n++) {
        for (let oy = 0; oy < 3; oy++) {
          for (let ox = 0; ox < 3; ox++) {
            const row = new Float64Array(18);
            for (let c = 0; c < 2; c++) {
              for (let ky = 0; ky < 3; ky++) {
                for (let kx = 0; kx < 3; kx++) {
                  const [iy, ix] = [2 * oy - 1 + ky, 2 * ox - 1 + kx];
                  const inside = iy >= 0 && iy < 5 && ix >= 0 && ix < 5;
                  row[c * 9 + ky * 3 + kx] = inside ? values(x)[((n * 4 + g * 2 + c) * 5 + iy) * 5 + ix]! : 0;
                }
              }
            }
            for (let i = 0; i < 18; i++) {
              sums[i] += row[i]!;
              for (let j = 0; j < 18; j++) want[i * 18 + j] += row[i]! * row[j]!;
            }
          }
        }
      }
      expectLower(h.groups[g]!, want, 18);
      for (let i = 0; i < 18; i++) expect(h.sums[g]![i]).toBeCloseTo(sums[i]!, 4);
    }
  });

  it("collects Gemm's rows of A under transA, two calibration sets summed", () => {
    const sets = [f32([3, 5], 3), f32([3, 5], 4)];
    const node: Node = { op: "Gemm", domain: "", name: "fc", inputs: ["a", "b"], outputs: ["y"], attrs: { transA: { kind: "int", value: 1 } } };
    const model = oneNodeModel(node, [["a", sets[0]!]], [["b", f32([3, 4], 5)]], ["y"]);
    const h = hessianSource(model, sets.map((a) => new Map([["a", a]])), () => true)(node, 1)!;
    // A = aᵀ is [5, 3]: five rows of length 3 per set.
    const rows = new Float64Array(10 * 3);
    sets.forEach((a, s) => {
      for (let r = 0; r < 5; r++) for (let i = 0; i < 3; i++) rows[(s * 5 + r) * 3 + i] = values(a)[i * 5 + r]!;
    });
    expect([h.k, h.count, h.channelsPerGroup]).toEqual([3, 10, 4]);
    expectLower(h.groups[0]!, gram(rows, 10, 3), 3);
  });

  it("collects a bidirectional LSTM's inputs for W and each direction's previous hidden states for R", () => {
    const [steps, batch, input, hidden] = [3, 2, 4, 3];
    const x = f32([steps, batch, input], 6);
    const h0 = f32([2, batch, hidden], 7);
    const node: Node = {
      op: "LSTM", domain: "", name: "lstm", inputs: ["x", "w", "r", "", "", "h0"], outputs: ["y"],
      attrs: { hidden_size: { kind: "int", value: hidden }, direction: { kind: "string", value: "bidirectional" } },
    };
    const model = oneNodeModel(node, [["x", x], ["h0", h0]], [["w", f32([2, 4 * hidden, input], 8)], ["r", f32([2, 4 * hidden, hidden], 9)]], ["y"]);
    const feeds = new Map([["x", x], ["h0", h0]]);
    const source = hessianSource(model, [feeds], () => true);
    const hw = source(node, 1)!;
    const hr = source(node, 2)!;
    const xRows = Float64Array.from(values(x));
    const wantX = gram(xRows, steps * batch, input);
    expect([hw.k, hr.k, hw.channelsPerGroup]).toEqual([2 * input, 2 * hidden, 4 * hidden]);
    for (let d = 0; d < 2; d++) {
      const block = new Float64Array(input * input);
      for (let i = 0; i < input; i++) for (let j = 0; j < input; j++) block[i * input + j] = hw.groups[0]![(d * input + i) * 2 * input + d * input + j]!;
      expectLower(block, wantX, input);
    }
    expect(hw.groups[0]![input * 2 * input]).toBe(0); // no cross-direction block
    const y = runModel(model, feeds).get("y")!.data as Float32Array; // [steps, 2, batch, hidden]
    for (let d = 0; d < 2; d++) {
      const rows = new Float64Array(steps * batch * hidden);
      for (let t = 0; t < steps; t++) {
        const prev = d === 0 ? t - 1 : t + 1;
        for (let b = 0; b < batch; b++) {
          for (let j = 0; j < hidden; j++) {
            rows[(t * batch + b) * hidden + j] = prev < 0 || prev === steps ? values(h0)[(d * batch + b) * hidden + j]! : y[((prev * 2 + d) * batch + b) * hidden + j]!;
          }
        }
      }
      const want = gram(rows, steps * batch, hidden);
      const block = new Float64Array(hidden * hidden);
      for (let i = 0; i < hidden; i++) for (let j = 0; j < hidden; j++) block[i * hidden + j] = hr.groups[0]![(d * hidden + i) * 2 * hidden + d * hidden + j]!;
      expectLower(block, want, hidden);
    }
  });
});

describe("meanCorrection", () => {
  it("is Σ (s·q − w)·x̄ per channel with the rows' exact mean, along Gemm's axis 1", () => {
    // B [K = 2, N = 3], channel n = column n; x̄ = sums / count = (1, −2).
    const wd = Float32Array.of(0.1, 0.2, 0.3, -0.1, 0, 0.25);
    const qd = Int8Array.of(1, 2, 3, -1, 0, 2);
    const w = tensor("float32", [2, 3], wd);
    const q = tensor("int8", [2, 3], qd);
    const scale = Float32Array.of(0.125, 0.125, 0.125);
    const h: LayerHessian = { k: 2, groups: [new Float64Array(4)], sums: [Float64Array.of(4, -8)], count: 4, channelsPerGroup: 3 };
    const delta = meanCorrection(w, q, scale, 1, h)!;
    const want = [0, 1, 2].map((n) => (0.125 * qd[n]! - wd[n]!) * 1 + (0.125 * qd[3 + n]! - wd[3 + n]!) * -2);
    want.forEach((v, n) => expect(delta[n]).toBeCloseTo(v, 7));
  });
});

describe("quantize with GPTQ", () => {
  it("cuts a LeakyRelu's input range to the preimage of its clamped output range", () => {
    // Conv → LeakyRelu(0.2) → Max(·, −0.4): conv outputs below −0.4 / 0.2 = −2 all give −0.4.
    const x = f32([4, 1, 6, 6], 21);
    const nodes: Node[] = [
      { op: "Conv", domain: "", name: "conv", inputs: ["x", "w"], outputs: ["c"], attrs: {} },
      { op: "LeakyRelu", domain: "", name: "lrelu", inputs: ["c"], outputs: ["l"], attrs: { alpha: { kind: "float", value: 0.2 } } },
      { op: "Max", domain: "", name: "max", inputs: ["l", "floor"], outputs: ["y"], attrs: {} },
    ];
    const w = tensor("float32", [2, 1, 3, 3], Float32Array.from(uniforms(18, 22), (v) => 40 * v));
    const model = oneNodeModel(nodes[0]!, [["x", x]], [["w", w], ["floor", tensor("float32", [], Float32Array.of(-0.4))]], ["y"]);
    const full: Model = { ...model, graph: { ...model.graph, nodes } };
    const q = quantize(full, [new Map([["x", x]])]);
    const opts = { method: "mse", bits: 8, symmetric: false } as const;
    const own = calibratedRange(q.calibration, "c", opts)!;
    const clampRange = calibratedRange(q.calibration, "y", opts)!;
    expect(own.min).toBeLessThan(-2);
    const cut = { min: Math.max(own.min, clampRange.min / 0.2), max: Math.min(own.max, clampRange.max) };
    expect(cut.min).toBeCloseTo(-2, 6);
    const type = q.model.graph.valueTypes.get(q.quantizedValues.get("c")!)!;
    expect(type.quant).toEqual(activationType(cut, 8, false, null).quant);
    // Its codes stand for the conv output clipped to the preimage, what the report compares them with.
    expect(q.fusedClamps.get("c")).toEqual({ value: "c", clip: { min: clampRange.min / 0.2, max: clampRange.max } });
    const layer = (refs: Map<string, Reference>) => compareModels(q.float, q.model, q.quantizedValues, [new Map([["x", x]])], undefined, refs).layers.find((l) => l.value === "c")!.sqnrDb;
    expect(layer(q.fusedClamps)).toBeGreaterThan(layer(new Map()) + 10);
  });

  it("is deterministic: the same calibration gives byte-identical models", () => {
    const dir = join(FIXTURES, "trained", "digits-cnn");
    const model = loadModel(join(dir, "model.onnx"));
    const calib = [readInputs(join(dir, "calib"), model)];
    const a = encodeModel(quantize(model, calib).model);
    const b = encodeModel(quantize(model, calib).model);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });
});
