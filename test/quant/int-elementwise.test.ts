/**
 * Integer semantics of the elementwise, table and data-movement ops (docs/numerics-elementwise.md).
 * Each op runs as a quantized model (a QuantizeLinear per quantized input → op → DequantizeLinear)
 * through `runQuantized`: exact codes on hand-checked cases, TFLite ADD against a BigInt model of
 * its formula on every int8 code pair, and on seeded random inputs the documented error bound
 * against the float op applied to the dequantized inputs.
 */
import { describe, expect, it } from "vitest";
import { intRange, type DType } from "../../ir/dtype.js";
import type { Attr, Model, Node, TensorType, ValueDecl } from "../../ir/graph.js";
import { runQuantized } from "../../ir/interpret.js";
import { quantizeMultiplier, xorshift32 } from "../../ir/numeric.js";
import { attrsOf } from "../../ir/op.js";
import { findOp } from "../../ir/ops/index.js";
import { formatType, Q0_15, Q3_12, tanhTable } from "../../ir/kernels/fixed-point.js";
import { interpolatedTable } from "../../ir/kernels/int-table.js";
import { f32, i64, tensor, type Tensor } from "../../ir/tensor.js";

// ---- helpers ----

function rng(seed: number): () => number {
  let s = seed;
  return () => (s = xorshift32(s)) / 2 ** 32;
}

function qtype(dtype: DType, shape: number[] | null, scale: number, zp = 0): TensorType {
  return { dtype, shape, quant: { scale: Float32Array.of(scale), zeroPoint: Int32Array.of(zp) } };
}

function scalarT(dtype: DType, v: number): Tensor {
  const t = tensor(dtype, []);
  (t.data as Float32Array)[0] = v;
  return t;
}

/** A quantized graph input: its codes and type (whose shape is the tensor's). */
interface Q {
  readonly codes: ArrayLike<number>;
  readonly type: TensorType;
}

const q = (dtype: DType, shape: number[], scale: number, zp: number, codes: number[]): Q => ({ codes, type: qtype(dtype, shape, scale, zp) });
const isQ = (x: Q | Tensor | null): x is Q => x !== null && "codes" in x;

const str = (value: string): Attr => ({ kind: "string", value });
const int = (value: number): Attr => ({ kind: "int", value });
const float = (value: number): Attr => ({ kind: "float", value });
const ints = (value: number[]): Attr => ({ kind: "ints", value });

interface RunOpts {
  attrs?: Record<string, Attr>;
  opset?: number;
  /** Output types; one output of type `outT` by default. */
  outs?: number;
  /** The node object to use (the table cache is keyed by it). */
  node?: Node;
}

/** The quantized single-op model: graph inputs float, QuantizeLinear per Q input, initializers for tensors. */
function quantModel(op: string, ins: (Q | Tensor | null)[], outT: TensorType, o: RunOpts = {}): Model {
  const inits = new Map<string, Tensor>();
  const valueTypes = new Map<string, TensorType>();
  const nodes: Node[] = [];
  const inputs: ValueDecl[] = [];
  const names = ins.map((x, i) => {
    if (x === null) return "";
    if (!isQ(x)) {
      inits.set(`p${i}`, x);
      return `p${i}`;
    }
    inits.set(`s${i}`, scalarT("float32", x.type.quant!.scale[0]!));
    inits.set(`z${i}`, scalarT(x.type.dtype, x.type.quant!.zeroPoint[0]!));
    inputs.push({ name: `x${i}`, type: { dtype: "float32", shape: x.type.shape } });
    nodes.push({ op: "QuantizeLinear", domain: "", name: `quantize${i}`, inputs: [`x${i}`, `s${i}`, `z${i}`], outputs: [`xq${i}`], attrs: {} });
    valueTypes.set(`xq${i}`, x.type);
    return `xq${i}`;
  });
  inits.set("sy", scalarT("float32", outT.quant!.scale[0]!));
  inits.set("zy", scalarT(outT.dtype, outT.quant!.zeroPoint[0]!));
  const outs = Array.from({ length: o.outs ?? 1 }, (_, k) => `yq${k}`);
  for (const y of outs) valueTypes.set(y, outT);
  nodes.push(o.node ?? { op, domain: "", name: op, inputs: names, outputs: outs, attrs: o.attrs ?? {} });
  outs.forEach((y, k) => nodes.push({ op: "DequantizeLinear", domain: "", name: `dequantize${k}`, inputs: [y, "sy", "zy"], outputs: [`y${k}`], attrs: {} }));
  return {
    irVersion: 9,
    opsets: { "": o.opset ?? 18 },
    producer: "test",
    graph: {
      name: "g",
      inputs,
      outputs: outs.map((_, k) => ({ name: `y${k}`, type: { dtype: "float32", shape: null } })),
      initializers: inits,
      nodes,
      valueTypes,
    },
  };
}

/** Runs `op` on the codes of the Q inputs; returns the codes of every output. */
function runAll(op: string, ins: (Q | Tensor | null)[], outT: TensorType, o: RunOpts = {}): number[][] {
  const model = quantModel(op, ins, outT, o);
  const feeds: Record<string, Tensor> = {};
  ins.forEach((x, i) => {
    if (!isQ(x)) return;
    const [s, z] = [x.type.quant!.scale[0]!, x.type.quant!.zeroPoint[0]!];
    // s·(q − z) quantizes back to exactly q.
    feeds[`x${i}`] = tensor("float32", x.type.shape as number[], Float32Array.from(x.codes, (c) => s * (c - z)));
  });
  const out = runQuantized(model, feeds, { keepAll: true });
  return Array.from({ length: o.outs ?? 1 }, (_, k) => Array.from(out.get(`yq${k}`)!.data as ArrayLike<number>));
}

const runInt = (op: string, ins: (Q | Tensor | null)[], outT: TensorType, o: RunOpts = {}): number[] => runAll(op, ins, outT, o)[0]!;

/** The float op on float64 tensors: the dequantized Q inputs, the other tensors as they are. */
function runFloat(op: string, ins: (Q | Tensor | null)[], o: RunOpts = {}): Float64Array {
  const inputs = ins.map((x) => (x === null ? undefined : isQ(x) ? tensor("float64", x.type.shape as number[], real(x)) : x));
  const node: Node = { op, domain: "", name: op, inputs: ins.map((_, i) => `i${i}`), outputs: ["y"], attrs: o.attrs ?? {} };
  return findOp("", op)!.run(inputs, { node, attrs: attrsOf(node), opset: o.opset ?? 18, runSubgraph: () => [] })[0]!.data as Float64Array;
}

function real(x: Q): Float64Array {
  const [s, z] = [x.type.quant!.scale[0]!, x.type.quant!.zeroPoint[0]!];
  return Float64Array.from(x.codes, (c) => s * (c - z));
}

/** Largest |code − ideal| in output LSB; the ideal code is z + y/s clamped to the type's range (NaN results skipped). */
function lsbError(codes: ArrayLike<number>, y: ArrayLike<number>, t: TensorType): number {
  const [s, z] = [t.quant!.scale[0]!, t.quant!.zeroPoint[0]!];
  const [lo, hi] = intRange(t.dtype);
  let err = 0;
  for (let i = 0; i < y.length; i++) {
    if (Number.isNaN(y[i])) continue;
    err = Math.max(err, Math.abs(codes[i]! - Math.min(hi, Math.max(lo, z + y[i]! / s))));
  }
  return err;
}

function randomCodes(n: number, r: () => number, dtype: DType): number[] {
  const [lo, hi] = intRange(dtype);
  return Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

/** A random per-tensor type of `dtype`: scale in [2^-6, 2^2), asymmetric zero point for int8, else 0. */
function randomType(r: () => number, dtype: DType, shape: number[]): TensorType {
  const zp = dtype === "int8" ? Math.floor(r() * 256) - 128 : 0;
  return qtype(dtype, shape, Math.fround(2 ** (r() * 8 - 6)), zp);
}

/** A symmetric output type of `dtype` covering the finite values of `y`, scaled by a random factor in [0.5, 1.5). */
function outputFor(y: ArrayLike<number>, dtype: DType, r: () => number): TensorType {
  let m = 0;
  for (let i = 0; i < y.length; i++) if (Number.isFinite(y[i])) m = Math.max(m, Math.abs(y[i]!));
  return qtype(dtype, null, Math.fround((m / intRange(dtype)[1]) * (0.5 + r())) || 1);
}

function expectHwacError(f: () => unknown, code: string): void {
  expect(f).toThrow(expect.objectContaining({ name: "HwacError", code }));
}

// ---- Add, Sub, Sum ----

describe("Add, Sub and Sum (TFLite ADD)", () => {
  const a = q("int8", [3], 0.5, 0, [2, -3, 100]);
  const b = q("int8", [3], 0.25, 10, [14, 10, 0]);
  const out = qtype("int8", null, 1, -5);

  it("adds in the common scale 2·max(s) and rounds the final requantization half up", () => {
    // Reals 1 + 1, −1.5 + 0, 50 − 2.5: −1.5 rounds up to −1, 47.5 up to 48.
    expect(runInt("Add", [a, b], out)).toEqual([-3, -6, 43]);
  });

  it("subtracts the second rescaled input", () => {
    // 1 − 1, −1.5 − 0, 50 + 2.5.
    expect(runInt("Sub", [a, b], out)).toEqual([-5, -6, 48]);
  });

  it("sums any number of inputs in one accumulator (N = 4 for three inputs)", () => {
    const x = (v: number[]) => q("int8", [2], 1, 0, v);
    expect(runInt("Sum", [x([1, -100]), x([2, -100]), x([3, 50])], qtype("int8", null, 1))).toEqual([6, -128]);
    expect(runInt("Sum", [x([7, -9])], qtype("int8", null, 0.5, 3))).toEqual([17, -15]);
  });

  it("broadcasts numpy-style", () => {
    const m = q("int8", [2, 3], 1, 0, [1, 2, 3, 4, 5, 6]);
    const row = q("int8", [3], 1, 0, [10, 20, 30]);
    const col = q("int8", [2, 1], 1, 0, [100, -100]);
    expect(runInt("Add", [m, row], qtype("int8", null, 1))).toEqual([11, 22, 33, 14, 25, 36]);
    expect(runInt("Sub", [row, col], qtype("int8", null, 1))).toEqual([-90, -80, -70, 110, 120, 127]);
  });

  it("equals a BigInt model of TFLite's formula on every pair of int8 codes", () => {
    const all = Array.from({ length: 65536 }, (_, i) => i);
    const xa = all.map((i) => (i >> 8) - 128);
    const xb = all.map((i) => (i & 255) - 128);
    const cases: [number, number, number, number, number, number][] = [
      [0.0123, -7, 0.0371, 25, 0.05, -3],
      [0.5, 0, 0.5, 0, 1, 0],
      [0.002, 100, 0.9, -128, 0.7, 20],
    ];
    for (const [sa, za, sb, zb, so, zo] of cases) {
      const ta = qtype("int8", [65536], sa, za);
      const tb = qtype("int8", [65536], sb, zb);
      const to = qtype("int8", null, so, zo);
      const got = runInt("Add", [{ codes: xa, type: ta }, { codes: xb, type: tb }], to);
      const [fa, fb, fo] = [Math.fround(sa), Math.fround(sb), Math.fround(so)];
      const twiceMax = 2 * Math.max(fa, fb);
      const ma = quantizeMultiplier(fa / twiceMax);
      const mb = quantizeMultiplier(fb / twiceMax);
      const mo = quantizeMultiplier(twiceMax / (2 ** 20 * fo));
      const mulShift = (v: bigint, m: { m0: number; shift: number }) => {
        const t = BigInt(31 - m.shift);
        return (v * BigInt(m.m0) + (1n << (t - 1n))) >> t;
      };
      for (let i = 0; i < all.length; i++) {
        const sum = mulShift(BigInt(xa[i]! - za) << 20n, ma) + mulShift(BigInt(xb[i]! - zb) << 20n, mb);
        const y = Math.min(127, Math.max(-128, zo + Number(mulShift(sum, mo))));
        if (got[i] !== y) expect([i, got[i]]).toEqual([i, y]);
      }
    }
  });
});

// ---- Mul, Div, Max, Min, PRelu ----

describe("Mul, Div, Max, Min, PRelu", () => {
  it("Mul requantizes (a − z_a)(b − z_b) by s_a·s_b/s_out", () => {
    const a = q("int8", [3], 0.5, 0, [4, -6, 3]);
    const b = q("int8", [3], 0.25, 10, [18, 2, 11]);
    // 2·2, −3·−2, 1.5·0.25 = 0.375 → 0.75 LSB.
    expect(runInt("Mul", [a, b], qtype("int8", null, 0.5, 1))).toEqual([9, 13, 2]);
  });

  it("Mul by a float constant rescales once per element of the constant (scalar or per channel)", () => {
    const x = q("int8", [3], 0.5, 0, [3, -4, 7]);
    // −1/3 · [1.5, −2, 3.5] = [−0.5, 0.667, −1.167] → /0.25.
    expect(runInt("Mul", [x, f32([], [-1 / 3])], qtype("int8", null, 0.25))).toEqual([-2, 3, -5]);
    const m = q("int8", [2, 2], 1, 0, [1, 2, 3, 4]);
    // Rows scaled by 2 and −0.5: −1.5 rounds half up to −1.
    expect(runInt("Mul", [f32([2, 1], [2, -0.5]), m], qtype("int8", null, 1))).toEqual([2, 4, -1, -2]);
  });

  it("Div by a float constant multiplies by its encoded reciprocal", () => {
    const x = q("int8", [4], 1, 0, [6, 9, -9, 3]);
    // 1/6 encodes just below 1/6 (m0 = 1431655765, shift −2), so 1.5, −1.5 and 0.5 round down.
    expect(runInt("Div", [x, f32([], [6])], qtype("int8", null, 1))).toEqual([1, 1, -1, 0]);
  });

  it("Div rounds half up and saturates division by zero by the numerator's sign", () => {
    const a = q("int8", [7], 1, 0, [7, -7, 5, -5, 0, 1, -1]);
    const b = q("int8", [7], 1, 0, [2, 2, 0, 0, 0, 4, 4]);
    expect(runInt("Div", [a, b], qtype("int8", null, 0.5))).toEqual([7, -7, 127, -128, 0, 1, 0]);
  });

  it("Div refuses an output scale too small for the quotient", () => {
    const x = q("int8", [1], 1, 0, [1]);
    expectHwacError(() => runInt("Div", [x, x], qtype("int8", null, 2 ** -30)), "HW4060");
  });

  it("Max and Min rescale every input to the output type first", () => {
    const a = q("int8", [2], 1, 0, [3, -2]);
    const b = q("int8", [2], 0.5, 0, [5, -8]);
    // b is [2.5, −4], rescaled to [3, −4] (2.5 rounds half up).
    expect(runInt("Max", [a, b], qtype("int8", null, 1))).toEqual([3, -2]);
    expect(runInt("Min", [a, b], qtype("int8", null, 1))).toEqual([3, -4]);
  });

  it("PRelu multiplies the negative side by the quantized slope, per channel when the slope is", () => {
    const x = q("int8", [2, 2], 0.5, 0, [4, -4, -3, -8]);
    const slope = q("int8", [2, 1], 0.25, 0, [1, -2]);
    // Rows: slope 0.25 then −0.5: [2, −0.5], [−1.5·−0.5, −4·−0.5] = [0.75, 2].
    expect(runInt("PRelu", [x, slope], qtype("int8", null, 0.5))).toEqual([4, -1, 2, 4]);
  });
});

// ---- Relu, Clip ----

describe("Relu and Clip", () => {
  const x = q("int8", [5], 0.1, -20, [-128, -21, -20, -19, 127]);

  it("Relu is max(q, z) within one type", () => {
    expect(runInt("Relu", [x], x.type)).toEqual([-20, -20, -20, -19, 127]);
  });

  it("Relu rescales to a different output type, clamping at its zero point", () => {
    // 0.1 → 0.5 LSB rounds up; 14.7 → 73.5 → 74.
    expect(runInt("Relu", [x], qtype("int8", null, 0.2, -128))).toEqual([-128, -128, -128, -127, -54]);
  });

  it("Clip quantizes its float bounds half to even (inputs, opset 13, and attributes, opset 6)", () => {
    const c = q("int8", [5], 0.25, 0, [-5, -2, 0, 4, 9]);
    // −0.625 → −2.5 → −2; 0.875 → 3.5 → 4.
    expect(runInt("Clip", [c, scalarT("float32", -0.625), scalarT("float32", 0.875)], c.type, { opset: 13 })).toEqual([-2, -2, 0, 4, 4]);
    expect(runInt("Clip", [c], c.type, { opset: 6, attrs: { min: float(-0.625), max: float(0.875) } })).toEqual([-2, -2, 0, 4, 4]);
    expect(runInt("Clip", [c, null, scalarT("float32", 0)], c.type, { opset: 13 })).toEqual([-5, -2, 0, 0, 0]);
  });

  it("Clip rescales a bound computed in the graph (a quantized scalar)", () => {
    const c = q("int8", [4], 0.5, 0, [-9, -1, 3, 9]);
    const m = q("int8", [], 0.25, -4, [0]);
    // min = 0.25·(0 + 4) = 1 → code 2.
    expect(runInt("Clip", [c, m], c.type, { opset: 13 })).toEqual([2, 2, 3, 9]);
  });

  it("Clip refuses bounds that are not scalars", () => {
    const c = q("int8", [1], 0.1, 0, [1]);
    expectHwacError(() => runInt("Clip", [c, f32([2], [0, 1])], c.type, { opset: 13 }), "HW4062");
  });
});

// ---- Tables ----

describe("unary tables", () => {
  it("8-bit: one correctly rounded entry per code", () => {
    const x = q("int8", [4], 1 / 16, 0, [0, 16, -16, 127]);
    // sigmoid(0)·256 = 128, sigmoid(1)·256 = 187.15, sigmoid(−1)·256 = 68.85, sigmoid(7.94)·256 = 255.9.
    expect(runInt("Sigmoid", [x], qtype("int8", null, 1 / 256, -128))).toEqual([0, 59, -59, 127]);
  });

  it("int4: 16 entries", () => {
    const x = q("int4", [4], 0.5, 0, [2, -8, 1, 7]);
    // 7·tanh(1) = 5.33, 7·tanh(−4) = −6.995, 7·tanh(0.5) = 3.23, 7·tanh(3.5) = 6.98.
    expect(runInt("Tanh", [x], qtype("int4", null, 1 / 7))).toEqual([5, -7, 3, 7]);
  });

  it("uses the node's attributes (HardSigmoid alpha/beta, LeakyRelu alpha, Gelu approximate)", () => {
    const x = q("int8", [3], 0.5, 0, [-4, 0, 4]);
    const y = qtype("int8", null, 0.01);
    // 0.25·x + 0.25 at −2, 0, 2.
    expect(runInt("HardSigmoid", [x], y, { attrs: { alpha: float(0.25), beta: float(0.25) } })).toEqual([0, 25, 75]);
    expect(runInt("LeakyRelu", [x], qtype("int8", null, 0.5), { attrs: { alpha: float(0.25) } })).toEqual([-1, 0, 4]);
    const tanh = runInt("Gelu", [x], y, { attrs: { approximate: str("tanh") } });
    const exact = runInt("Gelu", [x], y);
    expect([tanh[0], exact[0]]).toEqual([-5, -5]);
    expect(tanh[2]).toBe(exact[2]);
  });

  it("NaN results give the zero point, infinities saturate (Log and Sqrt of negatives, log 0)", () => {
    const x = q("int8", [3], 0.5, 0, [-2, 0, 2]);
    expect(runInt("Log", [x], qtype("int8", null, 0.1, 3))).toEqual([3, -128, 3]);
    expect(runInt("Sqrt", [x], qtype("int8", null, 0.1, 3))).toEqual([3, 3, 13]);
  });

  it("rebuilds a node's table when it runs with other types", () => {
    const node: Node = { op: "Exp", domain: "", name: "exp", inputs: ["xq0"], outputs: ["yq0"], attrs: {} };
    const x = q("int8", [2], 0.25, 0, [0, 4]);
    expect(runInt("Exp", [x], qtype("int8", null, 0.5), { node })).toEqual([2, 5]);
    expect(runInt("Exp", [x], qtype("int8", null, 0.25), { node })).toEqual([4, 11]);
  });

  it("16-bit: a 513-node table interpolated exactly for linear functions", () => {
    const x = q("int16", [6], 0.001, 0, [-32768, -32700, -100, 0, 5, 32767]);
    expect(runInt("Neg", [x], x.type)).toEqual([32767, 32700, 100, 0, -5, -32767]);
    expect(runInt("Abs", [x], qtype("int16", null, 0.002))).toEqual([16384, 16350, 50, 0, 3, 16384]);
  });

  it("16-bit tables are the integer LSTM's tables on its Q formats", () => {
    const t = interpolatedTable(Math.tanh, formatType(Q3_12, [1]), formatType(Q0_15, [1]));
    expect(Array.from(t)).toEqual(Array.from(tanhTable()));
  });

  it("16-bit Log and Sqrt run integer routines (lnFixed, isqrt)", () => {
    const x = q("int16", [6], 2 ** -8, 0, [256, 512, 1, 0, -3, 32767]);
    // 256·ln(d/256): 0, 177.45, −1419.6, −∞, NaN, 1242.2.
    expect(runInt("Log", [x], qtype("int16", null, 2 ** -8, 5))).toEqual([5, 182, -1415, -32768, 5, 1247]);
    // 256·sqrt(d/256) = 16·sqrt(d): 256, 362.04, 16, 0, NaN, 2896.3.
    expect(runInt("Sqrt", [x], qtype("int16", null, 2 ** -8))).toEqual([256, 362, 16, 0, 0, 2896]);
  });
});

// ---- Data movement ----

describe("data movement", () => {
  const x = q("int8", [2, 3], 0.1, 7, [1, 2, 3, 4, 5, 6]);

  it("transparent ops move codes unchanged (Transpose, Reshape, Slice, Gather, Tile, Expand, Split)", () => {
    expect(runInt("Transpose", [x], x.type)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(runInt("Reshape", [x, i64([1], [-1])], x.type)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(runInt("Slice", [x, i64([1], [1]), i64([1], [3]), i64([1], [1])], x.type)).toEqual([2, 3, 5, 6]);
    expect(runInt("Gather", [x, i64([2], [2, 0])], x.type, { attrs: { axis: int(1) } })).toEqual([3, 1, 6, 4]);
    expect(runInt("Tile", [x, i64([2], [1, 2])], x.type)).toEqual([1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
    expect(runInt("Expand", [q("int8", [2, 1], 0.1, 7, [8, 9]), i64([2], [2, 2])], x.type)).toEqual([8, 8, 9, 9]);
    expect(runAll("Split", [x], x.type, { outs: 2, attrs: { axis: int(0) } })).toEqual([[1, 2, 3], [4, 5, 6]]);
  });

  it("transparent ops handle int4 codes", () => {
    const y = q("int4", [2, 2], 0.5, 0, [-8, 7, 3, -1]);
    expect(runInt("Transpose", [y], y.type)).toEqual([-8, 3, 7, -1]);
  });

  it("a transparent op between different types is an error", () => {
    expectHwacError(() => runInt("Transpose", [x], qtype("int8", null, 0.2, 7)), "HW4001");
  });

  it("Concat rescales inputs of other types to the output's and copies the rest", () => {
    const a = q("int8", [2], 0.5, 0, [2, 3]);
    const b = q("int8", [2], 0.25, 0, [4, 5]);
    // b = [1, 1.25] → [2, 2.5 → 3].
    expect(runInt("Concat", [a, b], qtype("int8", null, 0.5), { attrs: { axis: int(0) } })).toEqual([2, 3, 2, 3]);
  });

  it("Pad: constant mode pads with the pad value's code, the others copy codes", () => {
    const p = q("int8", [2], 0.5, 3, [10, 20]);
    const pads = i64([2], [1, 2]);
    expect(runInt("Pad", [p, pads], p.type)).toEqual([3, 10, 20, 3, 3]);
    expect(runInt("Pad", [p, pads, scalarT("float32", 1)], p.type)).toEqual([5, 10, 20, 5, 5]);
    expect(runInt("Pad", [p, pads], p.type, { attrs: { mode: str("reflect") } })).toEqual([20, 10, 20, 10, 20]);
    expect(runInt("Pad", [p], p.type, { opset: 2, attrs: { pads: ints([1, 0]), value: float(-1) } })).toEqual([1, 10, 20]);
  });

  it("Resize: nearest copies codes, linear interpolates with integer weights (rounding half up)", () => {
    const r = q("int8", [1, 2], 1, 0, [0, 10]);
    const scales = f32([2], [1, 2]);
    const empty = f32([0], []);
    expect(runInt("Resize", [r, empty, scales], r.type)).toEqual([0, 0, 10, 10]);
    // Float: 0, 2.5, 7.5, 10.
    expect(runInt("Resize", [r, empty, scales], r.type, { attrs: { mode: str("linear") } })).toEqual([0, 3, 8, 10]);
  });
});

// ---- Error bounds against float ----

describe("documented error bounds on random inputs", () => {
  const binary = ["Add", "Sub", "Mul", "Div", "Max", "Min", "PRelu", "Sum"];
  for (const dtype of ["int8", "int4", "int16"] as DType[]) {
    it(`${dtype} binary ops stay within 0.5 + 2^-10 LSB`, () => {
      const r = rng(dtype.length * 7919);
      for (const op of binary) {
        for (let trial = 0; trial < 8; trial++) {
          const n = 512;
          const [ta, tb] = [randomType(r, dtype, [n]), randomType(r, dtype, [n])];
          const ins: Q[] = [{ codes: randomCodes(n, r, dtype), type: ta }, { codes: randomCodes(n, r, dtype), type: tb }];
          if (op === "Sum") ins.push({ codes: randomCodes(n, r, dtype), type: ta });
          const y = runFloat(op, ins);
          const out = outputFor(y, dtype, r);
          const err = lsbError(runInt(op, ins, out), y, out);
          if (err > 0.5 + 2 ** -10) expect({ op, trial, err }).toEqual({ op, trial, err: 0.5 });
        }
      }
    });
  }

  it("Mul and Div by float constants (per channel) stay within 0.5 + 2^-10 LSB", () => {
    const r = rng(99);
    for (const dtype of ["int8", "int16"] as DType[]) {
      for (const op of ["Mul", "Div"]) {
        const x: Q = { codes: randomCodes(64, r, dtype), type: randomType(r, dtype, [4, 16]) };
        const c = tensor("float64", [16], Float64Array.from({ length: 16 }, () => (r() - 0.5) * 8 || 1));
        const y = runFloat(op, [x, c]);
        const out = outputFor(y, dtype, r);
        expect([dtype, op, lsbError(runInt(op, [x, c], out), y, out) <= 0.5 + 2 ** -10]).toEqual([dtype, op, true]);
      }
    }
  });

  it("broadcast Add and Mul stay within the bound", () => {
    const r = rng(42);
    const a: Q = { codes: randomCodes(24, r, "int8"), type: randomType(r, "int8", [2, 3, 4]) };
    const b: Q = { codes: randomCodes(3, r, "int8"), type: randomType(r, "int8", [3, 1]) };
    for (const op of ["Add", "Mul"]) {
      const y = runFloat(op, [a, b]);
      const out = outputFor(y, "int8", r);
      expect(lsbError(runInt(op, [a, b], out), y, out)).toBeLessThanOrEqual(0.5 + 2 ** -10);
    }
  });

  const unary: [string, Record<string, Attr>][] = [
    ["Sigmoid", {}], ["Tanh", {}], ["HardSigmoid", {}], ["HardSwish", {}], ["Gelu", {}], ["Erf", {}], ["Exp", {}],
    ["Log", {}], ["Sqrt", {}], ["Neg", {}], ["Abs", {}], ["LeakyRelu", { alpha: float(0.1) }], ["Mish", {}],
    ["Softplus", {}], ["Elu", { alpha: float(0.5) }], ["Relu", {}],
  ];

  it("8-bit and 4-bit tables are correctly rounded (≤ 0.5 LSB) on every code", () => {
    for (const dtype of ["int8", "uint8", "int4"] as DType[]) {
      const [lo, hi] = intRange(dtype);
      const codes = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
      for (const [op, attrs] of unary) {
        const x: Q = { codes, type: qtype(dtype, [codes.length], 0.05, dtype === "int8" ? -3 : dtype === "uint8" ? 120 : 0) };
        const y = runFloat(op, [x], { attrs });
        const out = outputFor(y, dtype === "uint8" ? "int8" : dtype, () => 0.5);
        const err = lsbError(runInt(op, [x], out, { attrs }), y, out);
        expect([dtype, op, err <= 0.5 + 1e-9]).toEqual([dtype, op, true]);
      }
    }
  });

  // Input range ±8 at int16 (s_in = 8/32767), output symmetric over the function's range: the
  // measured maxima in docs/numerics-elementwise.md, with a little margin.
  const int16Bounds: Record<string, number> = {
    Sigmoid: 1.3, Tanh: 2.8, HardSigmoid: 1, HardSwish: 1.1, Gelu: 1.2, Erf: 2.7, Exp: 8.1, Log: 0.55, Sqrt: 0.51,
    Neg: 0.51, Abs: 0.51, LeakyRelu: 1.01, Mish: 1.3, Softplus: 1.1, Elu: 1.1, Relu: 0.5,
  };

  it("16-bit tables (and the Log and Sqrt routines) stay within their measured bounds on every code", () => {
    const codes = Array.from({ length: 65536 }, (_, i) => i - 32768);
    const x: Q = { codes, type: qtype("int16", [65536], 8 / 32767) };
    for (const [op, attrs] of unary) {
      const y = runFloat(op, [x], { attrs });
      const out = outputFor(y, "int16", () => 0.5);
      const err = lsbError(runInt(op, [x], out, { attrs }), y, out);
      expect([op, err <= int16Bounds[op]!]).toEqual([op, true]);
    }
  });

  it("Resize linear and cubic stay within their measured bounds", () => {
    const r = rng(5);
    const bounds: Record<string, Record<string, number>> = {
      int8: { linear: 0.52, cubic: 0.56 },
      int4: { linear: 0.51, cubic: 0.51 },
      int16: { linear: 3.5, cubic: 25 },
    };
    for (const dtype of ["int8", "int4", "int16"] as DType[]) {
      for (const mode of ["linear", "cubic"]) {
        for (let trial = 0; trial < 6; trial++) {
          const x: Q = { codes: randomCodes(126, r, dtype), type: randomType(r, dtype, [1, 2, 7, 9]) };
          const scales = f32([4], [1, 1, 0.3 + r() * 3, 0.3 + r() * 3]);
          const attrs = { mode: str(mode), antialias: int(trial % 2) };
          const ins = [x, f32([0], []), scales];
          const y = runFloat("Resize", ins, { attrs });
          const err = lsbError(runInt("Resize", ins, x.type, { attrs }), y, x.type);
          expect([dtype, mode, err <= bounds[dtype]![mode]!]).toEqual([dtype, mode, true]);
        }
      }
    }
  });
});
