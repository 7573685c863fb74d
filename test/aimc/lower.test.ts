/**
 * The AIMC back half: lowering a quantized, static model to the AIMC-quantized graph with its
 * mapping and weights image, and the program folder's files.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig, profileConfig } from "../../backends/aimc/config.js";
import { layerCodes } from "../../backends/aimc/format.js";
import { lowerForAimc } from "../../backends/aimc/lower/index.js";
import { mappingStats, splitSizes } from "../../backends/aimc/mapping.js";
import { analogNodes, readProgram, writeProgramFiles } from "../../backends/aimc/program.js";
import type { HwacError } from "../../ir/errors.js";
import type { Model, Node } from "../../ir/graph.js";
import { runQuantized } from "../../ir/interpret.js";
import { sliceAxis } from "../../ir/kernels/layout.js";
import { clamp, mulShiftRound, quantizeMultiplier, requantize, roundHalfEven } from "../../ir/numeric.js";
import { tensor, toFloat64, type Tensor } from "../../ir/tensor.js";
import { parseModel, printModel } from "../../ir/text/index.js";
import { readInputs } from "../../src/io.js";
import { loadModel } from "../../src/onnx/load.js";
import { staticize } from "../../src/pipeline.js";
import { loadCalibrationSets } from "../../src/quant/calib-data.js";
import { quantize } from "../../src/quant/index.js";
import { FIXTURES } from "../helpers/fixtures.js";

const EXACT = profileConfig("exact");
const tmp = mkdtempSync(join(tmpdir(), "hwac-aimc-lower-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A trained fixture quantized (dynamic) and bound to `shape`. */
function trained(name: string, shape: number[]): Model {
  const dir = join(FIXTURES, "trained", name);
  const m = loadModel(join(dir, "model.onnx"));
  const q = quantize(m, loadCalibrationSets([dir], m).sets, { static: false });
  return staticize(q.model, { inputShapes: new Map([["x", shape]]) }).model;
}

const mlp = trained("digits-mlp", [4, 64]);
const cnn = trained("digits-cnn", [1, 1, 8, 8]);

function node(m: Model, name: string): Node {
  return m.graph.nodes.find((n) => n.name === name)!;
}

function attr(n: Node, key: string): unknown {
  return n.attrs[key]?.value;
}

/** The HwacError `fn` throws. */
function thrown(fn: () => unknown): HwacError {
  try {
    fn();
  } catch (e) {
    return e as HwacError;
  }
  throw new Error("expected an error");
}

/** s_x·max(|q_min − z_x|, |q_max − z_x|) for an int8 X, in float32. */
function int8Range(m: Model, x: string): number {
  const q = m.graph.valueTypes.get(x)!.quant!;
  return Math.fround(q.scale[0]! * Math.max(Math.abs(-128 - q.zeroPoint[0]!), Math.abs(127 - q.zeroPoint[0]!)));
}

describe("lowerForAimc on digits-mlp (three Gemm layers)", () => {
  const out = lowerForAimc(mlp, { config: EXACT });
  const g = out.model.graph;

  it("replaces every Gemm by one AnalogMvm named after it, in graph order", () => {
    expect(g.nodes.map((n) => `${n.domain}::${n.op}`)).toEqual([
      "::QuantizeLinear", "hwac::AnalogMvm", "::Relu", "hwac::AnalogMvm", "::Relu", "hwac::AnalogMvm", "::DequantizeLinear",
    ]);
    expect(analogNodes(out.model).map((n) => n.name)).toEqual(["/0/Gemm", "/2/Gemm", "/4/Gemm"]);
    expect(out.model.opsets).toEqual({ ...mlp.opsets, hwac: 1 });
    expect(out.digital).toEqual([]);
  });

  it("keeps X and Y, gives W and B readable names, and drops the old initializers", () => {
    const a = node(out.model, "/2/Gemm");
    const old = node(mlp, "/2/Gemm");
    expect(a.inputs).toEqual([old.inputs[0], "/2/Gemm.w", "/2/Gemm.b"]);
    expect(a.outputs).toEqual(old.outputs);
    expect(g.valueTypes.get(a.outputs[0]!)).toBe(mlp.graph.valueTypes.get(old.outputs[0]!));
    // transB = 1: B is already W [N, K].
    const w = g.initializers.get("/2/Gemm.w")!;
    expect(w.shape).toEqual([64, 128]);
    expect(Array.from(w.data as Int8Array)).toEqual(Array.from(mlp.graph.initializers.get(old.inputs[1]!)!.data as Int8Array));
    expect(Array.from(g.initializers.get("/2/Gemm.b")!.data as Int32Array)).toEqual(Array.from(mlp.graph.initializers.get(old.inputs[2]!)!.data as Int32Array));
    const wq = g.valueTypes.get("/2/Gemm.w")!;
    const oldQ = mlp.graph.valueTypes.get(old.inputs[1]!)!.quant!;
    expect(wq.dtype).toBe("int8");
    expect(wq.quant!.axis).toBe(0);
    expect(Array.from(wq.quant!.scale)).toEqual(Array.from(oldQ.scale));
    expect(Array.from(wq.quant!.zeroPoint)).toEqual(new Array(64).fill(0));
    const bq = g.valueTypes.get("/2/Gemm.b")!;
    const sx = mlp.graph.valueTypes.get(old.inputs[0]!)!.quant!.scale[0]!;
    expect(bq.dtype).toBe("int32");
    expect(bq.shape).toEqual([64]);
    expect(Array.from(bq.quant!.scale)).toEqual(Array.from(oldQ.scale, (s) => Math.fround(sx * s)));
    for (const v of [old.inputs[1]!, old.inputs[2]!]) {
      expect(g.initializers.has(v)).toBe(false);
      expect(g.valueTypes.has(v)).toBe(false);
    }
  });

  it("sets row blocks, input ranges, weight bits and converters from the config and X's type", () => {
    const a = node(out.model, "/0/Gemm");
    const r = int8Range(mlp, a.inputs[0]!);
    // zp −128: the range covers the 255 codes above the zero point.
    expect(r).toBe(Math.fround(mlp.graph.valueTypes.get("x_q")!.quant!.scale[0]! * 255));
    expect(a.attrs).toEqual({
      row_blocks: { kind: "ints", value: [64] },
      input_range: { kind: "floats", value: [r] },
      weight_bits: { kind: "int", value: 8 },
      dac_bits: { kind: "int", value: 8 },
      dac_bound: { kind: "float", value: 1 },
      adc_bits: { kind: "int", value: 8 },
      adc_bound: { kind: "float", value: 10 },
    });
  });

  it("lists one mapping layer per node with its scales, bias location and codes", () => {
    const m = out.mapping;
    expect(m.layers.map((l) => [l.name, l.rows, l.cols, l.weightBits, l.bias])).toEqual([
      ["/0/Gemm", 64, 128, 8, { offset: 0, count: 128 }],
      ["/2/Gemm", 128, 64, 8, { offset: 128, count: 64 }],
      ["/4/Gemm", 64, 10, 8, { offset: 192, count: 10 }],
    ]);
    // 64·128 + 128·64 + 64·10 cells fit one 512×512 tile.
    expect(m.tiles).toBe(1);
    m.layers.forEach((l, i) => {
      const n = analogNodes(out.model)[i]!;
      expect(l.scales!.input).toEqual(attr(n, "input_range"));
      expect(l.scales!.weight).toEqual(Array.from(g.valueTypes.get(n.inputs[1]!)!.quant!.scale));
      expect(Array.from(layerCodes(out.image, l))).toEqual(Array.from(g.initializers.get(n.inputs[1]!)!.data as Int8Array));
      expect(Array.from(out.image.bias.subarray(l.bias!.offset, l.bias!.offset + l.bias!.count))).toEqual(
        Array.from(g.initializers.get(n.inputs[2]!)!.data as Int32Array),
      );
    });
  });

  it("splits K into the tile's row blocks and the outputs into its columns", () => {
    const small = parseConfig({ profile: "exact", tile: { rows: 48, cols: 40 } });
    const o = lowerForAimc(mlp, { config: small });
    expect(analogNodes(o.model).map((n) => attr(n, "row_blocks"))).toEqual([[32, 32], [43, 43, 42], [32, 32]]);
    expect(analogNodes(o.model).map((n) => (attr(n, "input_range") as number[]).length)).toEqual([2, 3, 2]);
    const l = o.mapping.layers[1]!;
    // 128 inputs × 64 outputs: 3 row blocks × 2 column blocks of 32.
    expect(l.blocks.map((b) => [b.index, b.inStart, b.inCount, b.outStart, b.outCount])).toEqual([
      [0, 0, 43, 0, 32], [1, 0, 43, 32, 32], [2, 43, 43, 0, 32], [3, 43, 43, 32, 32], [4, 86, 42, 0, 32], [5, 86, 42, 32, 32],
    ]);
    expect(splitSizes(128, 48)).toEqual([43, 43, 42]);
    o.mapping.layers.forEach((layer, i) => {
      const n = analogNodes(o.model)[i]!;
      expect(Array.from(layerCodes(o.image, layer))).toEqual(Array.from(o.model.graph.initializers.get(n.inputs[1]!)!.data as Int8Array));
    });
  });

  it("leaves the quantized model untouched and is deterministic to the byte", () => {
    const before = printModel(mlp);
    const a = writeProgramFiles(lowerForAimc(mlp, { config: EXACT }));
    const b = writeProgramFiles(lowerForAimc(trained("digits-mlp", [4, 64]), { config: EXACT }));
    expect(printModel(mlp)).toBe(before);
    expect([...a.keys()]).toEqual(["model.hir", "mapping.json", "weights.bin"]);
    for (const [k, v] of a) expect(Buffer.from(b.get(k)!).equals(Buffer.from(v)), k).toBe(true);
  });
});

describe("lowerForAimc on digits-cnn (two Conv layers and a Gemm)", () => {
  const out = lowerForAimc(cnn, { config: EXACT });

  it("keeps conv layout and geometry, K = C·kh·kw", () => {
    const [c0, c1, fc] = analogNodes(out.model);
    expect([c0!.name, c1!.name, fc!.name]).toEqual(["/0/Conv", "/3/Conv", "/8/Gemm"]);
    expect(out.model.graph.initializers.get(c1!.inputs[1]!)!.shape).toEqual([32, 16, 3, 3]);
    for (const key of ["kernel_shape", "strides", "pads", "dilations"]) expect(attr(c1!, key), key).toEqual(attr(node(cnn, "/3/Conv"), key));
    expect(attr(c1!, "row_blocks")).toEqual([144]);
    expect("kernel_shape" in fc!.attrs).toBe(false);
    expect(out.mapping.layers.map((l) => [l.rows, l.cols])).toEqual([[9, 16], [144, 32], [512, 10]]);
    expect(out.digital).toEqual([]);
  });
});

/**
 * A hand-written quantized graph with one node per rule: constant and activation MatMul, Gemm
 * with transB 0 and a [1, N] bias, transA, SAME-padded Conv with per-tensor int4 weights,
 * depthwise Conv, a float Gemm, an int8 weight holding −128, an unnamed node and two nodes
 * sharing a name, and an LSTM.
 */
const CASES = `ir_version 8
producer "test"
opset 13

graph cases (%x: i8[2,4]{scale=[0.5], zp=[3]}, %act: i8[4,2]{scale=[0.25], zp=[0]}, %img: u8[1,2,5,5]{scale=[0.125], zp=[128]}, %f: f32[2,4]) -> (%y: i8[2,3]) {
  const %wm = i8[4,3] [1,-2,3,-4,5,-6,7,-8,9,-10,11,-12]
  const %wg = i8[4,3] [10,20,30,40,50,60,70,80,90,100,110,120]
  const %cg = i32[1,3] [100,-200,300]
  const %wc = i4[3,2,2,2] [1,2,3,4,5,6,7,-7,-6,-5,-4,-3,-2,-1,0,1,2,3,4,5,6,7,-1,-2]
  const %bc = i32[3] [5,6,7]
  const %wd = i8[2,1,3,3] [1,1,1,1,1,1,1,1,1,2,2,2,2,2,2,2,2,2]
  const %wf = f32[3,4] [1,2,3,4,5,6,7,8,9,10,11,12]
  const %wbad = i8[4,3] [-128,0,0,0,0,0,0,0,0,0,0,1]
  type %wm: i8[4,3]{scale=[0.5,0.25,0.125], zp=[0,0,0], axis=1}
  type %wg: i8[4,3]{scale=[0.01,0.02,0.03], zp=[0,0,0], axis=1}
  type %cg: i32[1,3]{scale=[0.005,0.01,0.015], zp=[0,0,0], axis=1}
  type %wc: i4[3,2,2,2]{scale=[0.1], zp=[0], axis=0}
  type %bc: i32[3]{scale=[0.0125], zp=[0]}
  type %wd: i8[2,1,3,3]{scale=[0.5,0.5], zp=[0,0], axis=0}
  type %wbad: i8[4,3]{scale=[1,1,1], zp=[0,0,0], axis=1}
  %y: i8[2,3]{scale=[2], zp=[0]} = MatMul(%x, %wm) @mm
  %aa: i8[2,2]{scale=[2], zp=[0]} = MatMul(%x, %act) @aa
  %g0: i8[2,3]{scale=[2], zp=[0]} = Gemm(%x, %wg, %cg) @gemm0
  %gt: i8[4,3]{scale=[2], zp=[0]} = Gemm(%x, %wg) {transA=1} @gemmT
  %cs: i8[1,3,3,3]{scale=[2], zp=[0]} = Conv(%img, %wc, %bc) {auto_pad="SAME_UPPER", kernel_shape=[2,2], strides=[2,2]} @conv
  %dw: u8[1,2,3,3]{scale=[2], zp=[128]} = Conv(%img, %wd) {group=2} @dw
  %fl = Gemm(%f, %wf) {transB=1} @float
  %bad: i8[2,3]{scale=[2], zp=[0]} = MatMul(%x, %wbad) @bad
  %un: i8[2,3]{scale=[2], zp=[0]} = MatMul(%x, %wm)
  %d1: i8[2,3]{scale=[2], zp=[0]} = MatMul(%x, %wm) @twice
  %d2: i8[2,3]{scale=[2], zp=[0]} = MatMul(%d1, %wm) @twice
  %ly = LSTM(%f) {hidden_size=3} @lstm
}
`;

describe("lowering rules, one node each", () => {
  const q = parseModel(CASES);
  const out = lowerForAimc(q, { config: EXACT });
  const g = out.model.graph;
  const byOutput = (v: string) => g.nodes.find((n) => n.outputs[0] === v)!;

  it("MatMul with a constant B: W = Bᵀ [N, K], no bias; per-channel scales along axis 1 become axis 0", () => {
    const n = node(out.model, "mm");
    expect([n.domain, n.op, n.inputs]).toEqual(["hwac", "AnalogMvm", ["x", "mm.w"]]);
    const w = g.initializers.get("mm.w")!;
    expect(w.shape).toEqual([3, 4]);
    expect(Array.from(w.data as Int8Array)).toEqual([1, -4, 7, -10, -2, 5, -8, 11, 3, -6, 9, -12]);
    expect(g.valueTypes.get("mm.w")!.quant).toEqual({ scale: Float32Array.of(0.5, 0.25, 0.125), zeroPoint: new Int32Array(3), axis: 0 });
    // s_x = 0.5, z_x = 3: max(|−128 − 3|, |127 − 3|) = 131.
    expect(attr(n, "input_range")).toEqual([65.5]);
    expect(out.mapping.layers[0]!.bias).toBeNull();
  });

  it("Gemm with transB 0: W = Bᵀ, the [1, N] bias becomes B [N] with scale s_x·s_w", () => {
    const n = node(out.model, "gemm0");
    expect(n.inputs).toEqual(["x", "gemm0.w", "gemm0.b"]);
    expect(Array.from(g.initializers.get("gemm0.w")!.data as Int8Array)).toEqual([10, 40, 70, 100, 20, 50, 80, 110, 30, 60, 90, 120]);
    const b = g.initializers.get("gemm0.b")!;
    expect([b.shape, Array.from(b.data as Int32Array)]).toEqual([[3], [100, -200, 300]]);
    expect(Array.from(g.valueTypes.get("gemm0.b")!.quant!.scale)).toEqual([0.01, 0.02, 0.03].map((s) => Math.fround(0.5 * Math.fround(s))));
    // %wg is still read by gemmT, so it stays; %cg is not.
    expect(g.initializers.has("wg")).toBe(true);
    expect(g.initializers.has("cg")).toBe(false);
  });

  it("Conv: auto_pad resolved to explicit pads, per-tensor int4 weights expanded per output, 4-bit", () => {
    const n = node(out.model, "conv");
    // 5 inputs, kernel 2, stride 2: 3 outputs need 1 padding, SAME_UPPER puts it at the end.
    expect([attr(n, "kernel_shape"), attr(n, "strides"), attr(n, "pads"), attr(n, "dilations")]).toEqual([[2, 2], [2, 2], [0, 0, 1, 1], [1, 1]]);
    expect("auto_pad" in n.attrs).toBe(false);
    expect(attr(n, "weight_bits")).toBe(4);
    expect(attr(n, "row_blocks")).toEqual([8]);
    // uint8, zp 128: max(|0 − 128|, |255 − 128|) = 128.
    expect(attr(n, "input_range")).toEqual([16]);
    const l = out.mapping.layers.find((x) => x.name === "conv")!;
    expect([l.rows, l.cols, l.weightBits]).toEqual([8, 3, 4]);
    expect(l.scales!.weight).toEqual([0.1, 0.1, 0.1].map(Math.fround));
    expect(g.valueTypes.get("conv.w")!.dtype).toBe("int4");
  });

  it("renames an unnamed node and two nodes sharing a name, deterministically", () => {
    expect(byOutput("un").name).toBe("AnalogMvm_8");
    expect([byOutput("d1").name, byOutput("d2").name]).toEqual(["AnalogMvm_9", "AnalogMvm_10"]);
    expect(out.mapping.layers.map((l) => l.name)).toEqual(["mm", "gemm0", "conv", "AnalogMvm_8", "AnalogMvm_9", "AnalogMvm_10"]);
    expect(byOutput("d2").inputs[1]).toBe("AnalogMvm_10.w");
  });

  it("lists every MVM-shaped node it leaves digital, with the reason", () => {
    expect(out.digital).toEqual([
      { node: "aa", op: "MatMul", reason: "B is not a constant (an activation × activation product)" },
      { node: "gemmT", op: "Gemm", reason: "transA = 1: the rows of A are not the MVM's inputs" },
      { node: "dw", op: "Conv", reason: "depthwise Conv (group 2) has no crossbar form" },
      { node: "float", op: "Gemm", reason: "X is not quantized (the node runs in float)" },
      { node: "bad", op: "MatMul", reason: "B holds the code -128, outside the symmetric range ±127" },
      { node: "lstm", op: "LSTM", reason: "X is not quantized (the node runs in float)" },
    ]);
    for (const d of out.digital) expect(node(out.model, d.node)).toBe(node(q, d.node));
  });

  it("refuses a model whose MVM inputs have symbolic shapes (HW5140)", () => {
    const dynamic = parseModel(CASES.replace("%x: i8[2,4]", "%x: i8[batch,4]"));
    const e = thrown(() => lowerForAimc(dynamic, { config: EXACT }));
    expect([e.code, e.where.node]).toEqual(["HW5140", "mm"]);
  });
});

describe("program folder: writeProgramFiles → readProgram", () => {
  const lowered = lowerForAimc(cnn, { config: parseConfig({ profile: "exact", tile: { rows: 64, cols: 64 } }) });
  const files = writeProgramFiles(lowered);

  function folder(name: string, edit?: (files: Map<string, Uint8Array>) => void): string {
    const dir = join(tmp, name);
    const copy = new Map(files);
    edit?.(copy);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    for (const [k, v] of copy) writeFileSync(join(dir, k), v);
    return dir;
  }

  function editText(file: string, fn: (s: string) => string) {
    return (f: Map<string, Uint8Array>) => f.set(file, new TextEncoder().encode(fn(new TextDecoder().decode(f.get(file)!))));
  }

  it("reads back the same model, mapping and image", () => {
    const p = readProgram(folder("ok"));
    expect(printModel(p.model)).toBe(printModel(lowered.model));
    expect(p.mapping).toEqual(lowered.mapping);
    expect(p.image).toEqual(lowered.image);
    expect(new TextDecoder().decode(files.get("model.hir")!)).toBe(printModel(lowered.model));
    expect(readFileSync(join(folder("ok"), "weights.bin")).length).toBe(32 + lowered.image.codes.length + 4 * (16 + 32 + 10));
  });

  it("refuses a mapping.json whose input ranges differ from the node's (HW5132)", () => {
    const e = thrown(() => readProgram(folder("range", editText("mapping.json", (s) => {
      const doc = JSON.parse(s);
      doc.layers[1].scales.input[0] *= 2;
      return JSON.stringify(doc);
    }))));
    expect(e.code).toBe("HW5132");
    expect(e.message).toContain("'/3/Conv'");
    expect(e.message).toContain("input_range");
  });

  it("refuses malformed mapping.json (HW5120) and a missing file (HW5133)", () => {
    expect(thrown(() => readProgram(folder("json", editText("mapping.json", (s) => s.slice(0, 20)))))).toMatchObject({ code: "HW5120" });
    expect(thrown(() => readProgram(folder("missing", (f) => f.delete("weights.bin"))))).toMatchObject({ code: "HW5133" });
  });

  it("refuses a weights.bin whose codes or biases differ from the model (HW5132) or that is cut short (HW5130)", () => {
    const l = lowered.mapping.layers[2]!;
    const b = l.blocks[0]!;
    const cell = 32 + (b.tile * 64 + b.row) * 64 + b.col;
    const flipped = (f: Map<string, Uint8Array>) => {
      const bytes = f.get("weights.bin")!.slice();
      bytes[cell] = bytes[cell] === 1 ? 2 : 1;
      f.set("weights.bin", bytes);
    };
    const e = thrown(() => readProgram(folder("code", flipped)));
    expect([e.code, e.message.includes("'/8/Gemm'"), e.message.includes("codes")]).toEqual(["HW5132", true, true]);
    const bias = (f: Map<string, Uint8Array>) => {
      const bytes = f.get("weights.bin")!.slice();
      bytes[bytes.length - 1]! ^= 1;
      f.set("weights.bin", bytes);
    };
    expect(thrown(() => readProgram(folder("bias", bias))).message).toContain("bias");
    expect(thrown(() => readProgram(folder("short", (f) => f.set("weights.bin", f.get("weights.bin")!.slice(0, 100)))))).toMatchObject({ code: "HW5130" });
  });

  it("refuses a model.hir that disagrees with the mapping (HW5132) or does not parse", () => {
    const renamed = thrown(() => readProgram(folder("name", editText("model.hir", (s) => s.replace('@"/3/Conv"', '@"/3/Conv2"')))));
    expect([renamed.code, renamed.message]).toEqual(["HW5132", "AIMC layer '/3/Conv' (layer 1): its AnalogMvm node is named '/3/Conv2'"]);
    const blocks = thrown(() => readProgram(folder("blocks", editText("model.hir", (s) => s.replace("row_blocks=[48,48,48]", "row_blocks=[40,56,48]")))));
    expect([blocks.code, blocks.message]).toEqual(["HW5132", "AIMC layer '/3/Conv' (layer 1): row_blocks [40, 56, 48], the layer's row blocks are [48, 48, 48]"]);
    const bits = thrown(() => readProgram(folder("bits", editText("model.hir", (s) => s.replace("weight_bits=8", "weight_bits=4")))));
    expect(bits.message).toContain("weight_bits 4, the layer has weightBits 8");
    const gone = thrown(() => readProgram(folder("count", editText("model.hir", (s) => s.replace('hwac::AnalogMvm(%"/7/Flatten_output_0"', 'Gemm(%"/7/Flatten_output_0"')))));
    expect([gone.code, gone.message]).toEqual(["HW5132", "the model's analog nodes have 2 layers, mapping.json 3"]);
    expect(thrown(() => readProgram(folder("text", editText("model.hir", (s) => s.replace("graph", "grap")))))).toMatchObject({ code: "HW2101" });
  });
});

/**
 * The contract's integer semantics in matmul mode, written out step by step for 8-bit converters
 * and bounds 1/10: DAC per row block, exact block sums, ADC, digital scale, bias, requantization.
 */
function contractMatmul(
  x: Int8Array, zx: number, sx: number, w: Int8Array, n: number, k: number, bias: Int32Array,
  blocks: number[], r: number, sw: readonly number[], sy: number, zy: number,
): number[] {
  const out: number[] = [];
  for (let p = 0; p < x.length / k; p++) {
    for (let c = 0; c < n; c++) {
      let total = bias[c]!;
      let k0 = 0;
      for (const size of blocks) {
        const dac = quantizeMultiplier((sx * 127) / r);
        let acc = 0;
        for (let j = k0; j < k0 + size; j++) {
          const d = clamp(roundHalfEven(((x[p * k + j]! - zx) * dac.m0) / 2 ** (31 - dac.shift)), -127, 127);
          acc += w[c * k + j]! * d;
        }
        const a = clamp(roundHalfEven((acc * 127) / (127 * 127 * 10)), -127, 127);
        const dig = quantizeMultiplier((127 * r * 10) / (127 * sx));
        total += mulShiftRound(a, dig.m0, dig.shift);
        k0 += size;
      }
      const m = quantizeMultiplier((sx * sw[c]!) / sy);
      out.push(requantize(total, m.m0, m.shift, zy, -128, 127));
    }
  }
  return out;
}

describe("running the lowered graph (runQuantized)", () => {
  it("a Gemm (transB 0, two row blocks) computes the contract's integers exactly", () => {
    const q = parseModel(`ir_version 8
producer "test"
opset 13

graph small (%x: i8[2,4]{scale=[0.5], zp=[3]}) -> (%y: i8[2,3]{scale=[8], zp=[-5]}) {
  const %wg = i8[4,3] [10,-20,30,40,50,-60,70,80,90,-100,110,120]
  const %cg = i32[1,3] [100,-200,300]
  type %wg: i8[4,3]{scale=[0.01,0.02,0.03], zp=[0,0,0], axis=1}
  type %cg: i32[1,3]{scale=[0.005,0.01,0.015], zp=[0,0,0], axis=1}
  %y: i8[2,3]{scale=[8], zp=[-5]} = Gemm(%x, %wg, %cg) @gemm0
}
`);
    const out = lowerForAimc(q, { config: parseConfig({ profile: "exact", tile: { rows: 2 } }) });
    const n = analogNodes(out.model)[0]!;
    expect(attr(n, "row_blocks")).toEqual([2, 2]);
    const x = Int8Array.of(127, -128, 100, -50, 60, 90, -128, 127);
    const feeds = { x: tensor("int8", [2, 4], x) };
    const y = Array.from(runQuantized(out.model, feeds).get("y")!.data as Int8Array);
    const wT = Int8Array.of(10, 40, 70, -100, -20, 50, 80, 110, 30, -60, 90, 120);
    const sw = [0.01, 0.02, 0.03].map(Math.fround);
    expect(y).toEqual(contractMatmul(x, 3, 0.5, wT, 3, 4, Int32Array.of(100, -200, 300), [2, 2], 65.5, sw, 8, -5));
    // Row 0, output 0 by hand: x − z = [124, −131, 97, −53] gives DAC codes [120, −127, 94, −51]; the
    // blocks sum to −3880 and 11680, ADC codes −3 and 9, ·1310 each (10·r/s_x) plus the bias 100 is
    // 7960 units of 0.005, 4.975 units of s_y: code 5 − 5 = 0. The exact Gemm (8190) lands there too;
    // elsewhere the converters cost up to two codes.
    expect(y).toEqual([0, -13, 23, -16, 1, -7]);
    expect(Array.from(runQuantized(q, feeds).get("y")!.data as Int8Array)).toEqual([0, -14, 22, -16, 3, -5]);
  });

  function argmaxAgreement(q: Model, lowered: Model, x: Tensor, batch: number, rows: number): number {
    let agree = 0;
    for (let r0 = 0; r0 < rows; r0 += batch) {
      const feeds = { x: sliceAxis(x, 0, r0, batch) };
      const a = toFloat64(runQuantized(q, feeds).get("logits")!);
      const b = toFloat64(runQuantized(lowered, feeds).get("logits")!);
      for (let r = 0; r < batch; r++) {
        const row = (v: Float64Array) => Array.from(v.subarray(r * 10, r * 10 + 10));
        const best = (v: number[]) => v.indexOf(Math.max(...v));
        if (best(row(a)) === best(row(b))) agree++;
      }
    }
    return agree;
  }

  function isCrossbarNode(n: Node): boolean {
    return (n.op === "Conv" && (n.attrs["group"]?.value ?? 1) === 1) || n.op === "Gemm";
  }

  // Measured with the exact profile: digits-mlp 63 of 64, digits-cnn 64 of 64 (400 rows: 399 and 400).
  for (const [name, shape, floor] of [["digits-mlp", [4, 64], 62], ["digits-cnn", [4, 1, 8, 8], 63]] as const) {
    it(`${name}: every Gemm and group-1 Conv runs on crossbars, argmax agrees on ≥ ${floor} of 64 test rows`, () => {
      const q = trained(name, [...shape]);
      const out = lowerForAimc(q, { config: EXACT });
      expect(analogNodes(out.model).length).toBe(q.graph.nodes.filter(isCrossbarNode).length);
      expect(out.model.graph.nodes.filter(isCrossbarNode)).toEqual([]);
      const x = readInputs(join(FIXTURES, "trained", name, "test_data_set_0"), q).get("x")!;
      expect(argmaxAgreement(q, out.model, x, shape[0], 64)).toBeGreaterThanOrEqual(floor);
      expect(mappingStats(out.mapping).tilesUsed).toBe(1);
    });
  }

  it("oww_embedding_model: 20 Conv layers on 2 tiles, output SQNR against the plain quantized model ≥ 13 dB", () => {
    const dir = join(FIXTURES, "real", "oww_embedding_model");
    const m = loadModel(join(dir, "model.onnx"));
    const sets = [0, 1].map((k) => readInputs(join(dir, `test_data_set_${k}`), m));
    const shape = [1, 76, 32, 1];
    const q = staticize(quantize(m, sets, { static: false }).model, { inputShapes: new Map([["input_1", shape]]) }).model;
    const out = lowerForAimc(q, { config: EXACT });
    expect(out.digital).toEqual([]);
    expect(analogNodes(out.model).length).toBe(20);
    expect(out.model.graph.nodes.filter(isCrossbarNode)).toEqual([]);
    // 326,808 weights: 62.3% of two 512×512 tiles, the lower bound.
    expect(mappingStats(out.mapping)).toMatchObject({ tilesUsed: 2, mappedCells: 326808, lowerBound: 2 });
    // The program read back from its folder runs bit for bit like the lowered graph.
    const dir2 = join(tmp, "oww");
    mkdirSync(dir2);
    for (const [k, v] of writeProgramFiles(out)) writeFileSync(join(dir2, k), v);
    const back = readProgram(dir2);
    const feeds = { input_1: sliceAxis(sets[0]!.get("input_1")!, 0, 0, 1) };
    const a = toFloat64(runQuantized(q, feeds).get("conv2d_19")!);
    const b = runQuantized(out.model, feeds).get("conv2d_19")!;
    expect(runQuantized(back.model, feeds).get("conv2d_19")).toEqual(b);
    // Measured 14.7 dB (the two samples of set 1: 15.9, 15.9).
    let signal = 0;
    let noise = 0;
    toFloat64(b).forEach((v, i) => {
      signal += a[i]! ** 2;
      noise += (a[i]! - v) ** 2;
    });
    expect(10 * Math.log10(signal / noise)).toBeGreaterThanOrEqual(13);
  });
});
