/**
 * Reductions, softmax and normalizations: exact cases the ONNX conformance tests do not cover
 * (older opset forms, axes inputs, empty reductions, integer types, parameter broadcasting,
 * training-mode statistics, static shape rules).
 */
import { describe, expect, it } from "vitest";
import type { DType, TensorData } from "../../ir/dtype.js";
import { HwacError } from "../../ir/errors.js";
import type { Attr, Node, TensorType } from "../../ir/graph.js";
import { attrsOf, type OpDef } from "../../ir/op.js";
import { f32, i64, tensor, type Tensor } from "../../ir/tensor.js";
import { planReduction } from "../../ir/kernels/reduce.js";
import { BatchNormalization } from "../../ir/ops/BatchNormalization.js";
import { GroupNormalization } from "../../ir/ops/GroupNormalization.js";
import { InstanceNormalization } from "../../ir/ops/InstanceNormalization.js";
import { LayerNormalization } from "../../ir/ops/LayerNormalization.js";
import { LogSoftmax } from "../../ir/ops/LogSoftmax.js";
import { ReduceMax } from "../../ir/ops/ReduceMax.js";
import { ReduceMean } from "../../ir/ops/ReduceMean.js";
import { ReduceMin } from "../../ir/ops/ReduceMin.js";
import { ReduceSum } from "../../ir/ops/ReduceSum.js";
import { RMSNormalization } from "../../ir/ops/RMSNormalization.js";
import { Softmax } from "../../ir/ops/Softmax.js";

const int = (value: number): Attr => ({ kind: "int", value });
const ints = (value: number[]): Attr => ({ kind: "ints", value });
const float = (value: number): Attr => ({ kind: "float", value });

function nodeOf(def: OpDef, nInputs: number, attrs: Record<string, Attr>, nOutputs: number): Node {
  const inputs = Array.from({ length: nInputs }, (_, i) => `in${i}`);
  const outputs = Array.from({ length: nOutputs }, (_, i) => `out${i}`);
  return { op: def.op, domain: "", name: "n0", inputs, outputs, attrs };
}

function run(def: OpDef, inputs: (Tensor | undefined)[], attrs: Record<string, Attr> = {}, opset = 21, nOutputs = 1): Tensor[] {
  const node = nodeOf(def, inputs.length, attrs, nOutputs);
  return def.run(inputs, {
    node,
    attrs: attrsOf(node),
    opset,
    runSubgraph: () => {
      throw new Error("no subgraphs here");
    },
  });
}

function infer(
  def: OpDef,
  inputs: (TensorType | undefined)[],
  consts: (Tensor | undefined)[],
  attrs: Record<string, Attr> = {},
  opset = 21,
): TensorType[] {
  const node = nodeOf(def, inputs.length, attrs, 1);
  return def.inferTypes({
    node,
    attrs: attrsOf(node),
    inputs,
    consts,
    opset,
    inferSubgraph: () => [],
  });
}

function t(dtype: DType, shape: number[], values: number[]): Tensor {
  const data = tensor(dtype, shape).data as Exclude<TensorData, string[] | BigInt64Array | BigUint64Array>;
  data.set(values);
  return tensor(dtype, shape, data);
}

const values = (x: Tensor): number[] => Array.from(x.data as ArrayLike<number>);
const iota = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe("planReduction", () => {
  it("folds dims into kept/reduced runs and drops size-1 dims", () => {
    // [2, 1, 3, 4] over axes {2, 3}: the input is 2 rows of 12, each folding into one output.
    const p = planReduction([2, 1, 3, 4], [2, 3]);
    expect({ outSize: p.outSize, count: p.count, inner: p.inner, step: p.step }).toEqual({ outSize: 2, count: 12, inner: 12, step: 0 });
    expect(Array.from(p.rowOut)).toEqual([0, 1]);
  });

  it("walks an inner kept run under an outer reduced one", () => {
    const p = planReduction([3, 2, 2], [0]);
    expect({ outSize: p.outSize, count: p.count, inner: p.inner, step: p.step }).toEqual({ outSize: 4, count: 3, inner: 4, step: 1 });
    expect(Array.from(p.rowOut)).toEqual([0, 0, 0]);
  });

  it("matches a direct sum over indices for every subset of axes", () => {
    const shape = [2, 3, 1, 4, 2];
    const x = f32(shape, iota(48));
    const st = [24, 8, 8, 2, 1];
    for (let mask = 0; mask < 32; mask++) {
      const axes = iota(5).filter((a) => mask & (1 << a));
      const kept = iota(5).filter((a) => !axes.includes(a));
      const expected = new Map<string, number>();
      for (let i = 0; i < 48; i++) {
        const key = kept.map((a) => Math.floor(i / st[a]!) % shape[a]!).join(",");
        expected.set(key, (expected.get(key) ?? 0) + i);
      }
      const [y] = run(ReduceSum, [x, i64([axes.length], axes)], { noop_with_empty_axes: int(1) }, 18);
      expect(values(y!), `axes [${axes.join(",")}]`).toEqual([...expected.values()]);
    }
  });
});

describe("Reduce*", () => {
  const x = f32([2, 3, 2], iota(12));

  it("reduces non-adjacent axes given as an input (opset 18)", () => {
    // x[i, j, k] = 6i + 2j + k; summing over i and k gives 8j + 14.
    const [y] = run(ReduceSum, [x, i64([2], [0, -1])], { keepdims: int(0) }, 18);
    expect(y!.shape).toEqual([3]);
    expect(values(y!)).toEqual([14, 22, 30]);
    const [m] = run(ReduceMean, [x, i64([2], [2, 0])], {}, 18);
    expect(m!.shape).toEqual([1, 3, 1]);
    expect(values(m!)).toEqual([3.5, 5.5, 7.5]);
  });

  it("takes axes from the attribute in older opsets", () => {
    const [y] = run(ReduceMax, [x], { axes: ints([1]) }, 11);
    expect(y!.shape).toEqual([2, 1, 2]);
    expect(values(y!)).toEqual([4, 5, 10, 11]);
    const [all] = run(ReduceMin, [x], { keepdims: int(0) }, 11);
    expect(all!.shape).toEqual([]);
    expect(values(all!)).toEqual([0]);
  });

  it("honours noop_with_empty_axes for an empty axes input", () => {
    const empty = i64([0], []);
    expect(run(ReduceSum, [x, empty], { noop_with_empty_axes: int(1) }, 13)[0]).toBe(x);
    const [y] = run(ReduceSum, [x, empty], {}, 13);
    expect(y!.shape).toEqual([1, 1, 1]);
    expect(values(y!)).toEqual([66]);
    expect(values(run(ReduceSum, [x, undefined], {}, 13)[0]!)).toEqual([66]);
  });

  it("gives each kind's value for an empty set", () => {
    const empty = f32([2, 0], []);
    const axes = i64([1], [1]);
    expect(values(run(ReduceMax, [empty, axes], {}, 18)[0]!)).toEqual([-Infinity, -Infinity]);
    expect(values(run(ReduceMin, [empty, axes], {}, 18)[0]!)).toEqual([Infinity, Infinity]);
    expect(values(run(ReduceSum, [empty, axes], {}, 18)[0]!)).toEqual([0, 0]);
    expect(run(ReduceMean, [empty, axes], {}, 18)[0]!.data[0]).toBeNaN();
    const emptyInt = t("int8", [2, 0], []);
    expect(values(run(ReduceMax, [emptyInt, axes], {}, 18)[0]!)).toEqual([-128, -128]);
    expect(values(run(ReduceMin, [emptyInt, axes], {}, 18)[0]!)).toEqual([127, 127]);
  });

  it("keeps integer types: the mean truncates, max compares exactly", () => {
    const xi = t("int32", [2, 2], [1, 2, -7, 4]);
    const [m] = run(ReduceMean, [xi, i64([1], [1])], { keepdims: int(0) }, 18);
    expect(m!.dtype).toBe("int32");
    expect(values(m!)).toEqual([1, -1]);
    const xl = i64([3], [5, -9, 2]);
    const [mx] = run(ReduceMax, [xl], {}, 18);
    expect(Array.from(mx!.data as BigInt64Array)).toEqual([5n]);
  });

  it("propagates NaN through max and min", () => {
    const [y] = run(ReduceMax, [f32([3], [1, NaN, 2])], {}, 18);
    expect(y!.data[0]).toBeNaN();
  });

  it("rejects out-of-range and repeated axes", () => {
    expect(() => run(ReduceSum, [x, i64([1], [3])], {}, 18)).toThrow(HwacError);
    expect(() => run(ReduceSum, [x, i64([2], [1, -2])], {}, 18)).toThrow(/repeat/);
  });

  it("infers static shapes from constant axes and ranks from dynamic ones", () => {
    const xt: TensorType = { dtype: "float32", shape: [2, "n", 4] };
    const axesT: TensorType = { dtype: "int64", shape: [1] };
    expect(infer(ReduceSum, [xt, axesT], [undefined, i64([1], [1])], { keepdims: int(0) })).toEqual([
      { dtype: "float32", shape: [2, 4] },
    ]);
    expect(infer(ReduceMax, [xt, axesT], [undefined, undefined], { keepdims: int(0) }, 18)).toEqual([
      { dtype: "float32", shape: ["?", "?"] },
    ]);
    expect(infer(ReduceMax, [xt, axesT], [undefined, undefined], {}, 18)).toEqual([{ dtype: "float32", shape: ["?", "?", "?"] }]);
    expect(infer(ReduceMean, [xt], [undefined], { axes: ints([-1]) }, 13)).toEqual([{ dtype: "float32", shape: [2, "n", 1] }]);
  });
});

describe("Softmax", () => {
  const zeros = f32([1, 2, 2], [0, 0, 0, 0]);

  it("normalizes over one axis from opset 13 and over the flattened tail before", () => {
    expect(values(run(Softmax, [zeros], { axis: int(1) }, 13)[0]!)).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(values(run(Softmax, [zeros], { axis: int(1) }, 11)[0]!)).toEqual([0.25, 0.25, 0.25, 0.25]);
    // Defaults: the last axis from opset 13, axis 1 (the flattened tail) before.
    expect(values(run(Softmax, [f32([2, 1, 2], [0, 0, 0, 0])], {}, 13)[0]!)).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(values(run(Softmax, [f32([2, 2, 1], [0, 0, 0, 0])], {}, 11)[0]!)).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it("computes log-softmax without exp overflow", () => {
    const [y] = run(LogSoftmax, [f32([2], [1000, 1000])], {}, 13);
    expect(values(y!)).toEqual([Math.fround(-Math.LN2), Math.fround(-Math.LN2)]);
  });

  it("rejects an axis out of range", () => {
    expect(() => run(Softmax, [zeros], { axis: int(3) }, 13)).toThrow(/axis 3 is out of range/);
    expect(() => infer(Softmax, [{ dtype: "float32", shape: [2, 2] }], [undefined], { axis: int(-3) }, 13)).toThrow(HwacError);
  });
});

describe("BatchNormalization", () => {
  it("uses one parameter per channel and position with spatial = 0 (opset 7)", () => {
    const x = f32([1, 2, 2], [1, 2, 3, 4]);
    const p = (v: number[]) => f32([2, 2], v);
    const [y] = run(BatchNormalization, [x, p([1, 2, 3, 4]), p([0, 0, 0, 1]), p([0, 0, 0, 0]), p([1, 1, 1, 1])], { spatial: int(0), epsilon: float(0) }, 7);
    expect(values(y!)).toEqual([1, 4, 9, 17]);
  });

  it("rejects per-position parameters in the spatial form", () => {
    const x = f32([1, 2, 2], [1, 2, 3, 4]);
    const p = f32([2, 2], [1, 1, 1, 1]);
    expect(() => run(BatchNormalization, [x, p, p, p, p], {}, 15)).toThrow(/scale must hold 2 values/);
  });

  it("normalizes with the batch statistics and updates the running ones in training mode", () => {
    // Channel 0 holds 1, 3, 5, 7 (mean 4, variance 5); channel 1 holds 2, 4, 2, 4 (mean 3, variance 1).
    const x = f32([2, 2, 2], [1, 3, 2, 4, 5, 7, 2, 4]);
    const one = f32([2], [1, 1]);
    const zero = f32([2], [0, 0]);
    const outs = run(BatchNormalization, [x, one, zero, zero, one], { training_mode: int(1), epsilon: float(0), momentum: float(0.5) }, 15, 3);
    const s = Math.sqrt(5);
    expect(values(outs[0]!)).toEqual([-3 / s, -1 / s, -1, 1, 1 / s, 3 / s, -1, 1].map(Math.fround));
    expect(values(outs[1]!)).toEqual([2, 1.5]);
    expect(values(outs[2]!)).toEqual([3, 1]);
  });
});

describe("InstanceNormalization", () => {
  it("normalizes each channel of each instance over its positions", () => {
    // Channel 0: 1, 3 (mean 2, std 1); channel 1: 10, 20 (mean 15, std 5).
    const x = f32([1, 2, 2], [1, 3, 10, 20]);
    const [y] = run(InstanceNormalization, [x, f32([2], [2, 3]), f32([2], [1, 0])], { epsilon: float(0) });
    expect(values(y!)).toEqual([-1, 3, -3, 3]);
  });
});

describe("GroupNormalization", () => {
  // Two groups of two channels: {1, 3} and {5, 7}, each mean ± 1.
  const x = f32([1, 4, 1], [1, 3, 5, 7]);

  it("scales per channel (opset 21)", () => {
    const [y] = run(GroupNormalization, [x, f32([4], [1, 2, 3, 4]), f32([4], [0, 0, 0, 1])], { num_groups: int(2), epsilon: float(0) }, 21);
    expect(values(y!)).toEqual([-1, 2, -3, 5]);
  });

  it("scales per group in the opset 18 form", () => {
    const [y] = run(GroupNormalization, [x, f32([2], [2, 3]), f32([2], [0, 10])], { num_groups: int(2), epsilon: float(0) }, 18);
    expect(values(y!)).toEqual([-2, 2, 7, 13]);
  });

  it("requires num_groups to divide the channels", () => {
    expect(() => run(GroupNormalization, [x, f32([4], [1, 1, 1, 1]), f32([4], [0, 0, 0, 0])], { num_groups: int(3) })).toThrow(
      /must divide the 4 channels/,
    );
  });
});

describe("LayerNormalization", () => {
  // Rows {1, 3} (mean 2, std 1) and {2, 6} (mean 4, std 2).
  const x = f32([2, 2], [1, 3, 2, 6]);

  it("returns Mean and InvStdDev, with B omitted and Scale broadcast", () => {
    const [y, mean, inv] = run(LayerNormalization, [x, f32([1], [2])], { epsilon: float(0) }, 17, 3);
    expect(values(y!)).toEqual([-2, 2, -2, 2]);
    expect(mean!.shape).toEqual([2, 1]);
    expect(values(mean!)).toEqual([2, 4]);
    expect(values(inv!)).toEqual([1, 0.5]);
  });

  it("accepts a Scale that varies along the leading dims", () => {
    const [y] = run(LayerNormalization, [x, f32([2, 1], [1, 10]), f32([2], [0, 1])], { epsilon: float(0) }, 17);
    expect(values(y!)).toEqual([-1, 2, -10, 11]);
  });

  it("rejects a Scale that does not broadcast to X", () => {
    expect(() => run(LayerNormalization, [x, f32([3], [1, 1, 1])], {}, 17)).toThrow(/does not broadcast/);
  });

  it("infers the statistics' shape and stash type", () => {
    const types = infer(LayerNormalization, [{ dtype: "float16", shape: ["b", 3, 4] }, undefined], [], { axis: int(1) }, 17);
    expect(types).toEqual([
      { dtype: "float16", shape: ["b", 3, 4] },
      { dtype: "float32", shape: ["b", 1, 1] },
      { dtype: "float32", shape: ["b", 1, 1] },
    ]);
  });
});

describe("RMSNormalization", () => {
  it("divides by the root mean square of the normalized dims", () => {
    // Rows {3, -3, 3, -3} and {1, 1, 1, 1} have root mean squares 3 and 1.
    const x = f32([2, 2, 2], [3, -3, 3, -3, 1, 1, 1, 1]);
    const [y] = run(RMSNormalization, [x, f32([2, 2], [1, 2, 3, 4])], { axis: int(1), epsilon: float(0) }, 23);
    expect(values(y!)).toEqual([1, -2, 3, -4, 1, 2, 3, 4]);
  });
});
