/**
 * Quantization ops: exact cases the ONNX conformance tests do not cover (rounding ties at float32
 * precision, per-axis and blocked parameters, int4 and int32 types, error paths).
 */
import { describe, expect, it } from "vitest";
import type { Attr, Node } from "../../ir/graph.js";
import { HwacError } from "../../ir/errors.js";
import { attrsOf, type OpDef } from "../../ir/op.js";
import { tensor, type Tensor } from "../../ir/tensor.js";
import { roundHalfEven } from "../../ir/numeric.js";
import { ConvInteger } from "../../ir/ops/ConvInteger.js";
import { DequantizeLinear } from "../../ir/ops/DequantizeLinear.js";
import { DynamicQuantizeLinear } from "../../ir/ops/DynamicQuantizeLinear.js";
import { MatMulInteger } from "../../ir/ops/MatMulInteger.js";
import { QLinearConv } from "../../ir/ops/QLinearConv.js";
import { QLinearMatMul } from "../../ir/ops/QLinearMatMul.js";
import { QuantizeLinear } from "../../ir/ops/QuantizeLinear.js";
import type { DType, TensorData } from "../../ir/dtype.js";

const int = (value: number): Attr => ({ kind: "int", value });
const ints = (value: number[]): Attr => ({ kind: "ints", value });

function run(def: OpDef, inputs: (Tensor | undefined)[], attrs: Record<string, Attr> = {}): Tensor[] {
  const node: Node = {
    op: def.op,
    domain: "",
    name: "n0",
    inputs: inputs.map((t, i) => (t ? `in${i}` : "")),
    outputs: ["y"],
    attrs,
  };
  return def.run(inputs, {
    node,
    attrs: attrsOf(node),
    opset: 21,
    runSubgraph: () => {
      throw new Error("no subgraphs here");
    },
  });
}

function t(dtype: DType, shape: number[], values: number[]): Tensor {
  const data = tensor(dtype, shape).data as Exclude<TensorData, string[] | BigInt64Array | BigUint64Array>;
  data.set(values);
  return tensor(dtype, shape, data);
}

const values = (x: Tensor): number[] => Array.from(x.data as ArrayLike<number>);

describe("roundHalfEven", () => {
  it("rounds ties to the even neighbour", () => {
    const xs = [-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 2.4999999, -2.5000001];
    expect(xs.map((x) => roundHalfEven(x) + 0)).toEqual([-4, -2, -2, 0, 0, 2, 2, 4, 2, -3]);
  });
});

describe("QuantizeLinear", () => {
  it("rounds half to even and saturates (per tensor, uint8)", () => {
    const [y] = run(QuantizeLinear, [t("float32", [6], [0, 2, 3, 1000, -254, -1000]), t("float32", [], [2]), t("uint8", [], [128])]);
    expect(y!.dtype).toBe("uint8");
    expect(values(y!)).toEqual([128, 129, 130, 255, 1, 0]);
  });

  it("divides in the scale's float32 precision: 0.7f / 0.2f is the tie 3.5f, not 3.4999999 → 4", () => {
    const inputs = [t("float32", [1], [0.7]), t("float32", [], [0.2]), t("int8", [], [0])];
    expect(values(run(QuantizeLinear, inputs)[0]!)).toEqual([4]);
    // precision (opset 23) overrides the scale's type: in float64 the quotient is below 3.5.
    expect(values(run(QuantizeLinear, inputs, { precision: int(11) })[0]!)).toEqual([3]);
  });

  it("quantizes per axis with per-channel zero points (int8)", () => {
    const x = t("float32", [2, 3], [1, 2, 4, -3, -5, 9]);
    const [y] = run(QuantizeLinear, [x, t("float32", [3], [1, 2, 4]), t("int8", [3], [0, 1, -1])], { axis: int(-1) });
    expect(values(y!)).toEqual([1, 2, 0, -3, -1, 1]);
  });

  it("quantizes per block to int4 named by output_dtype, saturating to [-8, 7]", () => {
    const x = t("float32", [2, 4], [1, -3, 4, 5, 7, 8, -40, 100]);
    const scale = t("float32", [2, 2], [1, 2, 4, 8]);
    const [y] = run(QuantizeLinear, [x, scale], { axis: int(1), block_size: int(2), output_dtype: int(22) });
    expect(y!.dtype).toBe("int4");
    expect(values(y!)).toEqual([1, -3, 2, 2, 2, 2, -5, 7]);
  });

  it("handles a last block shorter than block_size (uint8 by default)", () => {
    const [y] = run(QuantizeLinear, [t("float32", [1, 3], [3, 3, 3]), t("float32", [1, 2], [1, 2])], {
      axis: int(1),
      block_size: int(2),
    });
    expect(values(y!)).toEqual([3, 3, 2]);
  });

  it("maps NaN to the zero point and infinities to the range ends", () => {
    const [y] = run(QuantizeLinear, [t("float32", [3], [NaN, Infinity, -Infinity]), t("float32", [], [1]), t("int16", [], [5])]);
    expect(values(y!)).toEqual([5, 32767, -32768]);
  });

  it("rejects float8 targets and mismatched parameters", () => {
    const x = t("float32", [2, 2], [0, 1, 2, 3]);
    const s = t("float32", [], [1]);
    expect(() => run(QuantizeLinear, [x, s], { output_dtype: int(17) })).toThrow(/FLOAT8E4M3FN is not supported/);
    expect(() => run(QuantizeLinear, [x, s, t("int8", [], [0])], { output_dtype: int(2) })).toThrow(/does not match/);
    expect(() => run(QuantizeLinear, [x, t("float32", [3], [1, 1, 1])], { axis: int(1) })).toThrow(HwacError);
    expect(() => run(QuantizeLinear, [x, t("float32", [2, 2], [1, 1, 1, 1])], { block_size: int(1) })).not.toThrow();
    expect(() => run(QuantizeLinear, [x, t("float32", [2, 2], [1, 1, 1, 1])], { block_size: int(2) })).toThrow(/must have shape \[2,1\]/);
  });
});

describe("DequantizeLinear", () => {
  it("dequantizes int32 in float32 arithmetic, as the ONNX reference does", () => {
    const [y] = run(DequantizeLinear, [t("int32", [3], [-2147483648, 2147483647, 3]), t("float32", [], [0.5])]);
    expect(y!.dtype).toBe("float32");
    expect(values(y!)).toEqual([-1073741824, 1073741824, 1.5]);
  });

  it("dequantizes unpacked uint4 per axis", () => {
    const x = t("uint4", [2, 2], [15, 0, 8, 3]);
    const [y] = run(DequantizeLinear, [x, t("float32", [2], [0.5, 2]), t("uint4", [2], [8, 1])], { axis: int(0) });
    expect(values(y!)).toEqual([3.5, -4, 14, 4]);
  });

  it("dequantizes per block and writes the output_dtype type", () => {
    const x = t("int8", [1, 4], [1, 2, 3, -4]);
    const [y] = run(DequantizeLinear, [x, t("float32", [1, 2], [0.25, 1000.5]), t("int8", [1, 2], [0, 1])], {
      block_size: int(2),
      output_dtype: int(10),
    });
    expect(y!.dtype).toBe("float16");
    // float16 values above 4096 are 4 apart: -5002.5 becomes -5004.
    expect(values(y!)).toEqual([0.25, 0.5, 2001, -5004]);
  });

  it("requires the zero point to have x's type", () => {
    expect(() => run(DequantizeLinear, [t("int8", [1], [1]), t("float32", [], [1]), t("uint8", [], [1])])).toThrow(/x's type int8/);
  });
});

describe("DynamicQuantizeLinear", () => {
  it("widens the range to 0 and rounds the zero point", () => {
    const [y, scale, zp] = run(DynamicQuantizeLinear, [t("float32", [6], [0, 2, -3, -2.5, 1.34, 0.5])]);
    expect(scale!.data[0]).toBe(Math.fround(5 / 255));
    expect(zp!.data[0]).toBe(153);
    expect(values(y!)).toEqual([153, 255, 0, 26, 221, 179]);
  });

  it("uses scale 1 and zero point 0 for an all-zero input", () => {
    const [y, scale, zp] = run(DynamicQuantizeLinear, [t("float32", [2], [0, 0])]);
    expect([scale!.data[0], zp!.data[0], ...values(y!)]).toEqual([1, 0, 0, 0]);
  });
});

describe("MatMulInteger", () => {
  it("subtracts per-row zero points of A and per-column zero points of B", () => {
    const a = t("uint8", [2, 2], [1, 2, 3, 4]);
    const b = t("uint8", [2, 2], [5, 9, 7, 8]);
    const [y] = run(MatMulInteger, [a, b, t("uint8", [2], [1, 2]), t("uint8", [2], [5, 6])]);
    // (A − za) = [[0, 1], [1, 2]], (B − zb) = [[0, 3], [2, 2]]
    expect(y!.dtype).toBe("int32");
    expect(values(y!)).toEqual([2, 2, 4, 7]);
  });

  it("takes one zero point per batch row in the [...batch, M, 1] form", () => {
    const a = t("uint8", [2, 1, 2], [3, 4, 5, 6]);
    const [y] = run(MatMulInteger, [a, t("uint8", [2, 1], [1, 10]), t("uint8", [2, 1, 1], [1, 2])]);
    expect(y!.shape).toEqual([2, 1, 1]);
    expect(values(y!)).toEqual([32, 43]);
  });

  it("wraps the int32 accumulator like int32 hardware", () => {
    // 33026 products of (255 − 0)·(−128 − 127) sum to −2147515650, just below −2^31.
    const k = 33026;
    const a = t("uint8", [1, k], new Array<number>(k).fill(255));
    const b = t("int8", [k, 1], new Array<number>(k).fill(-128));
    const [y] = run(MatMulInteger, [a, b, undefined, t("int8", [], [127])]);
    expect(values(y!)).toEqual([2147451646]);
  });

  it("rejects 32-bit operands and a zero point of the wrong shape", () => {
    const a = t("uint8", [2, 2], [1, 2, 3, 4]);
    expect(() => run(MatMulInteger, [t("int32", [2, 2], [1, 2, 3, 4]), a])).toThrow(/at most 16 bits/);
    expect(() => run(MatMulInteger, [a, a, t("uint8", [3], [1, 2, 3])])).toThrow(/one per row: \[2\] or \[2,1\]/);
  });
});

describe("QLinearMatMul", () => {
  it("requantizes with per-column scales of b, rounding ties to even and saturating", () => {
    const a = t("uint8", [1, 2], [5, 7]);
    const b = t("uint8", [2, 3], [1, 0, 200, 0, 1, 200]);
    const inputs = [a, t("float32", [], [0.5]), t("uint8", [], [0]), b, t("float32", [3], [1, 1, 1]), t("uint8", [3], [0, 0, 0])];
    const [y] = run(QLinearMatMul, [...inputs, t("float32", [], [1]), t("uint8", [], [100])]);
    // acc = [5, 7, 2400]; ·0.5 = [2.5, 3.5, 1200] → [2, 4, 1200] + 100, saturated to 255.
    expect(values(y!)).toEqual([102, 104, 255]);
  });

  it("applies a per-row scale of a and a per-column scale of b to each output", () => {
    const a = t("int8", [2, 1], [10, 10]);
    const b = t("int8", [1, 2], [4, 4]);
    const [y] = run(QLinearMatMul, [
      a, t("float32", [2], [1, 0.5]), t("int8", [2], [0, 0]),
      b, t("float32", [2], [1, 0.25]), t("int8", [2], [0, 0]),
      t("float32", [], [1]), t("int8", [], [0]),
    ]);
    // acc = 40 everywhere; multipliers [[1, 0.25], [0.5, 0.125]].
    expect(values(y!)).toEqual([40, 10, 20, 5]);
  });

  it("infers the product's shape with symbolic batch dims", () => {
    const node: Node = { op: "QLinearMatMul", domain: "", name: "q", inputs: [], outputs: ["y"], attrs: {} };
    const s = { dtype: "float32" as const, shape: [] };
    const [ty] = QLinearMatMul.inferTypes({
      node,
      attrs: attrsOf(node),
      opset: 21,
      inputs: [{ dtype: "int8", shape: ["batch", 2, 4] }, s, { dtype: "int8", shape: [] }, { dtype: "int8", shape: [4, 3] }, s, { dtype: "int8", shape: [] }, s, { dtype: "uint8", shape: [] }],
      consts: [],
      inferSubgraph: () => [],
    });
    expect(ty).toEqual({ dtype: "uint8", shape: ["batch", 2, 3] });
  });
});

describe("ConvInteger", () => {
  it("pads with x's zero point and subtracts w's", () => {
    const x = t("uint8", [1, 1, 2, 2], [5, 6, 7, 8]);
    const w = t("uint8", [1, 1, 2, 2], [3, 3, 3, 3]);
    const [y] = run(ConvInteger, [x, w, t("uint8", [], [5]), t("uint8", [1], [2])], { pads: ints([1, 1, 1, 1]), strides: ints([2, 2]) });
    // Each stride-2 window sees one input element; the padding contributes (5 − 5)·1 = 0.
    expect(y!.shape).toEqual([1, 1, 2, 2]);
    expect(values(y!)).toEqual([0, 1, 2, 3]);
  });

  it("rejects a zero point per input channel", () => {
    const x = t("uint8", [1, 2, 1, 1], [1, 2]);
    const w = t("uint8", [1, 2, 1, 1], [1, 1]);
    expect(() => run(ConvInteger, [x, w, t("uint8", [2], [0, 0])])).toThrow(/x_zero_point must be a scalar/);
  });
});

describe("QLinearConv", () => {
  it("adds the int32 bias and requantizes per output channel", () => {
    const x = t("uint8", [1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const w = t("uint8", [2, 1, 2, 2], [1, 1, 1, 1, 2, 1, 1, 0]);
    const [y] = run(QLinearConv, [
      x, t("float32", [], [0.5]), t("uint8", [], [1]),
      w, t("float32", [2], [1, 0.5]), t("uint8", [2], [0, 1]),
      t("float32", [], [2]), t("uint8", [], [10]),
      t("int32", [2], [5, 100]),
    ]);
    // acc + B: channel 0 [13, 17, 25, 29] · 0.25; channel 1 [96, 96, 96, 96] · 0.125.
    expect(values(y!)).toEqual([13, 14, 16, 17, 22, 22, 22, 22]);
  });

  it("rejects a w_scale that is neither per tensor nor per output channel", () => {
    const x = t("uint8", [1, 1, 1, 1], [1]);
    const w = t("uint8", [2, 1, 1, 1], [1, 1]);
    const s = t("float32", [], [1]);
    const z = t("uint8", [], [0]);
    expect(() => run(QLinearConv, [x, s, z, w, t("float32", [3], [1, 1, 1]), undefined, s, z])).toThrow(/one entry per output channel, \[2\]/);
  });
});
