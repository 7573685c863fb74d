/**
 * Integer semantics of Softmax, LogSoftmax, the normalizations and the reductions
 * (docs/numerics-norm.md): the integer routines exact against BigInt or exhaustive references,
 * hand-computed small cases, and the documented error bounds against float64 on random inputs.
 * Each op runs as a quantized single-op model (QuantizeLinear → op → DequantizeLinear) through
 * `runQuantized`.
 */
import { describe, expect, it } from "vitest";
import type { Attr, Model, Node, TensorType } from "../../ir/graph.js";
import { runQuantized } from "../../ir/interpret.js";
import { mulShiftRound, xorshift32 } from "../../ir/numeric.js";
import { attrsOf } from "../../ir/op.js";
import { findOp } from "../../ir/ops/index.js";
import { tensor, type Tensor } from "../../ir/tensor.js";
import type { DType } from "../../ir/dtype.js";
import { bitLength, encodeSignedMultipliers, expTableQ15, isqrt, lnFixed, lnTable, reciprocal } from "../../ir/kernels/int-math.js";
import { normFracBits, quantizeNormAffine } from "../../ir/kernels/normalize.js";
import { logSoftmaxIntParams, logSoftmaxOutputType, softmaxOutputType } from "../../ir/kernels/softmax.js";

// ---- helpers ----

/** A seeded generator of uniform numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed;
  return () => (s = xorshift32(s)) / 2 ** 32;
}

function qtype(dtype: DType, shape: number[], scale: number, zp: number): TensorType {
  return { dtype, shape, quant: { scale: Float32Array.of(scale), zeroPoint: Int32Array.of(zp) } };
}

function scalarT(dtype: DType, v: number): Tensor {
  const t = tensor(dtype, []);
  (t.data as Float32Array)[0] = v;
  return t;
}

interface Param {
  readonly t: Tensor;
  readonly type: TensorType;
}

/**
 * Runs `op` on int codes `q` of type `xT` as a quantized single-op model; `params` are further
 * inputs (initializers, quantized or float; null for an omitted input). Returns the output codes.
 */
function runInt(op: string, attrs: Record<string, Attr>, q: ArrayLike<number>, xT: TensorType, params: (Param | null)[], yT: TensorType, opset = 18): number[] {
  const shape = xT.shape as number[];
  const [sx, zx] = [xT.quant!.scale[0]!, xT.quant!.zeroPoint[0]!];
  const [sy, zy] = [yT.quant!.scale[0]!, yT.quant!.zeroPoint[0]!];
  const inits = new Map<string, Tensor>([
    ["sx", scalarT("float32", sx)],
    ["zx", scalarT(xT.dtype, zx)],
    ["sy", scalarT("float32", sy)],
    ["zy", scalarT(yT.dtype, zy)],
  ]);
  const valueTypes = new Map<string, TensorType>([["xq", xT], ["yq", { ...yT, shape: null }]]);
  const names = params.map((p, i) => {
    if (!p) return "";
    inits.set(`p${i}`, p.t);
    valueTypes.set(`p${i}`, p.type);
    return `p${i}`;
  });
  const node = (o: string, inputs: string[], outputs: string[], a: Record<string, Attr> = {}): Node => ({ op: o, domain: "", name: o, inputs, outputs, attrs: a });
  const model: Model = {
    irVersion: 9,
    opsets: { "": opset },
    producer: "test",
    graph: {
      name: "g",
      inputs: [{ name: "x", type: { dtype: "float32", shape } }],
      outputs: [{ name: "y", type: { dtype: "float32", shape: null } }],
      initializers: inits,
      nodes: [node("QuantizeLinear", ["x", "sx", "zx"], ["xq"]), node(op, ["xq", ...names], ["yq"], attrs), node("DequantizeLinear", ["yq", "sy", "zy"], ["y"])],
      valueTypes,
    },
  };
  // Real values s·(q − z) quantize back to exactly q.
  const x = tensor("float32", shape, Float32Array.from(q, (v) => sx * (v - zx)));
  const out = runQuantized(model, { x }, { keepAll: true });
  return Array.from(out.get("yq")!.data as ArrayLike<number>);
}

/** The op's float semantics on float64 tensors. */
function runFloat(op: string, attrs: Record<string, Attr>, inputs: (Tensor | undefined)[], opset = 18): Float64Array {
  const node: Node = { op, domain: "", name: op, inputs: inputs.map((_, i) => `i${i}`), outputs: ["y"], attrs };
  const out = findOp("", op)!.run(inputs, { node, attrs: attrsOf(node), opset, runSubgraph: () => [] });
  return out[0]!.data as Float64Array;
}

function f64(shape: number[], v: ArrayLike<number>): Tensor {
  return tensor("float64", shape, Float64Array.from(v));
}

/** Dequantized codes in float64. */
function real(q: ArrayLike<number>, t: TensorType): Float64Array {
  const [s, z] = [t.quant!.scale[0]!, t.quant!.zeroPoint[0]!];
  return Float64Array.from(q, (v) => s * (v - z));
}

/** Largest |code − ideal| in output LSB, the ideal code being z + y/s clamped to the type's range. */
function lsbError(codes: ArrayLike<number>, y: ArrayLike<number>, t: TensorType, lo: number, hi: number): number {
  const [s, z] = [t.quant!.scale[0]!, t.quant!.zeroPoint[0]!];
  let err = 0;
  for (let i = 0; i < y.length; i++) err = Math.max(err, Math.abs(codes[i]! - Math.min(hi, Math.max(lo, z + y[i]! / s))));
  return err;
}

/** The asymmetric int8 type of a float range (docs/quantization.md). */
function int8For(y: ArrayLike<number>, shape: number[]): TensorType {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < y.length; i++) [lo, hi] = [Math.min(lo, y[i]!), Math.max(hi, y[i]!)];
  const s = Math.fround((hi - lo) / 255) || 1;
  return qtype("int8", shape, s, Math.min(127, Math.max(-128, Math.round(-128 - lo / s))));
}

function randomCodes(n: number, r: () => number, lo = -128, hi = 127): Int8Array {
  return Int8Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

const ints = (name: string, value: number[]): Record<string, Attr> => ({ [name]: { kind: "ints", value } });

// ---- integer routines ----

describe("integer routines", () => {
  const refSqrt = (n: number) => {
    const b = BigInt(n);
    let r = BigInt(Math.floor(Math.sqrt(n)));
    while (r * r > b) r--;
    while ((r + 1n) * (r + 1n) <= b) r++;
    return Number(r);
  };

  it("isqrt is floor(sqrt(n)) for every n < 2^20 and at squares up to 2^52", () => {
    for (let n = 0; n < 2 ** 20; n++) if (isqrt(n) !== Math.floor(Math.sqrt(n))) expect(isqrt(n)).toBe(Math.floor(Math.sqrt(n)));
    for (let k = 2 ** 26 - 5000; k < 2 ** 26; k++) {
      expect(isqrt(k * k)).toBe(k);
      expect(isqrt(k * k - 1)).toBe(k - 1);
    }
    const r = rng(7);
    for (let i = 0; i < 20000; i++) {
      const n = Math.floor(r() * 2 ** 52);
      expect(isqrt(n)).toBe(refSqrt(n));
    }
    expect(isqrt(2 ** 52 - 1)).toBe(2 ** 26 - 1);
  });

  /** round_half_up(2^(30+b)/d) with BigInt. */
  const refRecip = (d: number) => {
    const num = 1n << BigInt(30 + bitLength(d));
    return Number((2n * num + BigInt(d)) / (2n * BigInt(d)));
  };

  it("reciprocal is 1/d rounded to 31 significant bits, for every d < 2^16 and random d < 2^31", () => {
    const check = (d: number) => {
      const { m0, shift } = reciprocal(d);
      const q = refRecip(d);
      // m0·2^(shift−31) = q·2^(−30−b), with q = 2^31 renormalized to 2^30.
      expect(m0 * 2 ** (shift - 31)).toBe(q * 2 ** (-30 - bitLength(d)));
      expect(m0).toBeGreaterThanOrEqual(2 ** 30);
      expect(m0).toBeLessThan(2 ** 31);
    };
    for (let d = 1; d < 2 ** 16; d++) check(d);
    const r = rng(11);
    for (let i = 0; i < 20000; i++) check(1 + Math.floor(r() * (2 ** 31 - 1)));
    for (let b = 0; b < 31; b++) check(2 ** b);
    check(2 ** 31 - 1);
    expect(reciprocal(3)).toEqual({ m0: 1431655765, shift: -1 }); // round(2^32/3) = 1431655765.33
  });

  it("signed multipliers apply exactly through mulShiftRound (BigInt reference)", () => {
    const r = rng(5);
    for (let i = 0; i < 20000; i++) {
      const m = (r() - 0.5) * 2 ** (Math.floor(r() * 30) - 15);
      const { m0, shift } = encodeSignedMultipliers([m]);
      const acc = Math.floor((r() - 0.5) * 2 ** 31);
      const t = BigInt(31 - shift[0]!);
      const want = Number((BigInt(acc) * BigInt(m0[0]!) + (1n << (t - 1n))) >> t);
      expect(mulShiftRound(acc, m0[0]!, shift[0]!)).toBe(want);
      expect(Math.sign(m0[0]!)).toBe(Math.sign(m));
    }
  });

  it("the Q0.15 exp table saturates exp(0) and rounds the rest half to even", () => {
    expect(Array.from(expTableQ15(Math.LN2, 5))).toEqual([32767, 16384, 8192, 4096, 2048]);
    expect(expTableQ15(Math.LN2, 256)[20]).toBe(0); // 2^15·2^-20 = 1/32 rounds to 0
  });

  it("lnFixed is within 16·unit + 1.72e-5 of ln v for v in [1, 2^31)", () => {
    const unit = 2 ** -20;
    const t = lnTable(unit);
    const r = rng(3);
    let worst = 0;
    for (let i = 0; i < 100000; i++) {
      const v = 1 + Math.floor(2 ** (r() * 31) - 1);
      worst = Math.max(worst, Math.abs(lnFixed(v, t) * unit - Math.log(v)));
    }
    for (let v = 1; v < 5000; v++) worst = Math.max(worst, Math.abs(lnFixed(v, t) * unit - Math.log(v)));
    expect(worst).toBeLessThanOrEqual(16 * unit + 1.72e-5);
    expect(worst).toBeGreaterThan(1e-5); // the bound is nearly reached: the mantissa's dropped bits dominate
  });

  it("normFracBits keeps sqrt(count − 1)·2^F within 2^15", () => {
    expect([1, 2, 3, 5, 17, 768, 4096, 32768].map(normFracBits)).toEqual([15, 15, 14, 14, 13, 10, 9, 7]);
    for (const n of [2, 3, 100, 768, 1000, 32768]) expect(Math.sqrt(n - 1) * 2 ** normFracBits(n)).toBeLessThanOrEqual(2 ** 15);
  });
});

// ---- Softmax and LogSoftmax ----

/** The documented worst case: the final rounding plus the Q0.15 table's rounding of n exponentials. */
function softmaxBound(n: number, sOut: number): number {
  return 0.5 + (1 + (n + 1) / 2) / ((32768 - (n + 1) / 2) * sOut) + 1e-6;
}

describe("integer Softmax", () => {
  it("hand-checked row: s_in = ln 2 makes exp exact powers of two", () => {
    // T = [32767, 16384, 8192, 0], Σ = 57343; 256·T/Σ = 146.28, 73.14, 36.57, 0.
    const xT = qtype("int8", [1, 4], Math.fround(Math.LN2), 0);
    expect(runInt("Softmax", {}, [0, -1, -2, -128], xT, [], softmaxOutputType([1, 4]))).toEqual([18, -55, -91, -128]);
  });

  it("normalizes along a middle axis (opset 13) and over flattened dims (opset 11)", () => {
    const xT = qtype("int8", [2, 2], Math.fround(Math.LN2), 0);
    const yT = softmaxOutputType([2, 2]);
    // axis 0: columns (3, 2) and (4, 4): p = 2/3, 1/3 and 1/2, 1/2.
    expect(runInt("Softmax", { axis: { kind: "int", value: 0 } }, [3, 4, 2, 4], xT, [], yT, 13)).toEqual([43, 0, -43, 0]);
    // opset 11, axis 0: one row of four: 2^-1, 1, 2^-2, 1 over 2.75.
    expect(runInt("Softmax", { axis: { kind: "int", value: 0 } }, [3, 4, 2, 4], xT, [], yT, 11)).toEqual([-81, -35, -105, -35]);
  });

  it("stays within 0.5 + (1 + (n+1)/2)/((2^15 − (n+1)/2)·s_out) LSB of float softmax; 0.51 on random rows", () => {
    const r = rng(42);
    let worst = 0;
    for (let trial = 0; trial < 300; trial++) {
      const n = [1, 2, 3, 8, 10, 64, 100, 1000][trial % 8]!;
      const rows = 4;
      const xT = qtype("int8", [rows, n], Math.fround(0.01 + r() * 0.3), Math.floor(r() * 60) - 30);
      const q = randomCodes(rows * n, r);
      const yT = softmaxOutputType([rows, n]);
      const y = runFloat("Softmax", {}, [f64([rows, n], real(q, xT))]);
      const err = lsbError(runInt("Softmax", {}, q, xT, [], yT), y, yT, -128, 127);
      expect(err).toBeLessThanOrEqual(softmaxBound(n, 1 / 256));
      worst = Math.max(worst, err);
    }
    expect(worst).toBeLessThanOrEqual(0.51);
    expect(softmaxBound(64, 1 / 256)).toBeCloseTo(0.762, 3);
  });

  it("accepts any output type the quantizer gives (uint8 over [0, 1])", () => {
    const r = rng(8);
    const xT = qtype("int8", [8, 30], 0.1, 5);
    const yT = qtype("uint8", [8, 30], Math.fround(1 / 255), 0);
    const q = randomCodes(240, r);
    const y = runFloat("Softmax", {}, [f64([8, 30], real(q, xT))]);
    expect(lsbError(runInt("Softmax", {}, q, xT, [], yT), y, yT, 0, 255)).toBeLessThanOrEqual(softmaxBound(30, yT.quant!.scale[0]!));
  });

  it("refuses 16-bit inputs", () => {
    const xT = qtype("int16", [1, 2], 0.001, 0);
    expect(() => runInt("Softmax", {}, [0, 1], xT, [], softmaxOutputType([1, 2]))).toThrow(/at most 8 bits/);
  });
});

describe("integer LogSoftmax", () => {
  it("hand-checked row: ln(Σ) with exact powers of two", () => {
    // s_in = ln 2, codes [0, −1]: y = [−ln 1.5, −ln 2 − ln 1.5] = [−0.405, −1.099]; scale 16/256, zp 127.
    const xT = qtype("int8", [1, 2], Math.fround(Math.LN2), 0);
    expect(runInt("LogSoftmax", {}, [0, -1], xT, [], logSoftmaxOutputType([1, 2]))).toEqual([121, 109]);
  });

  it("stays within 0.5 + 16.5·2^−G + (1.72e-5 + (n+1)/2/(2^15 − (n+1)/2))/s_out LSB of float; 0.51 on random rows", () => {
    const r = rng(4);
    let worst = 0;
    for (let trial = 0; trial < 200; trial++) {
      const n = [1, 2, 5, 10, 64, 1000][trial % 6]!;
      const xT = qtype("int8", [3, n], Math.fround(0.01 + r() * 0.2), Math.floor(r() * 60) - 30);
      const q = randomCodes(3 * n, r);
      const y = runFloat("LogSoftmax", {}, [f64([3, n], real(q, xT))]);
      const yT = trial % 2 ? logSoftmaxOutputType([3, n]) : int8For(y, [3, n]);
      const err = lsbError(runInt("LogSoftmax", {}, q, xT, [], yT), y, yT, -128, 127);
      const { frac } = logSoftmaxIntParams(xT, yT);
      const table = (n + 1) / 2 / (32768 - (n + 1) / 2);
      expect(err).toBeLessThanOrEqual(0.5 + 16.5 * 2 ** -frac + (1.72e-5 + table) / yT.quant!.scale[0]!);
      worst = Math.max(worst, err);
    }
    expect(worst).toBeLessThanOrEqual(0.51);
  });
});

// ---- normalizations ----

/** γ and β quantized by the quantizer's helper, as op parameters. */
function affineParams(gamma: number[], beta: number[] | null, count: number): (Param | null)[] {
  const { gamma: g, beta: b } = quantizeNormAffine(f64([gamma.length], gamma), beta ? f64([beta.length], beta) : undefined, count);
  return [{ t: g.q, type: g.type }, b ? { t: b.q, type: b.type } : null];
}

/** Real values of a quantized parameter. */
function quantized(p: Param): Float64Array {
  return real(p.t.data as ArrayLike<number>, p.type);
}

/**
 * The documented bounds in output LSB: `op` against float with the quantized γ and β,
 * 0.5 + G·2^−(F+1) (G = max|γ|/s_y); `total` adds γ's and β's rounding, G·sqrt(count − 1)/65534 +
 * G·2^−(F+1)/32767. 10^-3 covers the square root's and reciprocal's 2^-24 relative errors.
 */
function normBound(params: (Param | null)[], yT: TensorType, count: number): { op: number; total: number } {
  const sg = params[0]!.type.quant!.scale[0]!;
  const frac = Math.round(Math.log2(sg / params[1]!.type.quant!.scale[0]!));
  const g = (sg * 32767) / yT.quant!.scale[0]!;
  const op = 0.5 + g * 2 ** -(frac + 1) + 1e-3;
  return { op, total: op + (g * Math.sqrt(count - 1)) / 65534 + (g * 2 ** -(frac + 1)) / 32767 };
}

describe("integer LayerNormalization", () => {
  it("hand-checked row: [1, 3] normalizes to [−1, 1], then γ = [1, 2], β = [0.5, 0]", () => {
    const xT = qtype("int8", [1, 2], 1, 0);
    const yT = qtype("int8", [1, 2], 1 / 32, 0);
    // y = [−0.5, 2] → codes [−16, 64].
    expect(runInt("LayerNormalization", {}, [1, 3], xT, affineParams([1, 2], [0.5, 0], 2), yT)).toEqual([-16, 64]);
  });

  it("quantizes γ to int16 and β to int32 at s_γ·2^−F", () => {
    const { gamma, beta } = quantizeNormAffine(f64([3], [0.5, -1, 0.25]), f64([3], [0.1, 0, -3]), 768);
    expect(gamma.type.dtype).toBe("int16");
    expect(Array.from(gamma.q.data as Int16Array)).toEqual([16384, -32767, 8192]);
    const sb = beta!.type.quant!.scale[0]!;
    expect(sb).toBe(Math.fround(gamma.type.quant!.scale[0]! / 2 ** 10));
    expect(Array.from(beta!.q.data as Int32Array)).toEqual([0.1, 0, -3].map((v) => Math.round(v / sb)));
    // β = 100 needs s_γ·2^(30−F) ≥ 100 with s_γ = 1/32767: F drops from 15 to 8.
    const wide = quantizeNormAffine(f64([1], [1]), f64([1], [100]), 2);
    expect(wide.beta!.type.quant!.scale[0]).toBe(Math.fround(wide.gamma.type.quant!.scale[0]! / 2 ** 8));
    expect((wide.beta!.q.data as Int32Array)[0]).toBe(Math.round(100 / wide.beta!.type.quant!.scale[0]!));
  });

  it("refuses a β whose scale is not s_γ·2^−F", () => {
    const [g, b] = affineParams([1, 2], [0.5, 0], 2);
    const wrong: Param = { t: b!.t, type: qtype("int32", [2], 0.001, 0) };
    const xT = qtype("int8", [1, 2], 1, 0);
    expect(() => runInt("LayerNormalization", {}, [1, 3], xT, [g, wrong], qtype("int8", [1, 2], 1 / 32, 0))).toThrow(/scale s_γ·2\^-F for an integer F in \[0, 15\]/);
  });

  it("stays within 0.5 + (max|γ|/s_y)·2^−(F+1) LSB of float, plus γ/β rounding against unquantized γ/β", () => {
    const r = rng(99);
    let slack = Infinity;
    for (let trial = 0; trial < 120; trial++) {
      const cols = [2, 3, 16, 64, 768, 100][trial % 6]!;
      const rows = 3;
      const signed = trial % 3 !== 0;
      const xT = qtype(signed ? "int8" : "uint8", [rows, cols], Math.fround(0.005 + r() * 0.1), signed ? Math.floor(r() * 100) - 50 : 128);
      const q = Int32Array.from({ length: rows * cols }, () => (signed ? -128 : 0) + Math.floor(r() * 256));
      const gamma = Array.from({ length: cols }, () => (r() - 0.3) * 3);
      const beta = Array.from({ length: cols }, () => (r() - 0.5) * (trial % 5 === 0 ? 400 : 2));
      const attrs: Record<string, Attr> = { epsilon: { kind: "float", value: trial % 4 === 0 ? 0.5 : 1e-5 } };
      const params = affineParams(gamma, beta, cols);
      const x = f64([rows, cols], real(q, xT));
      const yq = runFloat("LayerNormalization", attrs, [x, f64([cols], quantized(params[0]!)), f64([cols], quantized(params[1]!))]);
      const yf = runFloat("LayerNormalization", attrs, [x, f64([cols], gamma), f64([cols], beta)]);
      const yT = int8For(yf, [rows, cols]);
      const codes = runInt("LayerNormalization", attrs, q, xT, params, yT);
      const b = normBound(params, yT, cols);
      slack = Math.min(slack, b.op - lsbError(codes, yq, yT, -128, 127), b.total - lsbError(codes, yf, yT, -128, 127));
    }
    expect(slack).toBeGreaterThanOrEqual(0);
  });

  it("handles a constant row (zero variance) and a missing B", () => {
    const xT = qtype("int8", [1, 4], 0.5, 3);
    const yT = qtype("int8", [1, 4], 0.1, 0);
    const [g] = affineParams([1, 1, 1, 1], null, 4);
    expect(runInt("LayerNormalization", { epsilon: { kind: "float", value: 0 } }, [7, 7, 7, 7], xT, [g!], yT)).toEqual([0, 0, 0, 0]);
  });
});

describe("integer InstanceNormalization", () => {
  it("stays within the LayerNormalization bounds with per-channel γ and β", () => {
    const r = rng(12);
    let slack = Infinity;
    for (let trial = 0; trial < 40; trial++) {
      const [n, c, s] = [2, 3, [4, 49, 256][trial % 3]!];
      const shape = [n, c, s];
      const xT = qtype("int8", shape, Math.fround(0.01 + r() * 0.1), Math.floor(r() * 40) - 20);
      const q = randomCodes(n * c * s, r);
      const gamma = [1.5, -0.7, r()];
      const beta = [0.3, -1, 2 * r()];
      const params = affineParams(gamma, beta, s);
      const x = f64(shape, real(q, xT));
      const yq = runFloat("InstanceNormalization", {}, [x, f64([c], quantized(params[0]!)), f64([c], quantized(params[1]!))]);
      const yf = runFloat("InstanceNormalization", {}, [x, f64([c], gamma), f64([c], beta)]);
      const yT = int8For(yf, shape);
      const codes = runInt("InstanceNormalization", {}, q, xT, params, yT);
      const b = normBound(params, yT, s);
      slack = Math.min(slack, b.op - lsbError(codes, yq, yT, -128, 127), b.total - lsbError(codes, yf, yT, -128, 127));
    }
    expect(slack).toBeGreaterThanOrEqual(0);
  });
});

describe("integer BatchNormalization", () => {
  const floatParam = (v: number[]): Param => ({ t: tensor("float32", [v.length], Float32Array.from(v)), type: { dtype: "float32", shape: [v.length] } });
  const bnParams = (scale: number[], b: number[], mean: number[], v: number[]) => [scale, b, mean, v].map(floatParam);

  it("hand-checked: y = x + 0.5 and y = −x + 1.5 per channel", () => {
    const xT = qtype("int8", [1, 2, 2], 0.5, 0);
    const yT = qtype("int8", [1, 2, 2], 0.25, -10);
    const attrs = { epsilon: { kind: "float", value: 0 } } as const;
    // x = [1.5, −1.5 | 1.5, −1.5] → y = [2, −1 | 0, 3] → codes z + 4y.
    const codes = runInt("BatchNormalization", attrs, [3, -3, 3, -3], xT, bnParams([2, -2], [1, 1], [0.5, 0.5], [4, 4]), yT);
    expect(codes).toEqual([-2, -14, -10, 2]);
  });

  it("is within 0.5 + 1/256 LSB of float BatchNormalization on random channels", () => {
    const r = rng(21);
    let worst = 0;
    for (let trial = 0; trial < 40; trial++) {
      const shape = [2, 4, 10];
      const xT = qtype("int8", shape, Math.fround(0.01 + r() * 0.1), Math.floor(r() * 40) - 20);
      const q = randomCodes(80, r);
      const p = [0, 1, 2, 3].map(() => [(r() - 0.4) * 4, r() - 0.5, r() - 0.5, 0.1 + r() * 2]);
      const cols = [0, 1, 2, 3].map((k) => p.map((ch) => ch[k]!));
      const params = bnParams(cols[0]!, cols[1]!, cols[2]!, cols[3]!);
      const y = runFloat("BatchNormalization", {}, [f64(shape, real(q, xT)), ...params.map((x) => f64([4], x.t.data as Float32Array))]);
      const yT = int8For(y, shape);
      worst = Math.max(worst, lsbError(runInt("BatchNormalization", {}, q, xT, params, yT), y, yT, -128, 127));
    }
    expect(worst).toBeLessThanOrEqual(0.5 + 1 / 256 + 1e-6);
  });

  it("refuses quantized parameters and training mode", () => {
    const xT = qtype("int8", [1, 1, 1], 0.5, 0);
    const yT = qtype("int8", [1, 1, 1], 0.5, 0);
    const qp: Param = { t: tensor("int8", [1], Int8Array.of(1)), type: qtype("int8", [1], 1, 0) };
    const ps = bnParams([1], [0], [0], [1]);
    expect(() => runInt("BatchNormalization", {}, [1], xT, [qp, ps[1]!, ps[2]!, ps[3]!], yT)).toThrow(/must stay float/);
    expect(() => runInt("BatchNormalization", { training_mode: { kind: "int", value: 1 } }, [1], xT, ps, yT)).toThrow(/training-mode/);
  });
});

// ---- reductions ----

describe("integer reductions", () => {
  const xT = qtype("int8", [2, 3], 0.5, 2);

  it("ReduceMean and ReduceSum: hand-checked int32 sums and requantization", () => {
    // Rows (q − z) = [−2, 0, 4] and [1, 1, 7]: reals [−1, 0, 2] and [0.5, 0.5, 3.5].
    const q = [0, 2, 6, 3, 3, 9];
    const yT = qtype("int8", [2], 0.25, -1);
    const attrs = { ...ints("axes", [1]), keepdims: { kind: "int", value: 0 } } as const;
    // means 1/3 and 1.5 → −1 + 1.33 and −1 + 6; sums 1 and 4.5 → −1 + 4 and −1 + 18.
    expect(runInt("ReduceMean", attrs, q, xT, [], yT, 13)).toEqual([0, 5]);
    expect(runInt("ReduceSum", attrs, q, xT, [], yT, 11)).toEqual([3, 17]);
  });

  it("ReduceMax and ReduceMin fold codes; they requantize only when the output type differs", () => {
    const q = [0, 2, 6, 3, 3, 9];
    const attrs = ints("axes", [0]);
    expect(runInt("ReduceMax", attrs, q, xT, [], qtype("int8", [1, 3], 0.5, 2), 13)).toEqual([3, 3, 9]);
    expect(runInt("ReduceMin", attrs, q, xT, [], qtype("int8", [1, 3], 0.5, 2), 13)).toEqual([0, 2, 6]);
    // Reals max [0.5, 0.5, 3.5] at scale 0.25, zp 0.
    expect(runInt("ReduceMax", attrs, q, xT, [], qtype("int8", [1, 3], 0.25, 0), 13)).toEqual([2, 2, 14]);
    expect(findOp("", "ReduceMax")!.quantTransparent).toBe(true);
    expect(findOp("", "ReduceSum")!.quantTransparent).toBeFalsy();
  });

  it("ReduceMean is within 0.5 LSB of the float mean (plus the multiplier's 2^-31)", () => {
    const r = rng(77);
    let worst = 0;
    for (let trial = 0; trial < 50; trial++) {
      const shape = [3, 17, 5];
      const t = qtype("int8", shape, Math.fround(0.01 + r() * 0.1), Math.floor(r() * 40) - 20);
      const q = randomCodes(255, r);
      const attrs = ints("axes", trial % 2 ? [1] : [0, 2]);
      const y = runFloat("ReduceMean", attrs, [f64(shape, real(q, t))], 13);
      const yT = int8For(y, trial % 2 ? [3, 1, 5] : [1, 17, 1]);
      worst = Math.max(worst, lsbError(runInt("ReduceMean", attrs, q, t, [], yT, 13), y, yT, -128, 127));
    }
    expect(worst).toBeLessThanOrEqual(0.5 + 1e-6);
  });
});

describe("speed", () => {
  it("Softmax over 256×1024 and LayerNormalization over 256×768 int8 codes run in well under a second each", () => {
    const r = rng(1);
    const q = randomCodes(256 * 1024, r);
    let t0 = performance.now();
    runInt("Softmax", {}, q, qtype("int8", [256, 1024], 0.1, 0), [], softmaxOutputType([256, 1024]));
    const softmaxMs = performance.now() - t0;
    const params = affineParams(Array.from({ length: 768 }, () => r()), Array.from({ length: 768 }, () => r()), 768);
    t0 = performance.now();
    runInt("LayerNormalization", {}, q.subarray(0, 256 * 768), qtype("int8", [256, 768], 0.1, 0), params, qtype("int8", [256, 768], 0.05, 0));
    const lnMs = performance.now() - t0;
    expect(softmaxMs).toBeLessThan(1000);
    expect(lnMs).toBeLessThan(1000);
  });
});
