/**
 * Elementwise ops: exact cases the ONNX conformance tests do not cover — integer wrap-around and
 * truncation, int64 beyond 2^53, float16/bfloat16 rounding, Cast between every kind of type,
 * broadcasting (symbolic type rule and every evaluation path), attributes' defaults and the
 * older Clip form, and Erf's accuracy.
 */
import { describe, expect, it } from "vitest";
import { HwacError } from "../../ir/errors.js";
import type { Attr, Dim, Node, TensorType } from "../../ir/graph.js";
import { attrsOf, type OpDef } from "../../ir/op.js";
import { f32, tensor, type Tensor } from "../../ir/tensor.js";
import type { DType } from "../../ir/dtype.js";
import { broadcastDims, broadcastPlan, broadcastsTo, broadcastShapes } from "../../ir/kernels/broadcast.js";
import { Abs } from "../../ir/ops/Abs.js";
import { Add } from "../../ir/ops/Add.js";
import { And } from "../../ir/ops/And.js";
import { Cast, formatFloat } from "../../ir/ops/Cast.js";
import { CastLike } from "../../ir/ops/CastLike.js";
import { Clip } from "../../ir/ops/Clip.js";
import { Div } from "../../ir/ops/Div.js";
import { Elu } from "../../ir/ops/Elu.js";
import { Equal } from "../../ir/ops/Equal.js";
import { erf } from "../../ir/ops/Erf.js";
import { Gelu } from "../../ir/ops/Gelu.js";
import { Greater } from "../../ir/ops/Greater.js";
import { HardSigmoid } from "../../ir/ops/HardSigmoid.js";
import { HardSwish } from "../../ir/ops/HardSwish.js";
import { Identity } from "../../ir/ops/Identity.js";
import { LeakyRelu } from "../../ir/ops/LeakyRelu.js";
import { Less } from "../../ir/ops/Less.js";
import { Max } from "../../ir/ops/Max.js";
import { Min } from "../../ir/ops/Min.js";
import { Mish } from "../../ir/ops/Mish.js";
import { Mul } from "../../ir/ops/Mul.js";
import { Neg } from "../../ir/ops/Neg.js";
import { Not } from "../../ir/ops/Not.js";
import { Or } from "../../ir/ops/Or.js";
import { Pow } from "../../ir/ops/Pow.js";
import { PRelu } from "../../ir/ops/PRelu.js";
import { Relu } from "../../ir/ops/Relu.js";
import { Sigmoid } from "../../ir/ops/Sigmoid.js";
import { Softplus } from "../../ir/ops/Softplus.js";
import { Sub } from "../../ir/ops/Sub.js";
import { Sum } from "../../ir/ops/Sum.js";
import { Where } from "../../ir/ops/Where.js";

const int = (value: number): Attr => ({ kind: "int", value });
const float = (value: number): Attr => ({ kind: "float", value });
const str = (value: string): Attr => ({ kind: "string", value });

interface Call {
  attrs?: Record<string, Attr>;
  opset?: number;
}

function nodeOf(def: OpDef, nInputs: number, attrs: Record<string, Attr> = {}): Node {
  const inputs = Array.from({ length: nInputs }, (_, i) => `in${i}`);
  return { op: def.op, domain: "", name: "n0", inputs, outputs: ["out0"], attrs };
}

function run(def: OpDef, inputs: (Tensor | undefined)[], c: Call = {}): Tensor {
  const node = nodeOf(def, inputs.length, c.attrs);
  const noSubgraphs = (): never => {
    throw new Error("no subgraphs here");
  };
  return def.run(inputs, { node, attrs: attrsOf(node), opset: c.opset ?? 21, runSubgraph: noSubgraphs })[0]!;
}

function infer(def: OpDef, inputs: (TensorType | undefined)[], c: Call = {}): TensorType {
  const node = nodeOf(def, inputs.length, c.attrs);
  const noSubgraphs = (): never => {
    throw new Error("no subgraphs here");
  };
  return def.inferTypes({
    node,
    attrs: attrsOf(node),
    inputs,
    consts: inputs.map(() => undefined),
    opset: c.opset ?? 21,
    inferSubgraph: noSubgraphs,
  })[0]!;
}

function t(dtype: DType, shape: number[], values: ArrayLike<number>): Tensor {
  const x = tensor(dtype, shape);
  (x.data as Float32Array).set(values);
  return x;
}

const big = (dtype: "int64" | "uint64", values: bigint[]): Tensor =>
  tensor(dtype, [values.length], dtype === "int64" ? BigInt64Array.from(values) : BigUint64Array.from(values));
const strs = (values: string[]): Tensor => tensor("string", [values.length], values);
const bools = (shape: number[], values: number[]): Tensor => tensor("bool", shape, Uint8Array.from(values));
const values = (x: Tensor): unknown[] => Array.from(x.data as ArrayLike<unknown>);
const type = (dtype: DType, shape: Dim[] | null): TensorType => ({ dtype, shape });

function hwacCode(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof HwacError) return e.code;
    throw e;
  }
  return undefined;
}

describe("broadcasting", () => {
  it("follows numpy for static shapes", () => {
    expect(broadcastShapes([[3, 4, 5], [5]])).toEqual([3, 4, 5]);
    expect(broadcastShapes([[2, 1, 4], [3, 1], []])).toEqual([2, 3, 4]);
    expect(broadcastShapes([[0, 1], [1, 5]])).toEqual([0, 5]);
    expect(broadcastShapes([[3, 4], [3]])).toBeUndefined();
  });

  it("keeps what is known about symbolic dims", () => {
    expect(broadcastDims([["batch", 1, 5], [1, "seq", 5]])).toEqual(["batch", "seq", 5]);
    expect(broadcastDims([["batch", 4], ["batch", 4]])).toEqual(["batch", 4]);
    expect(broadcastDims([["a"], ["b"]])).toEqual(["?"]);
    expect(broadcastDims([["?", 3], [7, 1]])).toEqual([7, 3]);
    expect(broadcastDims([["n", 3], null])).toBeNull();
    expect(broadcastDims([[2, "n"], [3, 1]])).toBeUndefined();
  });

  it("plans the longest rows every operand walks alike", () => {
    const plan = (shapes: number[][], out: number[]) => {
      const p = broadcastPlan(shapes, out);
      return { inner: p.inner, steps: p.steps, offsets: p.offsets.map((o) => Array.from(o)) };
    };
    expect(plan([[2, 3], [2, 3]], [2, 3])).toEqual({ inner: 6, steps: [1, 1], offsets: [[0], [0]] });
    expect(plan([[4, 5], []], [4, 5])).toEqual({ inner: 20, steps: [1, 0], offsets: [[0], [0]] });
    // A per-channel operand on NCHW: rows of H·W, the channel's value repeated along each.
    expect(plan([[2, 3, 4, 5], [1, 3, 1, 1]], [2, 3, 4, 5])).toEqual({
      inner: 20,
      steps: [1, 0],
      offsets: [[0, 20, 40, 60, 80, 100], [0, 1, 2, 0, 1, 2]],
    });
    expect(plan([[2, 1], [3]], [2, 3])).toEqual({ inner: 3, steps: [0, 1], offsets: [[0, 1], [0, 0]] });
    expect(plan([[3, 1, 2], [1, 4, 1]], [3, 4, 2])).toEqual({
      inner: 2,
      steps: [1, 0],
      offsets: [[0, 0, 0, 0, 2, 2, 2, 2, 4, 4, 4, 4], [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]],
    });
    expect(plan([[0, 3], [3]], [0, 3]).offsets).toEqual([[], []]);
  });

  it("tells unidirectional broadcasts apart", () => {
    expect(broadcastsTo([3, 1, 1], [2, 3, 4, 5])).toBe(true);
    expect(broadcastsTo([2, 3, 4, 5], [3, 1, 1])).toBe(false);
    expect(broadcastsTo([4], [4, 1])).toBe(false);
  });

  it("evaluates every operand layout alike", () => {
    const a = f32([2, 3], [1, 2, 3, 4, 5, 6]);
    expect(values(run(Sub, [a, f32([2, 3], [1, 1, 1, 1, 1, 1])]))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(values(run(Sub, [a, f32([], [1])]))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(values(run(Sub, [f32([1], [10]), a]))).toEqual([9, 8, 7, 6, 5, 4]);
    expect(values(run(Sub, [a, f32([2, 1], [1, 2])]))).toEqual([0, 1, 2, 2, 3, 4]);
    const outer = run(Sub, [f32([2, 1], [10, 20]), f32([3], [1, 2, 3])]);
    expect(outer.shape).toEqual([2, 3]);
    expect(values(outer)).toEqual([9, 8, 7, 19, 18, 17]);
  });

  it("rejects shapes that do not broadcast, naming them", () => {
    expect(() => run(Add, [f32([2, 3], [1, 2, 3, 4, 5, 6]), f32([2], [1, 2])])).toThrow(/\[2,3\], \[2\]/);
    expect(hwacCode(() => infer(Add, [type("float32", [2, 3]), type("float32", [4])]))).toBe("HW2020");
  });
});

describe("type rules", () => {
  it("broadcasts symbolic shapes and gives comparisons bool", () => {
    expect(infer(Add, [type("float32", ["N", 3, 1]), type("float32", [1, 4])])).toEqual(type("float32", ["N", 3, 4]));
    expect(infer(Less, [type("int64", ["N"]), type("int64", [])])).toEqual(type("bool", ["N"]));
    expect(infer(Where, [type("bool", [2, 1]), type("string", [3]), type("string", ["?", 1])])).toEqual(
      type("string", [2, 3]),
    );
    expect(infer(Max, [type("int8", [1]), type("int8", null), type("int8", [3])])).toEqual(type("int8", null));
  });

  it("checks element types", () => {
    expect(hwacCode(() => infer(Add, [type("float32", [1]), type("float16", [1])]))).toBe("HW2020");
    expect(hwacCode(() => infer(Sigmoid, [type("int32", [1])]))).toBe("HW2020");
    expect(hwacCode(() => infer(And, [type("float32", [1]), type("float32", [1])]))).toBe("HW2020");
    expect(infer(Pow, [type("float32", [2]), type("int64", [])])).toEqual(type("float32", [2]));
  });

  it("keeps PRelu's output at x's shape", () => {
    expect(infer(PRelu, [type("float32", ["N", 3, 4]), type("float32", [3, 1])])).toEqual(type("float32", ["N", 3, 4]));
    expect(hwacCode(() => infer(PRelu, [type("float32", [3, 1]), type("float32", [3, 4])]))).toBe("HW2020");
  });

  it("takes Cast's type from `to` and CastLike's from its second input", () => {
    expect(infer(Cast, [type("float32", ["N"])], { attrs: { to: int(7) } })).toEqual(type("int64", ["N"]));
    expect(infer(CastLike, [type("float32", [2]), type("float16", [])])).toEqual(type("float16", [2]));
    expect(hwacCode(() => infer(Cast, [type("float32", [2])], { attrs: { to: int(17) } }))).toBe("HW2020");
  });
});

describe("integer arithmetic", () => {
  it("wraps to the element type like C", () => {
    expect(values(run(Add, [t("int8", [2], [100, -100]), t("int8", [2], [100, -100])]))).toEqual([-56, 56]);
    expect(values(run(Add, [t("uint8", [1], [200]), t("uint8", [1], [100])]))).toEqual([44]);
    expect(values(run(Sub, [t("uint16", [1], [1]), t("uint16", [1], [2])]))).toEqual([65535]);
    expect(values(run(Neg, [t("int8", [2], [-128, 5])]))).toEqual([-128, -5]);
    expect(values(run(Abs, [t("int16", [1], [-32768])]))).toEqual([-32768]);
  });

  it("keeps every bit of 32-bit products", () => {
    // 2147483647² needs 62 bits: float64 would lose the low ones.
    expect(values(run(Mul, [t("int32", [1], [2147483647]), t("int32", [1], [2147483647])]))).toEqual([1]);
    expect(values(run(Mul, [t("uint32", [1], [4294967295]), t("uint32", [1], [3])]))).toEqual([4294967293]);
  });

  it("truncates division toward zero; dividing by zero gives 0", () => {
    expect(values(run(Div, [t("int32", [4], [-7, 7, 7, 0]), t("int32", [4], [2, -2, 0, 0])]))).toEqual([-3, -3, 0, 0]);
    expect(values(run(Div, [big("int64", [-7n, 5n]), big("int64", [2n, 0n])]))).toEqual([-3n, 0n]);
  });

  it("raises integers to integer powers with wrap-around", () => {
    expect(values(run(Pow, [t("int32", [3], [3, 2, -2]), t("int32", [3], [4, 31, 3])]))).toEqual([81, -2147483648, -8]);
    expect(values(run(Pow, [t("int32", [2], [2, 9]), f32([2], [-1, 0.5])]))).toEqual([0, 3]);
    // 3^40 = 12157665459056928801 > 2^63.
    expect(values(run(Pow, [big("int64", [3n, -1n, 2n]), big("int64", [40n, -3n, -1n])]))).toEqual([
      12157665459056928801n - 2n ** 64n,
      -1n,
      0n,
    ]);
  });

  it("computes int64 exactly beyond 2^53", () => {
    const x = big("int64", [2n ** 53n + 1n, 9223372036854775807n]);
    expect(values(run(Add, [x, big("int64", [2n, 1n])]))).toEqual([2n ** 53n + 3n, -9223372036854775808n]);
    expect(values(run(Greater, [x, big("int64", [2n ** 53n, 9223372036854775806n])]))).toEqual([1, 1]);
    expect(values(run(Max, [x, big("int64", [2n ** 53n + 2n, 0n])]))).toEqual([2n ** 53n + 2n, 9223372036854775807n]);
    expect(values(run(Relu, [big("int64", [-5n, 7n])]))).toEqual([0n, 7n]);
  });
});

describe("float16 and bfloat16", () => {
  it("round every result to the element type", () => {
    // float16 has 10 fraction bits: 1 + 2^-11 is a tie and rounds to even (1).
    expect(values(run(Add, [t("float16", [2], [1, 1]), t("float16", [2], [2 ** -11, 3 * 2 ** -11])]))).toEqual([
      1,
      1 + 2 ** -9,
    ]);
    expect(values(run(Mul, [t("bfloat16", [1], [3]), t("bfloat16", [1], [1 / 3])]))).toEqual([1]);
    expect(values(run(Sigmoid, [t("float16", [1], [1])]))).toEqual([0.73095703125]);
  });
});

describe("activations", () => {
  it("use their attribute defaults", () => {
    const x = f32([3], [-2, 0, 3]);
    expect(values(run(LeakyRelu, [x]))).toEqual([Math.fround(-0.02), 0, 3]);
    expect(values(run(LeakyRelu, [x], { attrs: { alpha: float(0.5) } }))).toEqual([-1, 0, 3]);
    expect(values(run(Elu, [x]))).toEqual([Math.fround(Math.expm1(-2)), 0, 3]);
    expect(values(run(Elu, [x], { attrs: { alpha: float(2) } }))).toEqual([Math.fround(2 * Math.expm1(-2)), 0, 3]);
    expect(values(run(HardSigmoid, [x]))).toEqual([Math.fround(0.1), 0.5, 1]);
    expect(values(run(HardSigmoid, [x], { attrs: { alpha: float(0.25), beta: float(0.25) } }))).toEqual([0, 0.25, 1]);
    expect(values(run(HardSwish, [f32([4], [-4, -1.5, 1.5, 4])]))).toEqual([-0, -0.375, 1.125, 4]);
  });

  it("stay finite and exact at the extremes", () => {
    const x = f32([3], [-1000, 0, 1000]);
    expect(values(run(Sigmoid, [x]))).toEqual([0, 0.5, 1]);
    expect(values(run(Softplus, [x]))).toEqual([0, Math.fround(Math.LN2), 1000]);
    expect(values(run(Mish, [x]))).toEqual([-0, 0, 1000]);
    expect(values(run(Relu, [f32([2], [NaN, -1])]))).toEqual([NaN, 0]);
  });

  it("computes Gelu exactly or with the tanh approximation", () => {
    const x = f32([2], [1, -2]);
    const exact = [0.5 * (1 + erf(Math.SQRT1_2)), -(1 + erf(-Math.SQRT2))].map(Math.fround);
    expect(values(run(Gelu, [x]))).toEqual(exact);
    const k = Math.sqrt(2 / Math.PI);
    const tanh = [0.5 * (1 + Math.tanh(k * 1.044715)), -(1 + Math.tanh(k * (-2 - 0.35772)))].map(Math.fround);
    expect(values(run(Gelu, [x], { attrs: { approximate: str("tanh") } }))).toEqual(tanh);
    expect(hwacCode(() => run(Gelu, [x], { attrs: { approximate: str("erf") } }))).toBe("HW2020");
  });

  it("broadcasts PRelu's slope per channel", () => {
    const x = f32([1, 2, 2], [-1, 2, -3, 4]);
    expect(values(run(PRelu, [x, f32([2, 1], [0.5, 2])]))).toEqual([-0.5, 2, -6, 4]);
    expect(hwacCode(() => run(PRelu, [f32([2], [1, 2]), f32([2, 2], [1, 1, 1, 1])]))).toBe("HW3020");
  });
});

describe("Erf", () => {
  it("is accurate to float64 precision", () => {
    // Reference values from mpmath at 30 digits.
    const ref: [number, number][] = [
      [1e-10, 1.1283791670955126e-10],
      [0.1, 0.1124629160182849],
      [0.46875, 0.49261347321793797],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [3.5, 0.9999992569016276],
      [4.5, 0.9999999998033839],
      [5.5, 0.9999999999999927],
    ];
    for (const [x, y] of ref) {
      expect(Math.abs(erf(x) - y) / y).toBeLessThan(1e-15);
      expect(erf(-x)).toBe(-erf(x));
    }
    expect(erf(Infinity)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(erf(NaN)).toBeNaN();
  });
});

describe("Clip", () => {
  it("reads bounds from attributes before opset 11", () => {
    const x = f32([3], [-2, 0.5, 3]);
    expect(values(run(Clip, [x], { opset: 6, attrs: { min: float(-1), max: float(1) } }))).toEqual([-1, 0.5, 1]);
    expect(values(run(Clip, [f32([1], [Infinity])], { opset: 6 }))).toEqual([Math.fround(3.4028234663852886e38)]);
  });

  it("reads optional scalar bounds from inputs since opset 11", () => {
    const x = t("int32", [3], [-5, 0, 5]);
    expect(values(run(Clip, [x, undefined, t("int32", [], [2])]))).toEqual([-5, 0, 2]);
    expect(values(run(Clip, [x, t("int32", [], [3]), t("int32", [], [1])]))).toEqual([1, 1, 1]);
    const y = big("int64", [-(2n ** 62n), 2n ** 62n]);
    const lo = tensor("int64", [], BigInt64Array.of(2n ** 53n + 1n));
    expect(values(run(Clip, [y, lo]))).toEqual([2n ** 53n + 1n, 2n ** 62n]);
    expect(hwacCode(() => run(Clip, [x, t("int32", [2], [0, 1])]))).toBe("HW2020");
    expect(hwacCode(() => run(Clip, [x, f32([], [0])]))).toBe("HW2020");
  });
});

describe("logic, comparison and selection", () => {
  it("combines booleans", () => {
    const a = bools([4], [0, 0, 1, 1]);
    const b = bools([4], [0, 1, 0, 1]);
    expect(values(run(And, [a, b]))).toEqual([0, 0, 0, 1]);
    expect(values(run(Or, [a, b]))).toEqual([0, 1, 1, 1]);
    expect(values(run(Not, [a]))).toEqual([1, 1, 0, 0]);
  });

  it("compares numbers, strings and NaN", () => {
    expect(values(run(Equal, [strs(["a", "b"]), strs(["a", "c"])]))).toEqual([1, 0]);
    expect(values(run(Equal, [f32([2], [NaN, 0]), f32([2], [NaN, -0])]))).toEqual([0, 1]);
    expect(run(Less, [f32([2], [1, 2]), f32([], [1.5])]).dtype).toBe("bool");
  });

  it("selects among three broadcast inputs of any type", () => {
    const c = bools([2, 1], [1, 0]);
    expect(values(run(Where, [c, strs(["x", "y"]), tensor("string", [], ["-"])]))).toEqual(["x", "y", "-", "-"]);
    const picked = run(Where, [c, big("int64", [2n ** 60n]), big("int64", [1n, 2n])]);
    expect(values(picked)).toEqual([2n ** 60n, 2n ** 60n, 1n, 2n]);
  });

  it("folds Max, Min and Sum over broadcast inputs", () => {
    const a = f32([3], [1, 5, NaN]);
    const b = f32([2, 1], [2, 4]);
    expect(values(run(Max, [a, b])).map(String)).toEqual(["2", "5", "NaN", "4", "5", "NaN"]);
    expect(values(run(Min, [a, b, f32([], [3])])).map(String)).toEqual(["1", "2", "NaN", "1", "3", "NaN"]);
    expect(values(run(Sum, [f32([2], [1, 2]), f32([], [10]), f32([2, 1], [100, 200])]))).toEqual([111, 112, 211, 212]);
    const one = f32([2], [1, 2]);
    expect(run(Sum, [one])).toBe(one);
  });
});

describe("Cast", () => {
  const cast = (x: Tensor, to: number): Tensor => run(Cast, [x], { attrs: { to: int(to) } });
  const FLOAT = 1, UINT8 = 2, INT8 = 3, INT32 = 6, INT64 = 7, STRING = 8, BOOL = 9, FLOAT16 = 10, DOUBLE = 11;
  const UINT64 = 13, BFLOAT16 = 16, UINT4 = 21, INT4 = 22;

  it("truncates floats toward zero, then wraps to the integer type", () => {
    const x = f32([6], [300.7, -1.5, -129, NaN, Infinity, 2.9]);
    expect(values(cast(x, INT8))).toEqual([44, -1, 127, 0, 0, 2]);
    expect(values(cast(x, UINT8))).toEqual([44, 255, 127, 0, 0, 2]);
    expect(values(cast(x, INT4))).toEqual([-4, -1, -1, 0, 0, 2]);
    expect(values(cast(x, UINT4))).toEqual([12, 15, 15, 0, 0, 2]);
    expect(values(cast(x, INT64))).toEqual([300n, -1n, -129n, 0n, 0n, 2n]);
  });

  it("keeps the low bits between integer types", () => {
    expect(values(cast(big("int64", [2n ** 32n + 5n, -1n, 2n ** 40n + 200n]), INT32))).toEqual([5, -1, 200]);
    expect(values(cast(big("int64", [2n ** 40n + 200n]), INT8))).toEqual([-56]);
    expect(values(cast(big("int64", [-1n]), UINT64))).toEqual([2n ** 64n - 1n]);
    expect(values(cast(t("int32", [2], [-1, 300]), UINT8))).toEqual([255, 44]);
    expect(values(cast(t("int4", [2], [-8, 7]), INT64))).toEqual([-8n, 7n]);
  });

  it("rounds to nearest even into narrower floats", () => {
    expect(values(cast(f32([2], [0.1, 65520]), FLOAT16))).toEqual([0.0999755859375, Infinity]);
    // 1 + 2^-8 lies halfway between two bfloat16 values; 1 + 3·2^-8 too.
    expect(values(cast(f32([2], [1 + 2 ** -8, 1 + 3 * 2 ** -8]), BFLOAT16))).toEqual([1, 1 + 2 ** -6]);
    expect(values(cast(t("float64", [1], [0.1]), FLOAT))).toEqual([Math.fround(0.1)]);
    expect(values(cast(big("int64", [2n ** 53n + 1n]), DOUBLE))).toEqual([2 ** 53]);
  });

  it("maps to and from bool", () => {
    expect(values(cast(f32([4], [0, -0, NaN, -3]), BOOL))).toEqual([0, 0, 1, 1]);
    expect(values(cast(big("int64", [0n, 2n ** 40n]), BOOL))).toEqual([0, 1]);
    expect(values(cast(bools([2], [1, 0]), FLOAT))).toEqual([1, 0]);
  });

  it("prints numbers as numpy does", () => {
    const x = f32([8], [0.1, 1e-7, 100, -2.5, 123456.789, 1e20, NaN, -Infinity]);
    expect(values(cast(x, STRING))).toEqual([
      "0.1", "1e-07", "100.0", "-2.5", "123456.79", "1e+20", "nan", "-inf",
    ]);
    expect(values(cast(big("int64", [-(2n ** 63n)]), STRING))).toEqual(["-9223372036854775808"]);
    expect(values(cast(bools([2], [1, 0]), STRING))).toEqual(["True", "False"]);
    expect(formatFloat(1.5e16, "float64")).toBe("1.5e+16");
    expect(formatFloat(0.0001, "float64")).toBe("0.0001");
    expect(formatFloat(-0, "float32")).toBe("-0.0");
  });

  it("parses numeric strings, including INF and NaN in any case", () => {
    const s = strs(["1e-5", " -2.5 ", "INF", "-inf", "+Inf", "nan", "1E8"]);
    expect(values(cast(s, FLOAT)).map(String)).toEqual([
      String(Math.fround(1e-5)), "-2.5", "Infinity", "-Infinity", "Infinity", "NaN", "100000000",
    ]);
    expect(values(cast(strs(["9007199254740993", "-7", "100.5"]), INT64))).toEqual([9007199254740993n, -7n, 100n]);
    expect(values(cast(strs(["100.5"]), INT32))).toEqual([100]);
    expect(hwacCode(() => cast(strs(["Hello"]), FLOAT))).toBe("HW3030");
  });

  it("casts like the second input, and is the identity on the same type", () => {
    const x = f32([2], [1.5, -1.5]);
    expect(run(CastLike, [x, t("int32", [], [0])])).toEqual(t("int32", [2], [1, -1]));
    expect(cast(x, FLOAT)).toBe(x);
    expect(run(Identity, [x])).toBe(x);
  });
});
