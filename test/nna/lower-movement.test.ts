/**
 * Data movement on the NNA (Gather with constant indices, Slice, Pad, Concat — lower/movement.ts)
 * and the host's float ends around a program (lower/boundary.ts, src/targets/host.ts), each a small
 * float graph quantized, lowered, simulated and compared bit for bit with the integer reference
 * (single-op.ts), plus the parts of the program the shapes make predictable.
 */
import { describe, expect, it } from "vitest";
import { configHash, DEFAULT_CONFIG, decodeProgram, encodeProgram, parseConfig, simulate, type Load, type Program, type Store, type Vec } from "../../backends/nna/index.js";
import { LowerCtx, lowerModel } from "../../backends/nna/lower/index.js";
import { lowerConcat } from "../../backends/nna/lower/Concat.js";
import type { Graph, Node, TensorType } from "../../ir/graph.js";
import { runQuantized } from "../../ir/interpret.js";
import { attrsOf } from "../../ir/op.js";
import { findOp } from "../../ir/ops/index.js";
import { tensor, type Tensor } from "../../ir/tensor.js";
import { NO_BATCHING } from "../../src/batch.js";
import { staticize } from "../../src/pipeline.js";
import { quantize } from "../../src/quant/index.js";
import { simulateNna, verifyNna } from "../../src/targets/nna.js";
import { rand, thrown } from "./helpers.js";
import { checkOnNna, floatModel, int, ints, randomFloats, randomSets, type Graphlet } from "./single-op.js";

const i64 = (v: number[], shape = [v.length]) => tensor("int64", shape, BigInt64Array.from(v.map(BigInt)));
const weights = (shape: number[], seed: number) => tensor("float32", shape, randomFloats(seed, shape.reduce((a, b) => a * b, 1), -0.5, 0.5));
const ops = (p: Program) => p.insns.map((i) => i.op);
const vecFns = (p: Program) => p.insns.filter((i): i is Vec => i.op === "vec").map((v) => v.fn);
const loads = (p: Program) => p.insns.filter((i): i is Load => i.op === "load");
const tensorOf = (p: Program, name: string) => p.tensors.find((t) => t.name === name)!;

describe("Gather with constant indices", () => {
  it("one time step of a dense sequence (axis 0, a scalar index) is an alias of its bytes: no instructions", () => {
    const { program, q } = checkOnNna({
      inputs: { x: [4, 3, 20] },
      constants: { i: i64([-1], []) },
      nodes: [{ op: "Gather", inputs: ["x", "i"], outputs: ["y"], attrs: { axis: int(0) } }],
    });
    expect(q.graph.nodes.map((n) => n.op)).toEqual(["QuantizeLinear", "Gather", "DequantizeLinear"]);
    expect(ops(program)).toEqual(["finish"]);
    expect(tensorOf(program, "y").addr).toBe(tensorOf(program, "x").addr + 3 * 60);
  });

  it("indices along the innermost axis, repeated and out of order", () => {
    const { program } = checkOnNna({
      inputs: { x: [2, 3, 10] },
      constants: { i: i64([5, 0, 7, 7, 9]) },
      nodes: [{ op: "Gather", inputs: ["x", "i"], outputs: ["y"], attrs: { axis: int(2) } }],
    });
    // Runs [5], [0, 7] (stride 7), [7, 9] (stride 2), each repeated over the 6 rows 10 bytes apart.
    expect(loads(program).map((l) => [l.ySize, l.xSize, l.yStride, l.xStride])).toEqual([[6, 1, 10, 16], [6, 2, 10, 7], [6, 2, 10, 2]]);
  });

  it("a 2-D index tensor along a middle axis", () => {
    checkOnNna({
      inputs: { x: [3, 4, 6] },
      constants: { i: i64([2, 0, -3, 3], [2, 2]) },
      nodes: [{ op: "Gather", inputs: ["x", "i"], outputs: ["y"], attrs: { axis: int(1) } }],
    });
  });

  it("refuses indices computed at run time (HW5042)", () => {
    const m = floatModel({ inputs: { x: [4, 6] }, nodes: [{ op: "Gather", inputs: ["x", "i"], outputs: ["y"] }] });
    const g = { ...m.graph, inputs: [...m.graph.inputs, { name: "i", type: { dtype: "int64" as const, shape: [2] } }] };
    const sets = randomSets({ inputs: { x: [4, 6] }, nodes: [] }, 3).map((s) => new Map([...s, ["i", i64([1, 3])]]));
    const q = staticize(quantize({ ...m, graph: g }, sets).model, { inputShapes: new Map([["x", [4, 6]], ["i", [2]]]) }).model;
    const e = thrown(() => lowerModel(q));
    expect([e.code, e.message]).toEqual(["HW5042", "Gather on the NNA: input 1 ('i') must be a constant"]);
  });
});

describe("Slice", () => {
  it("step 2 along the innermost axis: one block of strided vectors, written one byte apart", () => {
    const { program } = checkOnNna({
      inputs: { x: [2, 3, 10] },
      constants: { s: i64([1]), e: i64([9]), a: i64([2]), st: i64([2]) },
      nodes: [{ op: "Slice", inputs: ["x", "s", "e", "a", "st"], outputs: ["y"] }],
    });
    expect(ops(program)).toEqual(["load", "vec", "store", "finish"]);
    const [l, v, s] = program.insns as [Load, Vec, Store];
    expect([l.dram - tensorOf(program, "x").addr, l.ySize, l.xSize, l.yStride, l.xStride]).toEqual([1, 6, 4, 10, 2]);
    expect([v.rows, v.cols, v.dstRowStride, v.dstColStride]).toEqual([6, 4, 4, 1]);
    expect(s).toMatchObject({ ySize: 6, xSize: 4, yStride: 4, srcStride: 4 });
  });

  it("negative steps, an end clamped to the axis and negative axes", () => {
    checkOnNna({
      inputs: { x: [2, 5, 7] },
      constants: { s: i64([-1, 1]), e: i64([-100, 2 ** 31 - 1]), a: i64([-1, 1]), st: i64([-2, 2]) },
      nodes: [{ op: "Slice", inputs: ["x", "s", "e", "a", "st"], outputs: ["y"] }],
    });
  });

  it("whole leading rows are an alias", () => {
    const { program } = checkOnNna({
      inputs: { x: [4, 6] },
      constants: { s: i64([1]), e: i64([3]), a: i64([0]) },
      nodes: [{ op: "Slice", inputs: ["x", "s", "e", "a"], outputs: ["y"] }],
    });
    expect(ops(program)).toEqual(["finish"]);
    expect(tensorOf(program, "y").addr).toBe(tensorOf(program, "x").addr + 6);
  });
});

describe("Pad", () => {
  it("a constant value on two axes, asymmetric: the value's code, from one padded load per step", () => {
    const { program, ref, q } = checkOnNna({
      inputs: { x: [1, 2, 5, 6] },
      constants: { p: i64([0, 0, 1, 2, 0, 0, 2, 1]), v: tensor("float32", [], Float32Array.of(0.3)) },
      nodes: [{ op: "Pad", inputs: ["x", "p", "v"], outputs: ["y"] }],
    });
    const y = ref.get("y_q")!;
    expect(y.shape).toEqual([1, 2, 8, 9]);
    // The pad code is 0.3 in the input's quantization (the output's is the same), not the zero point.
    const { scale, zeroPoint } = q.graph.valueTypes.get("x_q")!.quant!;
    const code = Math.round(0.3 / scale[0]!) + zeroPoint[0]!;
    expect(code).not.toBe(zeroPoint[0]);
    expect([y.data[0], y.data[y.data.length - 1]]).toEqual([code, code]);
    expect(loads(program).filter((l) => l.xSize === 0 && l.padLeft === 1).map((l) => l.padValue)).toContain(code);
  });

  for (const mode of ["edge", "reflect", "wrap"]) {
    it(`${mode} mode copies input elements into the pads`, () => {
      const { program } = checkOnNna({
        inputs: { x: [2, 3, 5] },
        constants: { p: i64([0, 2, 1, 0, 1, 3]) },
        nodes: [{ op: "Pad", inputs: ["x", "p"], outputs: ["y"], attrs: { mode: { kind: "string", value: mode } } }],
      });
      expect(loads(program).every((l) => l.xSize > 0)).toBe(true);
    });
  }

  it("negative pads crop", () => {
    checkOnNna({
      inputs: { x: [3, 6] },
      constants: { p: i64([0, -2, -1, 3]) },
      nodes: [{ op: "Pad", inputs: ["x", "p"], outputs: ["y"] }],
    });
  });
});

describe("Concat", () => {
  it("inputs of other quantizations are rescaled to the output's (vec.sub of the zero point, vec.requant)", () => {
    const g: Graphlet = { inputs: { x: [2, 3, 5], z: [2, 4, 5] }, nodes: [{ op: "Concat", inputs: ["x", "z"], outputs: ["y"], attrs: { axis: int(1) } }] };
    // x in [−1, 1), z in [0, 3): the output's range is neither's.
    const sets = randomSets(g, 11).map((s) => new Map([...s].map(([n, t]) => [n, n === "z" ? { ...t, data: (t.data as Float32Array).map((v) => 1.5 * v + 1.5) } : t])));
    const { q, program } = checkOnNna(g, { sets });
    const scales = ["x_q", "z_q", "y_q"].map((v) => q.graph.valueTypes.get(v)!.quant!.scale[0]);
    expect(new Set(scales).size).toBe(3);
    expect(vecFns(program)).toEqual(["sub", "requant", "sub", "requant"]);
  });

  it("a constant input along the innermost axis, and a third input", () => {
    checkOnNna({
      inputs: { x: [3, 4], z: [3, 2] },
      constants: { c: weights([3, 5], 4) },
      nodes: [{ op: "Concat", inputs: ["x", "c", "z"], outputs: ["y"], attrs: { axis: int(-1) } }],
    });
  });
});

describe("feature maps (nhwc) stay feature maps", () => {
  const conv = (x: string, w: string, y: string) => ({ op: "Conv", inputs: [x, w], outputs: [y], attrs: { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) } });

  it("Concat of two convolutions along channels is an nhwc map of 36 channels", () => {
    const { program } = checkOnNna({
      inputs: { x: [1, 3, 6, 5] },
      constants: { w1: weights([20, 3, 3, 3], 5), w2: weights([16, 3, 3, 3], 6) },
      nodes: [conv("x", "w1", "a"), conv("x", "w2", "b"), { op: "Concat", inputs: ["a", "b"], outputs: ["y"], attrs: { axis: int(1) } }],
    });
    expect(tensorOf(program, "y").layout).toBe("nhwc");
  });

  it("Pad of spatial axes and a Slice of channels between two convolutions", () => {
    checkOnNna({
      inputs: { x: [1, 3, 6, 6] },
      constants: { w1: weights([24, 3, 3, 3], 7), w2: weights([8, 16, 3, 3], 8), p: i64([0, 0, 2, 1, 0, 0, 0, 3]), s: i64([2]), e: i64([18]), a: i64([1]) },
      nodes: [
        conv("x", "w1", "c"),
        { op: "Pad", inputs: ["c", "p"], outputs: ["d"] },
        { op: "Slice", inputs: ["d", "s", "e", "a"], outputs: ["f"] },
        conv("f", "w2", "y"),
      ],
    });
  });

  it("a dense input joined to an nhwc map, read one element per vector", () => {
    const { program } = checkOnNna({
      inputs: { x: [1, 2, 4, 4] },
      constants: { w: weights([5, 2, 3, 3], 9) },
      nodes: [conv("x", "w", "c"), { op: "Concat", inputs: ["c", "x"], outputs: ["y"], attrs: { axis: int(1) } }],
    });
    expect(tensorOf(program, "y").layout).toBe("nhwc");
    // x's two channels, each 16 pixels 1 byte apart, go into the pixels' channels 5 and 6.
    expect(loads(program).filter((l) => l.xStride === 16 && l.xSize === 2 && l.yStride === 1)).toHaveLength(1);
  });
});

describe("scratchpads smaller than a block", () => {
  // 12 acc vectors (8 after a rescaled input's parameters and the pad vector) and 64 out bytes.
  const tiny = parseConfig({ ...DEFAULT_CONFIG, name: "tiny", scratchpad: { ...DEFAULT_CONFIG.scratchpad, accBytes: 12 * 64, outBytes: 64 } });

  it("split rows and runs into steps: reflect pads, a strided slice and a rescaled concat", () => {
    const g: Graphlet = {
      inputs: { x: [3, 2, 70], z: [3, 3, 41] },
      constants: { p: i64([0, 0, 2, 0, 1, 13]), s: i64([1]), e: i64([80]), a: i64([2]), st: i64([3]) },
      nodes: [
        { op: "Pad", inputs: ["x", "p"], outputs: ["d"], attrs: { mode: { kind: "string", value: "reflect" } } },
        { op: "Slice", inputs: ["d", "s", "e", "a", "st"], outputs: ["f"] },
        { op: "Concat", inputs: ["f", "z"], outputs: ["y"], attrs: { axis: int(2) } },
      ],
    };
    const sets = randomSets(g, 31).map((s) => new Map([...s].map(([n, t]) => [n, n === "z" ? { ...t, data: (t.data as Float32Array).map((v) => 3 * v) } : t])));
    const { program } = checkOnNna(g, { config: tiny, sets });
    expect(vecFns(program)).toContain("requant");
    const stores = program.insns.filter((i): i is Store => i.op === "store");
    expect(Math.max(...stores.map((s) => s.ySize * s.srcStride))).toBeLessThanOrEqual(64);
    // The pad's 70-byte interior rows are cut into pieces of at most 4 vectors (64 bytes of out).
    expect(stores.filter((s) => s.xSize === 64 && s.ySize === 1)).not.toHaveLength(0);
  });
});

describe("int16 codes", () => {
  it("Concat rescales an int16 input (an LSTM's cell state) into int8 codes", () => {
    const q = (dtype: TensorType["dtype"], shape: number[], scale: number, zp: number): TensorType => ({ dtype, shape, quant: { scale: Float32Array.of(scale), zeroPoint: Int32Array.of(zp) } });
    const types = new Map([["a", q("int16", [1, 2, 8], 2 ** -12, 0)], ["b", q("int8", [1, 2, 8], 0.01, -3)], ["y", q("int8", [2, 2, 8], 0.03, 5)]]);
    const node: Node = { op: "Concat", domain: "", name: "cat", inputs: ["a", "b"], outputs: ["y"], attrs: { axis: int(0) } };
    const graph: Graph = { name: "g", inputs: [], outputs: [], initializers: new Map(), nodes: [node], valueTypes: types };
    const ctx = new LowerCtx(graph, DEFAULT_CONFIG, {});
    const [a, b] = [ctx.activation("a", 2, 16), ctx.activation("b", 2, 8)];
    lowerConcat(node, ctx);
    ctx.finish();
    const io = (name: string, kind: "input" | "output", addr: number) => {
      const t = types.get(name)!;
      return { name, kind, dtype: t.dtype as "int8" | "int16", shape: t.shape as number[], addr, scale: t.quant!.scale[0]!, zeroPoint: t.quant!.zeroPoint[0]! };
    };
    const program: Program = {
      configHash: configHash(DEFAULT_CONFIG), dramBytes: ctx.dramBytes, layers: ctx.layers, segments: ctx.segments, insns: ctx.insns,
      tensors: [io("a", "input", a.addr), io("b", "input", b.addr), io("y", "output", ctx.buffer("y", node).addr)],
    };
    const inputs: Record<string, Tensor> = {
      a: tensor("int16", [1, 2, 8], Int16Array.from(rand(16, 5, -32768, 32767))),
      b: tensor("int8", [1, 2, 8], Int8Array.from(rand(16, 6, -128, 127))),
    };
    const want = findOp("", "Concat")!.runInt!([inputs.a!, inputs.b!], {
      node, attrs: attrsOf(node), opset: 13, runSubgraph: () => [], inTypes: [types.get("a"), types.get("b")], outTypes: [types.get("y")!],
    })[0]!;
    expect(simulate(decodeProgram(encodeProgram(program)), { inputs }).outputs.get("y")).toEqual(want);
    // The int16 input is read as int16 lanes, 32 bytes a vector.
    expect(loads(program).map((l) => [l.mode, l.xStride])).toEqual([["i32", 64], ["i16", 32], ["i8", 16]]);
  });
});

describe("the host's float ends", () => {
  /** `g`'s float model with `extra` graph outputs besides the last node's. */
  const withOutputs = (g: Graphlet, extra: string[]) => {
    const m = floatModel(g);
    return { ...m, graph: { ...m.graph, outputs: [...extra.map((name) => ({ name, type: { dtype: "float32" as const, shape: null } })), ...m.graph.outputs] } };
  };
  const gemm = (x: string, w: string, y: string, b?: string) => ({ op: "Gemm", inputs: b ? [x, w, b] : [x, w], outputs: [y], attrs: { transB: int(1) } });
  const constants = { two: tensor("float32", [], Float32Array.of(2)), w: weights([7, 12], 12), b: weights([7], 13), w2: weights([3, 7], 14) };

  it("a float front end and a float tail run on the host; the program's tensors are the codes at the cuts, named after the float values", () => {
    // Pow (float by default) before the first QuantizeLinear; Sqrt reads a graph output's float value.
    const g: Graphlet = {
      inputs: { x: [4, 12] },
      constants,
      nodes: [{ op: "Pow", inputs: ["x", "two"], outputs: ["p"] }, gemm("p", "w", "h", "b"), { op: "Sigmoid", inputs: ["h"], outputs: ["s"] }, { op: "Sqrt", inputs: ["s"], outputs: ["y"] }],
    };
    const sets = randomSets(g, 21);
    const q = staticize(quantize(withOutputs(g, ["s"]), sets).model, { inputShapes: new Map([["x", [4, 12]]]) }).model;
    expect(q.graph.nodes.map((n) => n.op)).toEqual(["Pow", "QuantizeLinear", "Gemm", "Sigmoid", "DequantizeLinear", "Sqrt"]);
    const program = lowerModel(q);
    expect(program.tensors.map((t) => [t.name, t.kind])).toEqual([["p", "input"], ["s", "output"]]);
    const folder = { model: q, program, config: DEFAULT_CONFIG, batching: NO_BATCHING, probes: [] };
    expect(verifyNna(folder, sets[1]!)).toEqual({ items: 1, elements: 28 });
    const out = simulateNna(folder, sets[1]!).outputs;
    const ref = runQuantized(q, sets[1]!);
    expect([out.get("s"), out.get("y")]).toEqual([ref.get("s"), ref.get("y")]);
    expect(out.get("y")!.dtype).toBe("float32");
    // Raw codes exist for 's' only: 'y' is the host's.
    const e = thrown(() => simulateNna(folder, sets[1]!, { raw: true }));
    expect([e.code, e.message]).toEqual(["HW6010", "--raw writes the program's output codes, but the host computes graph output 'y' after the program; leave out --raw"]);
  });

  it("a value that crosses back into the program is refused (HW5045), naming the node", () => {
    const g: Graphlet = {
      inputs: { x: [4, 12] },
      constants,
      nodes: [gemm("x", "w", "h", "b"), { op: "Sigmoid", inputs: ["h"], outputs: ["s"] }, { op: "Sqrt", inputs: ["s"], outputs: ["r"] }, gemm("r", "w2", "z")],
    };
    const q = staticize(quantize(withOutputs(g, ["s"]), randomSets(g, 22)).model, { inputShapes: new Map([["x", [4, 12]]]) }).model;
    const e = thrown(() => lowerModel(q));
    expect([e.code, e.where.node]).toEqual(["HW5045", "r_quantize"]);
    expect(e.message).toBe("'r_quantize' cannot run on the NNA: it reads 'r', which the host computes after the program from its outputs: a value may cross between host and program once each way");
  });
});
