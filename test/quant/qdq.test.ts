/**
 * QDQ export and import. The trained fixtures are quantized (min/max calibration, per-channel
 * weights), exported with toQdq and run by ONNX Runtime with all optimizations, which fuses the
 * QDQ groups into its integer kernels; its outputs must match hwac's integer reference within
 * 1 LSB on ≥ 99.9% of elements. fromQdq must undo toQdq bit for bit, read PyTorch-style and
 * QOperator graphs as ONNX Runtime runs them, and reproduce the QLinearConv/QLinearMatMul
 * conformance outputs. Opset raising is checked against the interpreter and ONNX Runtime.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { DType } from "../../ir/dtype.js";
import type { Attr, Graph, Model, Node, TensorType } from "../../ir/graph.js";
import { runModel, runQuantized } from "../../ir/interpret.js";
import { quantizeNormAffine } from "../../ir/kernels/normalize.js";
import { f32, tensor, type Tensor } from "../../ir/tensor.js";
import { decodeModel, loadModel } from "../../src/onnx/load.js";
import { upgradeOpset } from "../../src/onnx/opset-upgrade.js";
import { encodeModel } from "../../src/onnx/save.js";
import { readTensorFile } from "../../src/onnx/tensor-proto.js";
import { foldBatchNorm } from "../../src/passes/fold-batchnorm.js";
import { freezeInputs } from "../../src/passes/freeze-inputs.js";
import { defaultConfig, type Scheme } from "../../src/quant/config.js";
import { toQdq } from "../../src/quant/qdq-export.js";
import { fromQdq } from "../../src/quant/qdq-import.js";
import { weightFn } from "../../src/quant/index.js";
import { quantizeModel, type ActRange } from "../../src/quant/quantize.js";
import { FIXTURES } from "../helpers/fixtures.js";
import { ortRun, ortSession, outputLsb, withinOneLsb } from "../helpers/ort.js";

const tmp = mkdtempSync(join(tmpdir(), "hwac-qdq-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// ---- quantizing fixtures ----


/** Min/max of every float value over one run of the model. */
function minMaxRanges(model: Model, feeds: ReadonlyMap<string, Tensor>): Map<string, ActRange> {
  const ranges = new Map<string, ActRange>();
  for (const [name, t] of runModel(model, feeds, { keepAll: true })) {
    if (t.dtype !== "float32") continue;
    let min = Infinity;
    let max = -Infinity;
    for (const v of t.data as Float32Array) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    ranges.set(name, { min, max });
  }
  return ranges;
}

function quantizeFloat(model: Model, calib: ReadonlyMap<string, Tensor>, scheme: Partial<Scheme> = {}): Model {
  const ranges = minMaxRanges(model, calib);
  return quantizeModel(model, (v) => ranges.get(v), defaultConfig(scheme), weightFn).model;
}

interface Fixture {
  q: Model;
  test: Map<string, Tensor>;
}

/** Real models have no calibration split: their first data set calibrates, the second tests. */
const SPLITS: Record<string, [string, string]> = { trained: ["calib", "test_data_set_0"], real: ["test_data_set_0", "test_data_set_1"] };

function inputsOf(model: Model, dir: string): Map<string, Tensor> {
  return new Map(model.graph.inputs.map((d, i) => [d.name, readTensorFile(join(dir, `input_${i}.pb`)).tensor]));
}

function fixture(path: string, scheme: Partial<Scheme> = {}): Fixture {
  const [group] = path.split("/") as [string];
  const dir = join(FIXTURES, path);
  const model = foldBatchNorm(loadModel(join(dir, "model.onnx")));
  const [calib, test] = SPLITS[group]!;
  return { q: quantizeFloat(model, inputsOf(model, join(dir, calib)), scheme), test: inputsOf(model, join(dir, test)) };
}

function ops(m: Model): string[] {
  return m.graph.nodes.map((n) => (n.domain ? `${n.domain}.${n.op}` : n.op));
}

/** What ONNX Runtime's optimizer turns the model into. */
async function ortOptimizedOps(m: Model, file: string): Promise<string[]> {
  const path = join(tmp, file);
  await ortSession(m, path);
  return ops(loadModel(path));
}

// ---- hand-built graphs ----

function node(op: string, inputs: string[], outputs: string[], attrs: Record<string, Attr> = {}): Node {
  return { op, domain: "", name: `${op}_${outputs[0]}`, inputs, outputs, attrs };
}

const int = (value: number): Attr => ({ kind: "int", value });
const ints = (value: number[]): Attr => ({ kind: "ints", value });

function model(opset: number, parts: Partial<Graph>): Model {
  const graph: Graph = { name: "g", inputs: [], outputs: [], initializers: new Map(), nodes: [], valueTypes: new Map(), ...parts };
  return { irVersion: opset >= 21 ? 10 : 7, opsets: { "": opset }, producer: "test", graph };
}

function codes(dtype: DType, shape: number[], values: ArrayLike<number>): Tensor {
  const t = tensor(dtype, shape);
  (t.data as Int8Array).set(Array.from(values));
  return t;
}

/** Deterministic pseudo-random floats in [lo, hi). */
function noise(shape: number[], seed: number, lo = -1, hi = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return f32(shape, out);
}

const decl = (name: string, dtype: DType, shape: number[]) => ({ name, type: { dtype, shape } as TensorType });

// ---- tests ----

describe("toQdq on fixture models, run by ONNX Runtime", () => {
  it.each([
    ["trained/digits-mlp", {}, 13, ["QuantizeLinear", "com.microsoft.QGemm", "com.microsoft.QGemm", "com.microsoft.QGemm", "DequantizeLinear"]],
    ["trained/digits-cnn", {}, 13, ["QuantizeLinear", "Transpose", "com.microsoft.QLinearConv", "com.microsoft.QLinearConv", "com.microsoft.NhwcMaxPool", "Transpose", "Flatten", "com.microsoft.QGemm", "DequantizeLinear"]],
  ] as const)("%s %j: ONNX Runtime fuses every layer into its integer kernels", async (name, scheme, opset, fused) => {
    const { q } = fixture(name, scheme);
    const { model, nearest } = toQdq(q);
    expect(model.opsets[""]).toBe(opset);
    expect(nearest).toEqual([]);
    expect(await ortOptimizedOps(model, "optimized.onnx")).toEqual(fused);
  });

  it.each([
    ["trained/digits-mlp", {}],
    ["trained/digits-cnn", {}],
    ["trained/digits-mlp", { weightBits: 4 }],
    ["trained/digits-cnn", { weightBits: 4 }],
    ["real/oww_alexa_v0.1", {}],
    ["real/oww_embedding_model", {}],
  ] as const)("%s %j: ONNX Runtime's outputs are within 1 LSB of runQuantized on ≥ 0.999 of the elements", async (name, scheme: Partial<Scheme>) => {
    const { q, test } = fixture(name, scheme);
    const quantizedLayers = q.graph.nodes.filter((n) => ["Conv", "Gemm"].includes(n.op) && q.graph.valueTypes.get(n.outputs[0]!)?.quant);
    expect(quantizedLayers.length).toBeGreaterThan(0);
    const { model } = toQdq(q);
    // int4 weights need opset 21 (IR 10); ONNX Runtime 1.30 runs them as float layers on dequantized weights.
    expect(model.opsets[""]).toBe(scheme.weightBits === 4 ? 21 : 13);
    expect(model.irVersion).toBe(scheme.weightBits === 4 ? 10 : 7);
    const ref = runQuantized(q, test);
    const got = await ortRun(model, test);
    for (const [out, t] of ref) {
      const agreement = withinOneLsb(t, got.get(out)!, outputLsb(q, out));
      expect(agreement, `${name} ${out}`).toBeGreaterThanOrEqual(0.999);
    }
  });

  it.each([
    ["trained/digits-mlp", {}],
    ["trained/digits-cnn", {}],
    ["trained/digits-cnn", { weightBits: 4 }],
    ["trained/digits-mlp", { actBits: 4 }],
    ["trained/digits-cnn", { actBits: 16 }],
    ["real/oww_embedding_model", {}],
  ] as const)("%s %j: fromQdq(toQdq(q)) read back from ONNX bytes runs bit-identically to q", (name, scheme) => {
    const { q, test } = fixture(name, scheme);
    const bytes = encodeModel(toQdq(q).model);
    const back = fromQdq(decodeModel(bytes, { file: "qdq.onnx", baseDir: tmp }))!;
    expect(ops(back)).toEqual(ops(q));
    const want = runQuantized(q, test);
    const got = runQuantized(back, test);
    for (const [out, t] of want) expect(got.get(out)!.data, out).toStrictEqual(t.data);
  });
});

describe("toQdq structure", () => {
  /** x → Q → Gemm → DQ, quantized from a float model. */
  function gemmModel(actBits: 8 | 16): { q: Model; feeds: Map<string, Tensor> } {
    const float = model(17, {
      inputs: [decl("x", "float32", [4, 8])],
      outputs: [decl("y", "float32", [4, 3])],
      initializers: new Map([["w", noise([8, 3], 3)], ["b", noise([3], 4)]]),
      nodes: [node("Gemm", ["x", "w", "b"], ["y"])],
    });
    const feeds = new Map([["x", noise([4, 8], 5, -3, 3)]]);
    return { q: quantizeFloat(float, feeds, { actBits, actSymmetric: actBits !== 8 }), feeds };
  }

  const quant = (dtype: DType, shape: number[], scale: number, zp = 0): TensorType => ({
    dtype, shape, quant: { scale: Float32Array.of(scale), zeroPoint: Int32Array.of(zp) },
  });

  /** LayerNormalization on quantized values (16-bit fixed point inside), γ and β typed as the quantizer types them. */
  const affine = quantizeNormAffine(noise([8], 21, 0.5, 1.5), noise([8], 22, -0.5, 0.5), 8);
  const layerNorm = model(17, {
    inputs: [decl("x", "float32", [4, 8])],
    outputs: [decl("y", "float32", [4, 8])],
    initializers: new Map<string, Tensor>([
      ["sx", f32([], [0.05])], ["zx", codes("int8", [], [3])],
      ["g", affine.gamma.q], ["b", affine.beta!.q],
      ["sy", f32([], [3 / 127])], ["zy", codes("int8", [], [0])],
    ]),
    valueTypes: new Map([
      ["xq", quant("int8", [4, 8], 0.05, 3)],
      ["g", affine.gamma.type],
      ["b", affine.beta!.type],
      ["yq", quant("int8", [4, 8], Math.fround(3 / 127))],
    ]),
    nodes: [
      node("QuantizeLinear", ["x", "sx", "zx"], ["xq"]),
      node("LayerNormalization", ["xq", "g", "b"], ["yq"], { axis: int(-1) }),
      node("DequantizeLinear", ["yq", "sy", "zy"], ["y"]),
    ],
  });

  it("dequantizes each quantized initializer per axis and requantizes each quantized output", () => {
    const { q } = gemmModel(8);
    const { model } = toQdq(q);
    const g = model.graph;
    const wName = q.graph.nodes.find((n) => n.op === "Gemm")!.inputs[1]!;
    const wDq = g.nodes.find((n) => n.op === "DequantizeLinear" && n.inputs[0] === wName)!;
    expect(wDq.attrs["axis"]).toEqual(int(1));
    expect(g.initializers.get(wName)!.dtype).toBe("int8");
    expect(g.initializers.get(wDq.inputs[1]!)!.shape).toEqual([3]);
    // The Gemm writes float, a QuantizeLinear the codes under the original name.
    const gemm = g.nodes.find((n) => n.op === "Gemm")!;
    const requant = g.nodes.find((n) => n.op === "QuantizeLinear" && n.inputs[0] === gemm.outputs[0])!;
    expect(requant.outputs).toEqual(q.graph.nodes.find((n) => n.op === "Gemm")!.outputs);
    expect([...g.valueTypes.values()].every((t) => t.quant === undefined)).toBe(true);
  });

  it("lists LayerNormalization as exported in nearest QDQ form; ONNX Runtime runs the result", async () => {
    const { model, nearest } = toQdq(layerNorm);
    expect(nearest.map((n) => n.node)).toEqual(["LayerNormalization_yq"]);
    const feeds = new Map([["x", noise([4, 8], 19, -4, 4)]]);
    const got = await ortRun(model, feeds);
    const ref = runQuantized(layerNorm, feeds);
    // The fixed-point normalization and ONNX Runtime's float one differ by a few codes at most.
    expect(withinOneLsb(ref.get("y")!, got.get("y")!, outputLsb(layerNorm, "y"))).toBeGreaterThan(0.9);
  });

  it("raises the opset to 21 (IR 10) for int16 activations", async () => {
    const { q, feeds } = gemmModel(16);
    const { model } = toQdq(q);
    expect([model.opsets[""], model.irVersion]).toEqual([21, 10]);
    expect(model.graph.nodes.some((n) => n.op === "QuantizeLinear" && model.graph.initializers.get(n.inputs[2]!)?.dtype === "int16")).toBe(true);
    expect((await ortRun(model, feeds)).get("y")!.shape).toEqual([4, 3]);
  });
});

describe("fromQdq", () => {
  it("returns undefined for a model without quantization", () => {
    expect(fromQdq(loadModel(join(FIXTURES, "trained", "digits-mlp", "model.onnx")))).toBeUndefined();
  });

  /** PyTorch's form: DQ → Conv → Relu → Q, weights and bias as DequantizeLinear of integer initializers. */
  function pytorchStyle(): Model {
    const sx = 2 / 255;
    const sw = Float32Array.of(0.01, 0.02, 0.005);
    const w = noise([3, 2, 3, 3], 7, -127, 127);
    return model(13, {
      inputs: [decl("x", "float32", [1, 2, 5, 5])],
      outputs: [decl("y", "float32", [1, 3, 5, 5])],
      initializers: new Map<string, Tensor>([
        ["sx", f32([], [sx])], ["zx", codes("int8", [], [0])],
        ["w", codes("int8", [3, 2, 3, 3], Array.from(w.data as Float32Array, Math.round))],
        ["sw", f32([3], sw)], ["zw", codes("int8", [3], [0, 0, 0])],
        ["b", codes("int32", [3], [300, -200, 1000])],
        ["sb", f32([3], Array.from(sw, (s) => sx * s))], ["zb", codes("int32", [3], [0, 0, 0])],
        ["sy", f32([], [0.05])], ["zy", codes("int8", [], [-128])],
      ]),
      nodes: [
        node("QuantizeLinear", ["x", "sx", "zx"], ["xq"]),
        node("DequantizeLinear", ["xq", "sx", "zx"], ["xf"]),
        node("DequantizeLinear", ["w", "sw", "zw"], ["wf"], { axis: int(0) }),
        node("DequantizeLinear", ["b", "sb", "zb"], ["bf"], { axis: int(0) }),
        node("Conv", ["xf", "wf", "bf"], ["c"], { pads: ints([1, 1, 1, 1]) }),
        node("Relu", ["c"], ["r"]),
        node("QuantizeLinear", ["r", "sy", "zy"], ["rq"]),
        node("DequantizeLinear", ["rq", "sy", "zy"], ["y"]),
      ],
    });
  }

  it("reads DQ → Conv → Relu → Q as Conv and Relu on quantized values, as ONNX Runtime runs it", async () => {
    const qdq = pytorchStyle();
    const q = fromQdq(qdq)!;
    expect(ops(q)).toEqual(["QuantizeLinear", "Conv", "Relu", "DequantizeLinear"]);
    const [conv, relu] = q.graph.nodes.slice(1, 3) as [Node, Node];
    expect(conv.inputs).toEqual(["xq", "w", "b"]);
    expect([conv.outputs, relu.inputs, relu.outputs]).toEqual([["c"], ["c"], ["rq"]]);
    const types = q.graph.valueTypes;
    expect(types.get("c")).toEqual(types.get("rq"));
    expect(types.get("rq")!.quant).toEqual({ scale: Float32Array.of(0.05), zeroPoint: Int32Array.of(-128) });
    expect(types.get("w")!.quant!.axis).toBe(0);
    expect(types.get("b")!.dtype).toBe("int32");
    const feeds = new Map([["x", noise([1, 2, 5, 5], 9)]]);
    const got = runQuantized(q, feeds).get("y")!;
    expect(withinOneLsb(got, (await ortRun(qdq, feeds)).get("y")!, 0.05)).toBe(1);
  });

  it("reads QLinearConv → MaxPool on codes → DequantizeLinear (QOperator form), as ONNX Runtime runs it", async () => {
    const w = noise([4, 3, 3, 3], 11, -127, 127);
    const qop = model(13, {
      inputs: [decl("x", "uint8", [1, 3, 6, 6])],
      outputs: [decl("out", "float32", [1, 4, 3, 3])],
      initializers: new Map<string, Tensor>([
        ["sx", f32([], [0.02])], ["zx", codes("uint8", [], [128])],
        ["w", codes("int8", [4, 3, 3, 3], Array.from(w.data as Float32Array, Math.round))],
        ["sw", f32([4], [0.003, 0.004, 0.002, 0.005])], ["zw", codes("int8", [4], [0, 0, 0, 0])],
        ["sy", f32([], [0.1])], ["zy", codes("uint8", [], [100])],
        ["b", codes("int32", [4], [500, -500, 0, 2000])],
      ]),
      nodes: [
        node("QLinearConv", ["x", "sx", "zx", "w", "sw", "zw", "sy", "zy", "b"], ["y"], { pads: ints([1, 1, 1, 1]) }),
        node("MaxPool", ["y"], ["p"], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) }),
        node("DequantizeLinear", ["p", "sy", "zy"], ["out"]),
      ],
    });
    const q = fromQdq(qop)!;
    expect(ops(q)).toEqual(["Conv", "MaxPool", "DequantizeLinear"]);
    expect(q.graph.valueTypes.get("p")).toEqual({ ...q.graph.valueTypes.get("y")!, shape: [1, 4, 3, 3] });
    const sw = q.graph.valueTypes.get("w")!.quant!.scale;
    expect(q.graph.valueTypes.get("b")!.quant!.scale).toEqual(Float32Array.from(sw, (s) => Math.fround(0.02) * s));
    const x = codes("uint8", [1, 3, 6, 6], Array.from(noise([108], 13, 0, 256).data as Float32Array, Math.floor));
    const feeds = new Map([["x", x]]);
    const got = runQuantized(q, feeds).get("out")!;
    expect(withinOneLsb(got, (await ortRun(qop, feeds)).get("out")!, 0.1)).toBe(1);
  });

  it.each(["test_qlinearconv", "test_qlinearmatmul_2D_uint8_float32", "test_qlinearmatmul_3D_int8_float32"])(
    "%s: reproduces the conformance output through runQuantized",
    (name) => {
      const dir = join(FIXTURES, "onnx-node", name);
      const data = join(dir, "test_data_set_0");
      const inputs = readdirSync(data).filter((f) => f.startsWith("input_")).sort().map((f) => readTensorFile(join(data, f)));
      // Scales, zero points and the weight are inputs of the test; in a real model they are constants.
      const [act, ...constants] = inputs;
      const q = fromQdq(freezeInputs(loadModel(join(dir, "model.onnx")), new Map(constants.map((c) => [c.name, c.tensor]))))!;
      const op = name.includes("conv") ? "Conv" : "MatMul";
      expect(ops(q)).toEqual([op]);
      // Asymmetric weights are recentred to zero point 0, into int16 when int8 cannot hold them.
      const wType = q.graph.valueTypes.get(q.graph.nodes[0]!.inputs[1]!)!;
      expect(wType.quant!.zeroPoint.every((z) => z === 0)).toBe(true);
      const want = readTensorFile(join(data, "output_0.pb")).tensor;
      const got = runQuantized(q, new Map([[act!.name, act!.tensor]])).get(q.graph.outputs[0]!.name)!;
      expect(got).toEqual(want);
    },
  );
});

describe("upgradeOpset", () => {
  const MOVED = ["min", "max", "pads", "value", "starts", "ends", "axes", "split"];
  /** Opset-9 forms of every op whose attributes became inputs, plus a last-axis Softmax. */
  const old = model(9, {
    inputs: [decl("x", "float32", [2, 6])],
    outputs: [decl("y", "float32", [2, 7]), decl("s0", "float32", [2, 1]), decl("s1", "float32", [2, 2])],
    nodes: [
      node("Clip", ["x"], ["c"], { min: { kind: "float", value: -0.5 }, max: { kind: "float", value: 0.5 } }),
      node("Pad", ["c"], ["p"], { pads: ints([0, 1, 0, 1]), value: { kind: "float", value: 0.25 } }),
      node("Slice", ["p"], ["sl"], { starts: ints([1]), ends: ints([2 ** 63]), axes: ints([1]) }),
      node("Softmax", ["sl"], ["sm"], { axis: int(1) }),
      node("Unsqueeze", ["sm"], ["u"], { axes: ints([1]) }),
      node("ReduceMean", ["u"], ["rm"], { axes: ints([2]), keepdims: int(1) }),
      node("Squeeze", ["rm"], ["sq"], { axes: ints([2]) }),
      node("Split", ["sl"], ["s0", "s1", "s2"], { axis: int(1), split: ints([1, 2, 4]) }),
      node("Sub", ["sm", "sq"], ["y"]),
    ],
  });

  it("moves attributes into inputs; the interpreter and ONNX Runtime agree with the original", async () => {
    const feeds = new Map([["x", noise([2, 6], 17)]]);
    const want = runModel(old, feeds);
    for (const target of [13, 21]) {
      const up = upgradeOpset(old, target);
      expect([up.opsets[""], up.irVersion]).toEqual([target, target === 21 ? 10 : 7]);
      // ReduceMean's axes became an input only at opset 18.
      const left = up.graph.nodes.flatMap((n) => Object.keys(n.attrs).filter((a) => MOVED.includes(a)).map((a) => `${n.op}.${a}`));
      expect(left).toEqual(target < 18 ? ["ReduceMean.axes"] : []);
      expect(up.graph.nodes.find((n) => n.op === "Slice")!.inputs).toHaveLength(4);
      const viaOrt = await ortRun(up, feeds);
      for (const [k, t] of want) {
        expect(runModel(up, feeds).get(k)!.data, `${k} at opset ${target}`).toStrictEqual(t.data);
        expect(Array.from(viaOrt.get(k)!.data as Float32Array), `${k} by ONNX Runtime at ${target}`).toEqual(
          Array.from(t.data as Float32Array).map((v) => expect.closeTo(v, 6)),
        );
      }
    }
    // The loader's 2^63 for INT64_MAX goes back to INT64_MAX, not to a wrapped INT64_MIN.
    expect(upgradeOpset(old, 13).graph.initializers.get("Slice_sl_ends")).toEqual(tensor("int64", [1], BigInt64Array.of(2n ** 63n - 1n)));
  });

  it("refuses what has no same-named newer form", () => {
    const softmax3d = model(11, {
      inputs: [decl("x", "float32", [2, 3, 4])],
      outputs: [decl("y", "float32", [2, 3, 4])],
      nodes: [node("Softmax", ["x"], ["y"], { axis: int(1) })],
    });
    expect(() => upgradeOpset(softmax3d, 13)).toThrow(expect.objectContaining({ code: "HW1009" }));
    // Resize 10 took [X, scales]; 11 inserted roi before scales and changed the coordinate rules.
    const resize = model(10, {
      inputs: [decl("x", "float32", [1, 1, 2, 2])],
      outputs: [decl("y", "float32", [1, 1, 4, 4])],
      initializers: new Map([["scales", f32([4], [1, 1, 2, 2])]]),
      nodes: [node("Resize", ["x", "scales"], ["y"])],
    });
    expect(() => upgradeOpset(resize, 13)).toThrow(/Resize of opset 10 has no form at opset 13/);
  });
});
