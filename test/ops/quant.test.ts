/**
 * Quantization ops: exact cases the ONNX conformance tests do not cover (rounding ties at float32
 * precision, per-axis and blocked parameters, int4 and int32 types, error paths).
 */
import { describe, expect, it } from "vitest";
import type { Attr, Node } from "../../ir/graph.js";
import { HwacError } from "../../ir/errors.js";
import { attrsOf, type OpDef } from "../../ir/op.js";
import { tensor, type Tensor } from "../../ir/tensor.js";
import { roundHalfEven } from "../../ir/kernels/quantize.js";
import { DequantizeLinear } from "../../ir/ops/DequantizeLinear.js";
import { DynamicQuantizeLinear } from "../../ir/ops/DynamicQuantizeLinear.js";
import { QuantizeLinear } from "../../ir/ops/QuantizeLinear.js";
import type { DType, TensorData } from "../../ir/dtype.js";

const int = (value: number): Attr => ({ kind: "int", value });

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
    const [y] = run(QuantizeLinear, [t("float32", [1], [0.7]), t("float32", [], [0.2]), t("int8", [], [0])]);
    expect(values(y!)).toEqual([4]);
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
