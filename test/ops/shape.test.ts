/**
 * Shape and data-movement ops: exact cases the ONNX conformance tests do not cover — every
 * element type (int64, strings), the older opset forms (attributes that became inputs),
 * Slice's clamping at the int64 extremes, all Pad modes, and the static shape rules.
 */
import { describe, expect, it } from "vitest";
import { HwacError } from "../../ir/errors.js";
import type { Attr, Node, TensorType } from "../../ir/graph.js";
import { attrsOf, type OpDef } from "../../ir/op.js";
import { f32, i64, scalar, tensor, type Tensor } from "../../ir/tensor.js";
import { ArgMax } from "../../ir/ops/ArgMax.js";
import { Concat } from "../../ir/ops/Concat.js";
import { Constant } from "../../ir/ops/Constant.js";
import { ConstantOfShape } from "../../ir/ops/ConstantOfShape.js";
import { Expand } from "../../ir/ops/Expand.js";
import { Flatten } from "../../ir/ops/Flatten.js";
import { Gather } from "../../ir/ops/Gather.js";
import { Pad } from "../../ir/ops/Pad.js";
import { Range } from "../../ir/ops/Range.js";
import { Reshape } from "../../ir/ops/Reshape.js";
import { Resize } from "../../ir/ops/Resize.js";
import { Shape } from "../../ir/ops/Shape.js";
import { Size } from "../../ir/ops/Size.js";
import { Slice } from "../../ir/ops/Slice.js";
import { Split } from "../../ir/ops/Split.js";
import { Squeeze } from "../../ir/ops/Squeeze.js";
import { Tile } from "../../ir/ops/Tile.js";
import { Transpose } from "../../ir/ops/Transpose.js";
import { Unsqueeze } from "../../ir/ops/Unsqueeze.js";

const int = (value: number): Attr => ({ kind: "int", value });
const ints = (value: number[]): Attr => ({ kind: "ints", value });
const float = (value: number): Attr => ({ kind: "float", value });
const str = (value: string): Attr => ({ kind: "string", value });

interface Call {
  attrs?: Record<string, Attr>;
  opset?: number;
  outputs?: number;
}

function nodeOf(def: OpDef, nInputs: number, c: Call): Node {
  const inputs = Array.from({ length: nInputs }, (_, i) => `in${i}`);
  const outputs = Array.from({ length: c.outputs ?? 1 }, (_, i) => `out${i}`);
  return { op: def.op, domain: "", name: "n0", inputs, outputs, attrs: c.attrs ?? {} };
}

function run(def: OpDef, inputs: (Tensor | undefined)[], c: Call = {}): Tensor[] {
  const node = nodeOf(def, inputs.length, c);
  return def.run(inputs, {
    node,
    attrs: attrsOf(node),
    opset: c.opset ?? 21,
    runSubgraph: () => {
      throw new Error("no subgraphs here");
    },
  });
}

function run1(def: OpDef, inputs: (Tensor | undefined)[], c: Call = {}): Tensor {
  return run(def, inputs, c)[0]!;
}

function infer(def: OpDef, inputs: (TensorType | undefined)[], consts: (Tensor | undefined)[] = [], c: Call = {}): TensorType[] {
  const node = nodeOf(def, inputs.length, c);
  return def.inferTypes({ node, attrs: attrsOf(node), inputs, consts, opset: c.opset ?? 21, inferSubgraph: () => [] });
}

const ty = (shape: TensorType["shape"], dtype: TensorType["dtype"] = "float32"): TensorType => ({ dtype, shape });
const big = (...v: (number | bigint)[]): BigInt64Array => BigInt64Array.from(v.map((x) => BigInt(x)));
const strs = (shape: number[], v: string[]): Tensor => tensor("string", shape, v);
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const i64raw = (...v: bigint[]): Tensor => tensor("int64", [v.length], BigInt64Array.from(v));

function throwsHwac(fn: () => unknown): void {
  expect(fn).toThrow(HwacError);
}

describe("element types", () => {
  it("Transpose moves int64 and string elements unchanged", () => {
    const x = tensor("int64", [2, 3], big(0, 1, 2, 3, 4, 5));
    const y = run1(Transpose, [x]);
    expect(y.shape).toEqual([3, 2]);
    expect(y.data).toEqual(big(0, 3, 1, 4, 2, 5));
    expect(run1(Transpose, [strs([2, 2], ["a", "b", "c", "d"])], { attrs: { perm: ints([1, 0]) } }).data).toEqual([
      "a", "c", "b", "d",
    ]);
  });

  it("Concat joins int64 along a negative axis and strings along axis 0", () => {
    const a = tensor("int64", [2, 1], big(1, 2));
    const b = tensor("int64", [2, 2], big(3, 4, 5, 6));
    const y = run1(Concat, [a, b], { attrs: { axis: int(-1) } });
    expect(y.shape).toEqual([2, 3]);
    expect(y.data).toEqual(big(1, 3, 4, 2, 5, 6));
    expect(run1(Concat, [strs([1], ["x"]), strs([2], ["y", "z"])], { attrs: { axis: int(0) } }).data).toEqual(["x", "y", "z"]);
  });

  it("Gather takes negative 2-D indices along axis 1 of int64 data", () => {
    const x = tensor("int64", [2, 3], big(10, 11, 12, 20, 21, 22));
    const y = run1(Gather, [x, tensor("int64", [1, 2], big(-1, 0))], { attrs: { axis: int(1) } });
    expect(y.shape).toEqual([2, 1, 2]);
    expect(y.data).toEqual(big(12, 10, 22, 20));
    throwsHwac(() => run(Gather, [x, i64([1], [3])], { attrs: { axis: int(1) } }));
  });

  it("Gather with a scalar index drops the axis", () => {
    const y = run1(Gather, [f32([2, 2], [1, 2, 3, 4]), i64([], [1])]);
    expect(y.shape).toEqual([2]);
    expect(Array.from(y.data as Float32Array)).toEqual([3, 4]);
  });

  it("Slice reverses a string axis", () => {
    const y = run1(Slice, [strs([3], ["a", "b", "c"]), i64([1], [-1]), i64raw(INT64_MIN), i64([1], [0]), i64([1], [-1])]);
    expect(y.data).toEqual(["c", "b", "a"]);
  });
});

describe("Reshape and Flatten", () => {
  it("copies dims with 0 and infers -1", () => {
    const y = run1(Reshape, [f32([2, 3, 4], new Array(24).fill(0)), i64([2], [0, -1])]);
    expect(y.shape).toEqual([2, 12]);
  });

  it("keeps a symbolic dim copied by 0 and still infers -1", () => {
    expect(infer(Reshape, [ty(["N", 3, 4]), ty([2], "int64")], [undefined, i64([2], [0, -1])])[0]!.shape).toEqual(["N", 12]);
    expect(infer(Reshape, [ty(["N", 1]), ty([1], "int64")], [undefined, i64([1], [-1])])[0]!.shape).toEqual(["N"]);
    expect(infer(Reshape, [ty(["N", 3, 4]), ty([3], "int64")])[0]!.shape).toEqual(["?", "?", "?"]);
  });

  it("takes the opset-1 shape attribute and rejects two -1s", () => {
    expect(run1(Reshape, [f32([2, 3], [0, 1, 2, 3, 4, 5])], { attrs: { shape: ints([6]) }, opset: 1 }).shape).toEqual([6]);
    throwsHwac(() => run(Reshape, [f32([2, 3], [0, 1, 2, 3, 4, 5]), i64([2], [-1, -1])]));
    throwsHwac(() => run(Reshape, [f32([2, 3], [0, 1, 2, 3, 4, 5]), i64([1], [4])]));
  });

  it("Flatten accepts axis == rank and keeps symbolic outer dims", () => {
    expect(run1(Flatten, [f32([2, 3], [0, 1, 2, 3, 4, 5])], { attrs: { axis: int(2) } }).shape).toEqual([6, 1]);
    expect(run1(Flatten, [f32([2, 3], [0, 1, 2, 3, 4, 5])], { attrs: { axis: int(-2) } }).shape).toEqual([1, 6]);
    expect(infer(Flatten, [ty(["N", 3, 4])])[0]!.shape).toEqual(["N", 12]);
  });
});

describe("Squeeze and Unsqueeze", () => {
  it("takes axes as an attribute before opset 13", () => {
    const x = f32([1, 3, 1], [1, 2, 3]);
    expect(run1(Squeeze, [x], { attrs: { axes: ints([0]) }, opset: 11 }).shape).toEqual([3, 1]);
    expect(run1(Unsqueeze, [f32([2, 3], [0, 0, 0, 0, 0, 0])], { attrs: { axes: ints([0, 3]) }, opset: 11 }).shape).toEqual([
      1, 2, 3, 1,
    ]);
  });

  it("squeezes every size-1 dim without axes, unknowable with symbolic dims", () => {
    expect(run1(Squeeze, [f32([1, 3, 1], [1, 2, 3])]).shape).toEqual([3]);
    expect(infer(Squeeze, [ty(["N", 1])])[0]!.shape).toBeNull();
    throwsHwac(() => run(Squeeze, [f32([1, 3, 1], [1, 2, 3]), i64([1], [1])]));
  });

  it("infers Unsqueeze from constant axes counted in the output", () => {
    expect(infer(Unsqueeze, [ty(["N", 3]), ty([1], "int64")], [undefined, i64([1], [-1])])[0]!.shape).toEqual(["N", 3, 1]);
  });
});

describe("Split", () => {
  const values = (ts: Tensor[]): number[][] => ts.map((t) => Array.from(t.data as Float32Array));

  it("takes split as an attribute before opset 13", () => {
    const parts = run(Split, [f32([3], [1, 2, 3])], { attrs: { split: ints([1, 2]) }, opset: 11, outputs: 2 });
    expect(values(parts)).toEqual([[1], [2, 3]]);
  });

  it("splits into equal parts without split, the last smaller with num_outputs", () => {
    expect(values(run(Split, [f32([4], [1, 2, 3, 4])], { opset: 13, outputs: 2 }))).toEqual([[1, 2], [3, 4]]);
    const c: Call = { attrs: { num_outputs: int(3) }, opset: 18, outputs: 3 };
    expect(values(run(Split, [f32([5], [1, 2, 3, 4, 5])], c))).toEqual([[1, 2], [3, 4], [5]]);
    expect(infer(Split, [ty(["N", 5])], [], { ...c, attrs: { ...c.attrs, axis: int(1) } }).map((t) => t.shape)).toEqual([
      ["N", 2], ["N", 2], ["N", 1],
    ]);
  });

  it("rejects split sizes that do not add up", () => {
    throwsHwac(() => run(Split, [f32([3], [1, 2, 3]), i64([2], [1, 1])], { outputs: 2 }));
  });
});

describe("Slice", () => {
  const x = f32([5], [0, 1, 2, 3, 4]);
  const values = (t: Tensor): number[] => Array.from(t.data as Float32Array);

  it("takes starts, ends and axes as attributes before opset 10", () => {
    const c: Call = { attrs: { starts: ints([1]), ends: ints([1000]), axes: ints([0]) }, opset: 9 };
    expect(values(run1(Slice, [x], c))).toEqual([1, 2, 3, 4]);
  });

  it("clamps INT64_MAX and INT64_MIN for both step signs", () => {
    expect(values(run1(Slice, [x, i64raw(INT64_MAX), i64raw(INT64_MIN), i64([1], [0]), i64([1], [-1])]))).toEqual([
      4, 3, 2, 1, 0,
    ]);
    expect(values(run1(Slice, [x, i64raw(INT64_MIN), i64raw(INT64_MAX)]))).toEqual([0, 1, 2, 3, 4]);
    expect(values(run1(Slice, [x, i64([1], [-1]), i64([1], [-5]), i64([1], [0]), i64([1], [-2])]))).toEqual([4, 2]);
    expect(values(run1(Slice, [x, i64([1], [3]), i64([1], [1])]))).toEqual([]);
  });

  it("infers lengths from constant operands and keeps a symbol sliced whole", () => {
    const types = [ty(["N", 10]), ty([2], "int64"), ty([2], "int64"), ty([2], "int64"), ty([2], "int64")];
    const consts = [undefined, i64raw(0n, 2n), i64raw(INT64_MAX, 8n), i64([2], [0, 1]), i64([2], [1, 3])];
    expect(infer(Slice, types, consts)[0]!.shape).toEqual(["N", 2]);
    expect(infer(Slice, types.slice(0, 4), [undefined, undefined, undefined, i64([1], [1])].slice(0, 4))[0]!.shape).toEqual([
      "N",
      "?",
    ]);
    throwsHwac(() => run(Slice, [x, i64([1], [0]), i64([1], [5]), i64([1], [0]), i64([1], [0])]));
  });
});

describe("Pad", () => {
  const values = (t: Tensor): number[] => Array.from(t.data as Float32Array);
  const pad = (mode: string, pads: number[], data = f32([3], [1, 2, 3])): number[] =>
    values(run1(Pad, [data, i64([pads.length], pads)], { attrs: { mode: str(mode) } }));

  it("pads in every mode, reflecting periodically past the edge", () => {
    expect(pad("constant", [1, 2])).toEqual([0, 1, 2, 3, 0, 0]);
    expect(pad("edge", [2, 1])).toEqual([1, 1, 1, 2, 3, 3]);
    expect(pad("wrap", [2, 1])).toEqual([2, 3, 1, 2, 3, 1]);
    expect(pad("reflect", [3, 0])).toEqual([2, 3, 2, 1, 2, 3]);
  });

  it("crops with negative pads", () => {
    expect(pad("edge", [-1, 1], f32([4], [0, 1, 2, 3]))).toEqual([1, 2, 3, 3]);
  });

  it("takes pads and value as attributes before opset 11", () => {
    const y = run1(Pad, [tensor("int32", [2], Int32Array.of(5, 6))], { attrs: { pads: ints([1, 1]), value: float(7) }, opset: 2 });
    expect(Array.from(y.data as Int32Array)).toEqual([7, 5, 6, 7]);
  });

  it("pads only the given axes (opset 18) with an int64 constant", () => {
    const x = tensor("int64", [2, 2], big(1, 2, 3, 4));
    const y = run1(Pad, [x, i64([2], [1, 0]), scalar("int64", 9), i64([1], [1])]);
    expect(y.shape).toEqual([2, 3]);
    expect(y.data).toEqual(big(9, 1, 2, 9, 3, 4));
    expect(infer(Pad, [ty(["N", 2]), ty([2], "int64"), undefined, ty([1], "int64")], [undefined, i64([2], [1, 0]), undefined, i64([1], [1])])[0]!.shape).toEqual(["N", 3]);
  });
});

describe("constants", () => {
  it("Constant reads each value attribute kind", () => {
    const ints1 = run1(Constant, [], { attrs: { value_ints: ints([1, 2]) } });
    expect([ints1.dtype, ints1.shape, ints1.data]).toEqual(["int64", [2], big(1, 2)]);
    const f = run1(Constant, [], { attrs: { value_float: float(1.5) } });
    expect([f.dtype, f.shape, Array.from(f.data as Float32Array)]).toEqual(["float32", [], [1.5]]);
    const s = run1(Constant, [], { attrs: { value_strings: { kind: "strings", value: ["a", "b"] } } });
    expect([s.dtype, s.data]).toEqual(["string", ["a", "b"]]);
    expect(infer(Constant, [], [], { attrs: { value_int: int(3) } })[0]).toEqual({ dtype: "int64", shape: [] });
    throwsHwac(() => run(Constant, []));
  });

  it("ConstantOfShape fills with float 0 by default or the value's type", () => {
    const z = run1(ConstantOfShape, [i64([2], [2, 3])]);
    expect([z.dtype, z.shape, Array.from(z.data as Float32Array)]).toEqual(["float32", [2, 3], [0, 0, 0, 0, 0, 0]]);
    const seven = run1(ConstantOfShape, [i64([1], [2])], { attrs: { value: { kind: "tensor", value: i64([1], [7]) } } });
    expect(seven.data).toEqual(big(7, 7));
    expect(infer(ConstantOfShape, [ty([3], "int64")])[0]!.shape).toEqual(["?", "?", "?"]);
  });

  it("Range counts ceil((limit - start) / delta) steps", () => {
    const y = run1(Range, [f32([], [1]), f32([], [2]), f32([], [0.25])]);
    expect(Array.from(y.data as Float32Array)).toEqual([1, 1.25, 1.5, 1.75]);
    const down = run1(Range, [i64([], [10]), i64([], [4]), i64([], [-3])]);
    expect(down.data).toEqual(big(10, 7));
    const scalarI64 = ty([], "int64");
    expect(infer(Range, [scalarI64, scalarI64, scalarI64], [i64([], [10]), i64([], [4]), i64([], [-3])])[0]!.shape).toEqual([2]);
    expect(infer(Range, [scalarI64, scalarI64, scalarI64])[0]!.shape).toEqual(["?"]);
  });
});

describe("Expand and Tile", () => {
  it("Expand broadcasts both ways", () => {
    const y = run1(Expand, [f32([2, 1], [1, 2]), i64([2], [1, 3])]);
    expect([y.shape, Array.from(y.data as Float32Array)]).toEqual([[2, 3], [1, 1, 1, 2, 2, 2]]);
    expect(infer(Expand, [ty(["N", 1]), ty([3], "int64")], [undefined, i64([3], [2, 1, 4])])[0]!.shape).toEqual([2, "N", 4]);
    throwsHwac(() => run(Expand, [f32([3], [1, 2, 3]), i64([1], [2])]));
  });

  it("Tile repeats int64 data per axis", () => {
    const y = run1(Tile, [tensor("int64", [1, 2], big(1, 2)), i64([2], [2, 2])]);
    expect([y.shape, y.data]).toEqual([[2, 4], big(1, 2, 1, 2, 1, 2, 1, 2)]);
    expect(infer(Tile, [ty(["N", 2]), ty([2], "int64")], [undefined, i64([2], [1, 3])])[0]!.shape).toEqual(["N", 6]);
  });
});

describe("ArgMax", () => {
  const x = f32([2, 3], [1, 3, 3, 2, 2, 1]);

  it("picks the first or, with select_last_index, the last of tied maxima", () => {
    expect(run1(ArgMax, [x], { attrs: { axis: int(-1) } }).data).toEqual(big(1, 0));
    const last = run1(ArgMax, [x], { attrs: { axis: int(-1), select_last_index: int(1), keepdims: int(0) } });
    expect([last.shape, last.data]).toEqual([[2], big(2, 1)]);
    expect(infer(ArgMax, [ty(["N", 3])], [], { attrs: { axis: int(1) } })[0]).toEqual({ dtype: "int64", shape: ["N", 1] });
  });
});

describe("Resize", () => {
  it("opset 10 samples asymmetrically: floor upsampling, ceil downsampling", () => {
    const up = run1(Resize, [f32([1, 2], [1, 2]), f32([2], [1, 2])], { opset: 10 });
    expect(Array.from(up.data as Float32Array)).toEqual([1, 1, 2, 2]);
    const down = run1(Resize, [f32([1, 4], [1, 2, 3, 4]), f32([2], [1, 0.6])], { opset: 10 });
    expect(Array.from(down.data as Float32Array)).toEqual([1, 3]);
  });

  it("copies int64 elements in nearest mode", () => {
    const y = run1(Resize, [tensor("int64", [2], big(5, 6)), undefined, undefined, i64([1], [4])], { opset: 19 });
    expect(y.data).toEqual(big(5, 5, 6, 6));
  });

  it("infers output dims from constant scales and keeps unscaled symbols", () => {
    const types = [ty(["N", 3, 4, 4]), undefined, ty([4])];
    expect(infer(Resize, types, [undefined, undefined, f32([4], [1, 1, 2, 0.5])])[0]!.shape).toEqual(["N", 3, 8, 2]);
    expect(infer(Resize, types)[0]!.shape).toEqual(["?", "?", "?", "?"]);
  });
});

describe("Shape and Size", () => {
  // Type inference runs them on a placeholder that has a shape but no data.
  const placeholder: Tensor = { dtype: "float32", shape: [2, 3, 4], data: new Float32Array(0) };

  it("read only the shape, with Shape's start and end", () => {
    expect(run1(Shape, [placeholder], { attrs: { start: int(1) } }).data).toEqual(big(3, 4));
    expect(run1(Shape, [placeholder], { attrs: { start: int(-1), end: int(10) } }).data).toEqual(big(4));
    expect(run1(Size, [placeholder]).data).toEqual(big(24));
    expect(infer(Shape, [ty(["N", 3])], [], { attrs: { end: int(-1) } })[0]).toEqual({ dtype: "int64", shape: [1] });
  });
});
