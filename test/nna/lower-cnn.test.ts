/**
 * Convolutions, pools and reshapes of feature maps on the NNA (backends/nna/lower/{Conv,
 * AveragePool,MaxPool,GlobalAveragePool,Reshape}.ts), bit for bit against the integer reference:
 * a seeded suite of single-op graphs on the default and on a small machine, grouped and depthwise
 * convolutions with the array cycles their masks leave, the layouts at the program's boundary,
 * digits-cnn end to end with its cycle count pinned, and the convolution stack of
 * oww_embedding_model.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  assemble, decodeProgram, DEFAULT_CONFIG, disassemble, encodeProgram, parseConfig, printProgram, simulate,
  type IoTensor, type NnaConfig, type Program,
} from "../../backends/nna/index.js";
import { lowerModel } from "../../backends/nna/lower/index.js";
import type { Model } from "../../ir/graph.js";
import { runQuantized } from "../../ir/interpret.js";
import { tensor, type Tensor } from "../../ir/tensor.js";
import { readInputs } from "../../src/io.js";
import { loadModel } from "../../src/onnx/load.js";
import { staticize } from "../../src/pipeline.js";
import { defaultConfig } from "../../src/quant/config.js";
import { quantize } from "../../src/quant/index.js";
import { FIXTURES } from "../helpers/fixtures.js";
import { randomInts, thrown } from "./helpers.js";
import { checkOnNna, floatModel, int, ints, randomFloats, randomSets, type Graphlet } from "./single-op.js";

/** Small scratchpads: 128 input vectors, 16 weight blocks, 96 acc vectors, 1 KiB of out. */
const SMALL: NnaConfig = parseConfig({
  ...DEFAULT_CONFIG, name: "small", scratchpad: { inpBytes: 2048, wgtBytes: 16 * 256, accBytes: 96 * 64, outBytes: 1024, lutEntries: 4096 },
});

const CHANNELS = [1, 3, 5, 16, 17, 40];
const KINDS = ["Conv", "Conv+Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "Conv→MaxPool→Flatten→Gemm"] as const;

interface Case {
  kind: (typeof KINDS)[number];
  x: number[];
  cout: number;
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  weightBits: number;
  /** MaxPool's ceil_mode, AveragePool's count_include_pad. */
  flag: number;
}

function randomCase(seed: number): Case {
  const r = randomInts(seed * 7919 + 17);
  const pick = <T,>(a: readonly T[]) => a[r(0, a.length - 1)]!;
  const axes = r(0, 5) === 0 ? 1 : 2;
  const size = Array.from({ length: axes }, () => r(1, 13));
  const kernel = size.map(() => r(1, 5));
  const strides = size.map(() => r(1, 3));
  const dilations = size.map(() => r(1, 2));
  const pads = [...size, ...size].map(() => r(0, 2));
  // Shrink windows that do not fit their padded input.
  size.forEach((n, i) => {
    while ((kernel[i]! - 1) * dilations[i]! + 1 > n + pads[i]! + pads[i + axes]!) {
      if (dilations[i]! > 1) dilations[i] = 1;
      else kernel[i]!--;
    }
  });
  return {
    kind: KINDS[seed % KINDS.length]!, x: [r(1, 2), pick(CHANNELS), ...size], cout: pick(CHANNELS),
    kernel, strides, dilations, pads, weightBits: r(0, 2) === 0 ? 4 : 8, flag: r(0, 1),
  };
}

function convOut(c: Case): number[] {
  const axes = c.kernel.length;
  return c.x.slice(2).map((n, i) => Math.floor((n + c.pads[i]! + c.pads[i + axes]! - (c.kernel[i]! - 1) * c.dilations[i]! - 1) / c.strides[i]!) + 1);
}

function graphlet(c: Case, seed: number): Graphlet {
  const window = { kernel_shape: ints(c.kernel), strides: ints(c.strides), pads: ints(c.pads) };
  const conv = { ...window, dilations: ints(c.dilations) };
  const cin = c.x[1]!;
  const taps = c.kernel.reduce((a, b) => a * b, 1);
  const w = tensor("float32", [c.cout, cin, ...c.kernel], randomFloats(seed + 100, c.cout * cin * taps));
  const b = tensor("float32", [c.cout], randomFloats(seed + 200, c.cout, -0.5, 0.5));
  switch (c.kind) {
    case "Conv":
    case "Conv+Relu": {
      const relu = c.kind === "Conv+Relu";
      return {
        inputs: { x: c.x }, constants: { w, b },
        nodes: [{ op: "Conv", inputs: ["x", "w", "b"], outputs: [relu ? "h" : "y"], attrs: conv }, ...(relu ? [{ op: "Relu", inputs: ["h"], outputs: ["y"] }] : [])],
      };
    }
    case "MaxPool":
      return { inputs: { x: c.x }, nodes: [{ op: "MaxPool", inputs: ["x"], outputs: ["y"], attrs: { ...conv, ceil_mode: int(c.flag) } }] };
    case "AveragePool":
      // AveragePool takes dilations only from opset 19 on.
      return { inputs: { x: c.x }, nodes: [{ op: "AveragePool", inputs: ["x"], outputs: ["y"], attrs: { ...window, count_include_pad: int(c.flag) } }] };
    case "GlobalAveragePool":
      return { inputs: { x: c.x }, nodes: [{ op: "GlobalAveragePool", inputs: ["x"], outputs: ["y"] }] };
    case "Conv→MaxPool→Flatten→Gemm": {
      const pool = convOut(c).map((n) => Math.min(2, n));
      const k = c.cout * convOut(c).reduce((a, n, i) => a * Math.floor(n / pool[i]!), 1);
      return {
        inputs: { x: c.x },
        constants: { w, b, g: tensor("float32", [7, k], randomFloats(seed + 300, 7 * k)), gb: tensor("float32", [7], randomFloats(seed + 400, 7)) },
        nodes: [
          { op: "Conv", inputs: ["x", "w", "b"], outputs: ["c"], attrs: conv },
          { op: "Relu", inputs: ["c"], outputs: ["r"] },
          { op: "MaxPool", inputs: ["r"], outputs: ["m"], attrs: { kernel_shape: ints(pool), strides: ints(pool) } },
          { op: "Flatten", inputs: ["m"], outputs: ["f"] },
          { op: "Gemm", inputs: ["f", "g", "gb"], outputs: ["y"], attrs: { transB: int(1) } },
        ],
      };
    }
  }
}

describe("seeded single-op CNN graphs, bit for bit against the integer reference", () => {
  for (let seed = 1; seed <= 60; seed++) {
    const c = randomCase(seed);
    it(`#${seed} ${c.kind} x=[${c.x}] cout=${c.cout} k=[${c.kernel}] s=[${c.strides}] d=[${c.dilations}] pads=[${c.pads}] W${c.weightBits} flag=${c.flag}`, () => {
      const { ref, q } = checkOnNna(graphlet(c, seed), { seed, weightBits: c.weightBits });
      // The same graph tiled to fit a machine with small scratchpads.
      checkOnNna(graphlet(c, seed), { seed, weightBits: c.weightBits, config: SMALL });
      // A convolution's output codes are not constant (the comparison means something).
      const out = q.graph.nodes.find((n) => n.op === "DequantizeLinear")!.inputs[0]!;
      if (c.kind.startsWith("Conv")) expect(new Set(ref.get(out)!.data as Int8Array).size).toBeGreaterThan(1);
    });
  }

  it("covers every required form", () => {
    const cases = Array.from({ length: 60 }, (_, i) => randomCase(i + 1));
    const has = (f: (c: Case) => boolean) => cases.filter(f).length;
    expect(has((c) => c.kernel.length === 1)).toBeGreaterThan(0);
    expect(has((c) => c.x[0] === 2)).toBeGreaterThan(10);
    expect(has((c) => c.weightBits === 4 && c.kind.startsWith("Conv"))).toBeGreaterThan(3);
    expect(has((c) => c.kernel.includes(5) && c.strides.includes(3))).toBeGreaterThan(0);
    expect(has((c) => c.dilations.includes(2) && c.kind.startsWith("Conv"))).toBeGreaterThan(5);
    expect(has((c) => c.pads[0] !== c.pads[c.kernel.length])).toBeGreaterThan(20);
    expect(new Set(cases.map((c) => c.x[1])).size).toBe(CHANNELS.length);
  });
});

describe("tiling on a small machine", () => {
  const run = (g: Graphlet) => checkOnNna(g, { config: SMALL });

  it("splits a convolution into one-pixel tiles and loads its weights piece by piece", () => {
    // 40 channels (3 blocks) × 25 taps = 75 K blocks: 1 pixel per tile in 128 input vectors. The 2 columns'
    // 150 blocks, in GEMMs of one tap (3 blocks), come in 10 pieces of 5 taps (15 of the 16 wgt blocks).
    const { program, sim } = run({
      inputs: { x: [1, 40, 5, 6] },
      constants: { w: tensor("float32", [17, 40, 5, 5], randomFloats(7, 17 * 40 * 25)) },
      nodes: [{ op: "Conv", inputs: ["x", "w"], outputs: ["y"], attrs: { pads: ints([2, 2, 2, 2]) } }],
    });
    const gemms = program.insns.filter((i) => i.op === "gemm");
    expect(new Set(gemms.map((i) => i.rows))).toEqual(new Set([1]));
    expect(program.insns.filter((i) => i.op === "load" && i.mem === "wgt").length).toBe(30 * 10);
    // Every present weight block once per output pixel: 30 pixels × 2 columns × 25 taps × 3 source blocks.
    expect(sim.stats.idealCycles).toBe(30 * 2 * 25 * 3);
  });

  it("sums more than 32 K blocks of one tap in several GEMMs into the same accumulators", () => {
    // 600 channels: 38 blocks per pixel, in GEMMs of 32 and 6 blocks (16 and 16 + 6 on the small machine).
    const g: Graphlet = {
      inputs: { x: [1, 600, 2, 3] },
      constants: { w: tensor("float32", [20, 600, 1, 1], randomFloats(11, 20 * 600)), b: tensor("float32", [20], randomFloats(12, 20)) },
      nodes: [{ op: "Conv", inputs: ["x", "w", "b"], outputs: ["y"] }],
    };
    const blocks = (p: Program) => p.insns.flatMap((i) => (i.op === "gemm" ? [i.kBlocks] : []));
    expect(blocks(checkOnNna(g).program)).toEqual([32, 6, 32, 6]);
    expect(blocks(run(g).program).slice(0, 3)).toEqual([16, 16, 6]);
  });

  it("sums a global average over bands of rows when the map does not fit acc", () => {
    const { program } = run({ inputs: { x: [2, 40, 13, 13] }, nodes: [{ op: "GlobalAveragePool", inputs: ["x"], outputs: ["y"] }] });
    // 95 acc vectors minus 3 constants and 3 sums leave room for 2 rows of 13 pixels × 3 blocks: 7 bands per image.
    expect(program.insns.filter((i) => i.op === "load" && i.mem === "acc" && i.mode === "i8").length).toBe(2 * 7);
  });

  it("GlobalMaxPool: the max of each image's codes, after a Conv and straight from an input, in bands when the map does not fit acc", () => {
    const conv: Graphlet = {
      inputs: { x: [2, 3, 9, 7] },
      constants: { w: tensor("float32", [17, 3, 3, 3], randomFloats(31, 17 * 27)), b: tensor("float32", [17], randomFloats(32, 17)) },
      nodes: [{ op: "Conv", inputs: ["x", "w", "b"], outputs: ["c"] }, { op: "GlobalMaxPool", inputs: ["c"], outputs: ["y"] }],
    };
    for (const weightBits of [8, 4]) checkOnNna(conv, { weightBits, seed: 33 });
    const { program } = run({ inputs: { x: [2, 40, 13, 13] }, nodes: [{ op: "GlobalMaxPool", inputs: ["x"], outputs: ["y"] }] });
    // 95 acc vectors minus the constant and 3 maxima leave room for 2 rows of 13 pixels × 3 blocks: 7 bands per image.
    expect(program.insns.filter((i) => i.op === "load" && i.mem === "acc" && i.mode === "i8").length).toBe(2 * 7);
  });

  it("splits a kernel row by columns when one row of a window does not fit (ppocr's 1 × 96 global average)", () => {
    const acc8 = (p: Program) => p.insns.filter((i) => i.op === "load" && i.mem === "acc" && i.mode === "i8").length;
    // 93 free acc vectors: 3 sums and 30 taps of 3 blocks, so 40 columns take 2 steps per image.
    expect(acc8(run({ inputs: { x: [2, 40, 1, 40] }, nodes: [{ op: "GlobalAveragePool", inputs: ["x"], outputs: ["y"] }] }).program)).toBe(2 * 2);
    // The default machine: 200 channels (13 blocks) × 96 columns in steps of 77 columns.
    expect(acc8(checkOnNna({ inputs: { x: [1, 200, 1, 96] }, nodes: [{ op: "GlobalAveragePool", inputs: ["x"], outputs: ["y"] }] }).program)).toBe(2);
    // Padded windows of 2 × 35 taps: each output pixel in 2 kernel rows × 2 column steps, the padding in the first and last.
    for (const [op, attrs] of [
      ["AveragePool", { count_include_pad: int(0) }],
      ["AveragePool", { count_include_pad: int(1) }],
      ["MaxPool", {}],
    ] as const) {
      const g: Graphlet = { inputs: { x: [1, 40, 2, 40] }, nodes: [{ op, inputs: ["x"], outputs: ["y"], attrs: { kernel_shape: ints([2, 35]), pads: ints([0, 3, 0, 3]), ...attrs } }] };
      const { program, ref } = run(g);
      expect(acc8(program)).toBe(12 * 4);
      expect(ref.get("y_q")!.data.length).toBe(40 * 12);
    }
  });

  it("pools part of a row at a time when one output row's windows do not fit", () => {
    const { program } = run({
      inputs: { x: [1, 17, 3, 40] },
      nodes: [{ op: "AveragePool", inputs: ["x"], outputs: ["y"], attrs: { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]), count_include_pad: int(0) } }],
    });
    const stores = program.insns.filter((i) => i.op === "store");
    expect(stores.length).toBeGreaterThan(3);
    expect(Math.max(...stores.map((s) => s.ySize))).toBeLessThan(40);
  });
});

describe("grouped and depthwise convolutions: block-diagonal weights, zero blocks masked out", () => {
  const conv = (c: number, m: number, group: number, x: number[], weightBits = 8) => checkOnNna({
    inputs: { x },
    constants: { w: tensor("float32", [m, c / group, 3, 3], randomFloats(c * m + group, m * (c / group) * 9)), b: tensor("float32", [m], randomFloats(5, m)) },
    nodes: [{ op: "Conv", inputs: ["x", "w", "b"], outputs: ["y"], attrs: { group: int(group), pads: ints([1, 1, 1, 1]) } }],
  }, { weightBits });

  it("depthwise, 40 channels: one block per tap and column instead of three", () => {
    // 3 columns of 16 channels, each meeting only its own 16-channel input block: 49 pixels × 9 taps × 3.
    expect(conv(40, 40, 40, [1, 40, 7, 7]).sim.stats.idealCycles).toBe(49 * 9 * 3);
  });

  it("depthwise, int4 weights: a 32-channel column meets two input blocks", () => {
    // Column 0 (channels 0–31) reads blocks 0 and 1, column 1 (32–39) block 2.
    expect(conv(40, 40, 40, [1, 40, 7, 7], 4).sim.stats.idealCycles).toBe(49 * 9 * 3);
  });

  it("depthwise with a channel multiplier of 2 (17 → 34 channels), batch 2", () => {
    // Columns 0–15, 16–31 read channels 0–15 (block 0); column 32–33 reads channel 16 (block 1).
    expect(conv(17, 34, 17, [2, 17, 4, 6]).sim.stats.idealCycles).toBe(2 * 24 * 9 * 3);
  });

  it("8 groups of 5 channels, straddling the 16-channel blocks", () => {
    // Outputs 0–15 read channels 0–19 (blocks 0, 1), 16–31 read 15–34 (0, 1, 2), 32–39 read 30–39 (1, 2).
    expect(conv(40, 40, 8, [1, 40, 5, 5]).sim.stats.idealCycles).toBe(25 * 9 * (2 + 3 + 2));
  });
});

const i64 = (v: number[]) => tensor("int64", [v.length], BigInt64Array.from(v.map(BigInt)));

describe("layouts: reshapes of feature maps and the program's boundary", () => {
  const w = tensor("float32", [17, 3, 3, 3], randomFloats(3, 17 * 27));
  const conv = { op: "Conv", inputs: ["x", "w"], outputs: ["c"] };
  const layouts = (p: Program) => p.tensors.map((t) => `${t.name}:${t.layout ?? "dense"}:[${t.shape}]`);

  it("places an input the convolutions read in nhwc, and reads an nhwc output back", () => {
    const { program, sim, q, ref } = checkOnNna({ inputs: { x: [2, 3, 6, 5] }, constants: { w }, nodes: [{ ...conv, outputs: ["y"] }] });
    expect(layouts(program)).toEqual(["x:nhwc:[2,3,6,5]", "y:nhwc:[2,17,4,3]"]);
    // Pixel (n, y, x) of the input holds its 3 channels at 16-byte steps.
    const x = ref.get(q.graph.nodes[0]!.outputs[0]!)!.data as Int8Array;
    const input = program.tensors[0]!;
    for (const [n, c, p] of [[0, 0, 0], [0, 2, 29], [1, 1, 7]] as const) {
      expect(sim.machine.dramI8[input.addr + (n * 30 + p) * 16 + c]).toBe(x[(n * 3 + c) * 30 + p]);
    }
  });

  it("keeps a dense input of one channel for a convolution to read in place", () => {
    const { program } = checkOnNna({
      inputs: { x: [1, 1, 9, 7] }, constants: { w: tensor("float32", [4, 1, 3, 3], randomFloats(4, 36)) }, nodes: [{ ...conv, outputs: ["y"] }],
    });
    expect(layouts(program)).toEqual(["x:dense:[1,1,9,7]", "y:nhwc:[1,4,7,5]"]);
    // One K block per tap, read at 1-byte pixel steps.
    const taps = program.insns.filter((i) => i.op === "load" && i.mem === "inp");
    expect([taps.length, ...new Set(taps.map((l) => l.op === "load" && l.xStride))]).toEqual([9, 1]);
  });

  it("copies a dense input of several channels to nhwc on the device", () => {
    // Unsqueeze keeps [2, 3, 9] dense; the 1×3 convolution of its [2, 3, 1, 9] view needs nhwc.
    const { program } = checkOnNna({
      inputs: { x: [2, 3, 9] },
      constants: { w: tensor("float32", [5, 3, 1, 3], randomFloats(9, 45)), a: i64([2]), b: i64([2]) },
      nodes: [
        { op: "Unsqueeze", inputs: ["x", "a"], outputs: ["u"] },
        { op: "Conv", inputs: ["u", "w"], outputs: ["c"], attrs: { pads: ints([0, 1, 0, 1]) } },
        { op: "Squeeze", inputs: ["c", "b"], outputs: ["y"] },
      ],
    });
    expect(layouts(program)).toEqual(["x:dense:[2,3,9]", "y:nhwc:[2,5,9]"]);
    // The copy stores each channel of each image as a column of bytes at the 16-byte pitch.
    expect(program.insns.filter((i) => i.op === "store" && i.xSize === 1 && i.yStride === 16).length).toBe(2 * 3);
  });

  it("reads a Flatten of a map of one pixel per image as padded rows, in a Gemm or as the output", () => {
    const gap = [conv, { op: "GlobalAveragePool", inputs: ["c"], outputs: ["p"] }];
    const viaGemm = checkOnNna({
      inputs: { x: [2, 3, 6, 5] }, constants: { w, a: i64([2, 3]), g: tensor("float32", [4, 17], randomFloats(5, 68)) },
      nodes: [...gap, { op: "Squeeze", inputs: ["p", "a"], outputs: ["s"] }, { op: "Gemm", inputs: ["s", "g"], outputs: ["y"], attrs: { transB: int(1) } }],
    });
    expect(layouts(viaGemm.program)).toEqual(["x:nhwc:[2,3,6,5]", "y:dense:[2,4]"]);
    const out = checkOnNna({ inputs: { x: [2, 3, 6, 5] }, constants: { w }, nodes: [...gap, { op: "Flatten", inputs: ["p"], outputs: ["y"] }] });
    expect(layouts(out.program)).toEqual(["x:nhwc:[2,3,6,5]", "y:nhwc:[2,17]"]);
  });

  it("aliases reshapes that keep N, C and the pixel order, and copies the others to dense", () => {
    const reshape = (shape: number[]) => checkOnNna({
      inputs: { x: [2, 3, 6, 5] }, constants: { w, s: i64(shape) }, nodes: [conv, { op: "Reshape", inputs: ["c", "s"], outputs: ["y"] }],
    });
    const spatial = reshape([2, 17, 12]);
    expect(layouts(spatial.program)).toEqual(["x:nhwc:[2,3,6,5]", "y:nhwc:[2,17,12]"]);
    expect(spatial.sim.stats.layers.flatMap((l) => l.name ?? [])).toEqual(["n0"]);
    const mixed = reshape([2, 17 * 4, 3]);
    expect(layouts(mixed.program)).toEqual(["x:nhwc:[2,3,6,5]", "y:dense:[2,68,3]"]);
    expect(mixed.sim.stats.layers.flatMap((l) => l.name ?? [])).toEqual(["n0", "n1"]);
    const flat = checkOnNna({ inputs: { x: [2, 3, 6, 5] }, constants: { w }, nodes: [conv, { op: "Flatten", inputs: ["c"], outputs: ["y"] }] });
    expect(layouts(flat.program)).toEqual(["x:nhwc:[2,3,6,5]", "y:dense:[2,204]"]);
  });

  it("writes the layout into .nnab and .nnas, byte-identical both ways", () => {
    const { program } = checkOnNna({ inputs: { x: [2, 3, 6, 5] }, constants: { w }, nodes: [{ ...conv, outputs: ["y"] }] });
    const bytes = encodeProgram(program);
    expect(decodeProgram(bytes).tensors.map((t) => t.layout)).toEqual(["nhwc", "nhwc"]);
    expect(encodeProgram(decodeProgram(bytes))).toEqual(bytes);
    const text = disassemble(bytes);
    expect(text).toContain('.tensor name="x" io=input dtype=int8 shape=[2, 3, 6, 5]');
    expect(text.split("\n").filter((l) => l.startsWith(".tensor")).every((l) => l.endsWith(" layout=nhwc"))).toBe(true);
    expect(assemble(text)).toEqual(bytes);
    expect(printProgram(decodeProgram(assemble(text)))).toBe(text);
  });

  it("sizes nhwc tensors by their padded pixels and refuses ones that cannot be nhwc", () => {
    const base: IoTensor = { name: "t", kind: "input", dtype: "int8", shape: [2, 17, 3], addr: 0, scale: 1, zeroPoint: 0, layout: "nhwc" };
    const table = (t: IoTensor, dramBytes: number) => encodeProgram({ configHash: "0".repeat(16), dramBytes, tensors: [t], layers: [], segments: [], insns: [] });
    expect(table(base, 2 * 3 * 32).length).toBeGreaterThan(0);
    expect(thrown(() => table(base, 2 * 3 * 32 - 1)).message).toContain("past the DRAM size");
    expect(thrown(() => table({ ...base, dtype: "int4" }, 4096)).message).toContain("nhwc layout must be [N, C, …] 8-bit codes");
    expect(thrown(() => table({ ...base, shape: [16] }, 4096)).code).toBe("HW5010");
    expect(thrown(() => assemble('.tensor name="t" io=input dtype=int8 shape=[1, 2] addr=0 layout=nchw\nfinish')).message).toContain("expected one of dense, nhwc");
  });
});

describe("unsupported forms name the node", () => {
  it("a 3-D convolution, and MaxPool's Indices output", () => {
    const conv3d = quantized({
      inputs: { x: [1, 2, 3, 3, 3] }, constants: { w: tensor("float32", [2, 2, 1, 1, 1], randomFloats(1, 4)) },
      nodes: [{ op: "Conv", inputs: ["x", "w"], outputs: ["y"], name: "c3" }],
    });
    const e = thrown(() => lowerModel(conv3d));
    expect([e.code, e.where.node, e.message]).toEqual(["HW5042", "c3", "Conv on the NNA: 3 spatial axes are not supported (1 or 2)"]);
    // The quantizer leaves a MaxPool with Indices in float: add the output to a quantized one.
    const q = quantized({ inputs: { x: [1, 2, 4, 4] }, nodes: [{ op: "MaxPool", inputs: ["x"], outputs: ["y"], attrs: { kernel_shape: ints([2, 2]) }, name: "mp" }] });
    const nodes = q.graph.nodes.map((n) => (n.name === "mp" ? { ...n, outputs: [...n.outputs, "i"] } : n));
    const f = thrown(() => lowerModel({ ...q, graph: { ...q.graph, nodes } }));
    expect([f.code, f.where.node, f.message]).toEqual(["HW5042", "mp", "MaxPool on the NNA: the Indices output is not supported"]);
  });
});

/** A graphlet quantized and bound to its input shapes, not lowered. */
function quantized(g: Graphlet): Model {
  const q = quantize(floatModel(g), randomSets(g, 1)).model;
  return staticize(q, { inputShapes: new Map(Object.entries(g.inputs)) }).model;
}

/** The first `n` rows from `from` of a [batch, …] tensor. */
function rows(t: Tensor, from: number, n: number): Tensor {
  const inner = t.data.length / t.shape[0]!;
  return tensor(t.dtype, [n, ...t.shape.slice(1)], (t.data as Float32Array).slice(from * inner, (from + n) * inner));
}

describe("digits-cnn (Conv → Relu → Conv → Relu → MaxPool → Flatten → Gemm) end to end", () => {
  const dir = join(FIXTURES, "trained", "digits-cnn");
  const model = loadModel(join(dir, "model.onnx"));
  const images = readInputs(join(dir, "test_data_set_0"), model).get("x")!;

  // [cycles, ideal cycles] per weight width and batch; ideal = Σ pixels × taps × weight columns
  // (conv 1: 64 × 9 × 1, conv 2: 64 × 9 × 2 columns of 16, or 1 of 32 in int4) + the Gemm's 32 K blocks per image.
  const pinned: Record<string, [number, number]> = {
    "W8 batch 1": [4198, 576 + 1152 + 32],
    "W8 batch 4": [11602, 4 * (576 + 1152 + 32)],
    "W4 batch 1": [3719, 576 + 576 + 32],
    "W4 batch 4": [9347, 4 * (576 + 576 + 32)],
  };
  for (const bits of [8, 4]) {
    for (const batch of [1, 4]) {
      it(`W${bits}A8, batch ${batch}: equal to runQuantized on 40 test images, cycles and utilization pinned`, () => {
        const q = quantize(model, [readInputs(join(dir, "calib"), model)], { static: false, config: defaultConfig({ weightBits: bits }) }).model;
        const s = staticize(q, { inputShapes: new Map([["x", [batch, 1, 8, 8]]]) }).model;
        const program = decodeProgram(encodeProgram(lowerModel(s)));
        expect(program.tensors.map((t) => t.layout ?? "dense")).toEqual(["dense", "dense"]);
        const winners = new Set<number>();
        let stats;
        for (let r0 = 0; r0 < 40; r0 += batch) {
          const ref = runQuantized(s, { x: rows(images, r0, batch) }, { keepAll: true });
          const sim = simulate(program, { inputs: { x: ref.get("x_q")! } });
          const want = ref.get("logits_q")!;
          expect(sim.outputs.get("logits")).toEqual(want);
          for (let i = 0; i < batch; i++) {
            const row = Array.from((want.data as Int8Array).subarray(10 * i, 10 * i + 10));
            winners.add(row.indexOf(Math.max(...row)));
          }
          stats = sim.stats;
        }
        expect(winners.size).toBeGreaterThan(5);
        const [cycles, ideal] = pinned[`W${bits} batch ${batch}`]!;
        expect([stats!.cycles, stats!.idealCycles, stats!.utilization]).toEqual([cycles, ideal, ideal / cycles]);
      });
    }
  }

  it("runs tiled on a small machine with the same codes", () => {
    // The Gemm needs a column's 32 K blocks in wgt at once.
    const small = parseConfig({ ...SMALL, scratchpad: { ...SMALL.scratchpad, wgtBytes: 32 * 256 } });
    const q = quantize(model, [readInputs(join(dir, "calib"), model)], { static: false }).model;
    const s = staticize(q, { inputShapes: new Map([["x", [4, 1, 8, 8]]]) }).model;
    const ref = runQuantized(s, { x: rows(images, 0, 4) }, { keepAll: true });
    const sim = simulate(lowerModel(s, { config: small }), { config: small, inputs: { x: ref.get("x_q")! } });
    expect(sim.outputs.get("logits")).toEqual(ref.get("logits_q"));
  });
});

/** The model with its LeakyRelu and Max nodes left out, each consumer reading the node's input instead. */
function withoutActivations(m: Model): Model {
  const skip = new Map<string, string>();
  const nodes = [];
  for (const n of m.graph.nodes) {
    const inputs = n.inputs.map((i) => skip.get(i) ?? i);
    if (n.op === "LeakyRelu" || n.op === "Max") skip.set(n.outputs[0]!, inputs[0]!);
    else nodes.push({ ...n, inputs });
  }
  return { ...m, graph: { ...m.graph, nodes } };
}

describe("oww_embedding_model: 20 convolutions and 5 max pools on a 76 × 32 spectrogram", () => {
  const dir = join(FIXTURES, "real", "oww_embedding_model");
  const full = loadModel(join(dir, "model.onnx"));
  const sets = [0, 1].map((k) => readInputs(join(dir, `test_data_set_${k}`), full));

  /** Quantized on both data sets, bound to set k's batch, simulated on set k: the output codes must equal the reference's. */
  function check(m: Model, weightBits: number, k: number) {
    const q = quantize(m, sets, { static: false, config: defaultConfig({ weightBits }) }).model;
    const s = staticize(q, { inputShapes: new Map([["input_1", sets[k]!.get("input_1")!.shape]]) }).model;
    const ref = runQuantized(s, sets[k]!, { keepAll: true });
    const boundary = (op: string) => s.graph.nodes.find((n) => n.op === op)!;
    const program = decodeProgram(encodeProgram(lowerModel(s)));
    const sim = simulate(program, { inputs: { input_1: ref.get(boundary("QuantizeLinear").outputs[0]!)! } });
    expect(sim.outputs.get("conv2d_19")).toEqual(ref.get(boundary("DequantizeLinear").inputs[0]!));
    return { stats: sim.stats, model: s };
  }

  /** Σ over the convolutions of output pixels × taps × input blocks of 16 channels × weight columns of `lanes` channels. */
  function denseSteps(m: Model, lanes: number): number {
    const shape = (v: string) => m.graph.valueTypes.get(v)!.shape as number[];
    return m.graph.nodes.filter((n) => n.op === "Conv").reduce((sum, n) => {
      const [[, c], [, k, ...out], [, , ...kernel]] = [shape(n.inputs[0]!), shape(n.outputs[0]!), m.graph.initializers.get(n.inputs[1]!)!.shape];
      const product = (a: number[]) => a.reduce((x, y) => x * y, 1);
      return sum + product(out) * product(kernel) * Math.ceil(c! / 16) * Math.ceil(k! / lanes);
    }, 0);
  }

  // The convolution stack with its real weights, without the activations (lowered elsewhere).
  const convs = withoutActivations(full);

  it("W8A8, one window: bit-exact, cycles pinned", () => {
    const { stats, model } = check(convs, 8, 0);
    // No weight block of the trained model is all zero: the array runs every dense step once.
    expect(stats.idealCycles).toBe(denseSteps(model, 16));
    expect([stats.cycles, stats.idealCycles]).toEqual([339829, 243324]);
  });

  it("W8A8 on a batch of 2 and W4A8: bit-exact", () => {
    expect(check(convs, 8, 1).stats.idealCycles).toBe(2 * 243324);
    const w4 = check(convs, 4, 0);
    expect(w4.stats.idealCycles).toBe(denseSteps(w4.model, 32));
  });

  it("the whole model, with its LeakyRelu and Max (elementwise lowerings): bit-exact", () => {
    const { stats, model } = check(full, 8, 0);
    expect(stats.idealCycles).toBe(denseSteps(model, 16));
  });
});
