/**
 * The AIMC interpreter (backends/aimc/sim): in the `exact` profile it equals the integer
 * reference of the AIMC-quantized graph bit for bit, on hand-made programs whose layers span
 * several 64×48 tiles and on the bundled models; with noise it is reproducible for a seed
 * whatever the batch split, and every non-ideality matters on its own.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NON_IDEALITIES, parseConfig, parseNoiseList, profileConfig, withNoise, type AimcConfig } from "../../backends/aimc/config.js";
import { assemble } from "../../backends/aimc/format.js";
import { lowerForAimc } from "../../backends/aimc/lower/index.js";
import { mapLayers, splitSizes } from "../../backends/aimc/mapping.js";
import { checkProgram, type AimcProgram } from "../../backends/aimc/program.js";
import { programChip, simulateAimc } from "../../backends/aimc/sim/index.js";
import type { Attr, Model, Node, TensorType } from "../../ir/graph.js";
import { runQuantized } from "../../ir/interpret.js";
import { xorshift32 } from "../../ir/numeric.js";
import { i64, numel, scalar, tensor, toFloat64, type Tensor } from "../../ir/tensor.js";
import { readInputs } from "../../src/io.js";
import { loadModel } from "../../src/onnx/load.js";
import { staticize } from "../../src/pipeline.js";
import { quantize } from "../../src/quant/index.js";
import { sqnr } from "../../src/quant/report.js";
import { dataSets, FIXTURES } from "../helpers/fixtures.js";

const YEAR = 365 * 86_400;
const TILE = { rows: 64, cols: 48 };
const EXACT_64x48 = parseConfig({ profile: "exact", tile: TILE });

/** Seeded uniform numbers in [lo, hi]: integers when `int`, else floats. */
function uniform(seed: number, n: number, lo: number, hi: number, int: boolean): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = xorshift32(s);
    const u = s / 2 ** 32;
    return int ? lo + Math.floor(u * (hi - lo + 1)) : lo + u * (hi - lo);
  });
}

const quant = (dtype: "int8" | "int32", shape: number[], scale: number[], zp: number[], axis?: number): TensorType => ({
  dtype, shape, quant: { scale: Float32Array.from(scale), zeroPoint: Int32Array.from(zp), ...(axis === undefined ? {} : { axis }) },
});
const ints = (value: number[]): Attr => ({ kind: "ints", value });

interface LayerSpec {
  name: string;
  k: number;
  n: number;
  /** W's shape ([N, K] in matmul mode). */
  wShape: number[];
  sx: number;
  bias: boolean;
  conv?: Record<string, Attr>;
}

/**
 * x [B, 6, 7, 7] → QuantizeLinear (zero point −3) → conv (AnalogMvm, 5×5, strides 2×1, pads 1:
 * K = 150, N = 100, [B, 100, 3, 5]) → Reshape, Transpose [B, 15, 100] → mm (AnalogMvm in matmul
 * mode, 15 positions per item, K = 100, N = 20, no bias) → Reshape [B, 300] → fc (K = 300, N = 10)
 * → DequantizeLinear. Row blocks get different input ranges, some small enough to clip the DAC.
 */
function handProgram(batch: number): AimcProgram {
  const sx = 1 / 120;
  const [sa, sb, sy] = [0.03, 0.07, 0.25];
  const specs: LayerSpec[] = [
    { name: "conv", k: 150, n: 100, wShape: [100, 6, 5, 5], sx, bias: true,
      conv: { kernel_shape: ints([5, 5]), strides: ints([2, 1]), pads: ints([1, 1, 1, 1]), dilations: ints([1, 1]) } },
    { name: "mm", k: 100, n: 20, wShape: [20, 100], sx: sa, bias: false },
    { name: "fc", k: 300, n: 10, wShape: [10, 300], sx: sb, bias: true },
  ];
  const initializers = new Map<string, Tensor>([
    ["x.scale", scalar("float32", sx)], ["x.zp", scalar("int8", -3)],
    ["y.scale", scalar("float32", sy)], ["y.zp", scalar("int8", 0)],
    ["a3.shape", i64([3], [batch, 100, 15])], ["bf.shape", i64([2], [batch, 300])],
  ]);
  const valueTypes = new Map<string, TensorType>([
    ["xq", quant("int8", [batch, 6, 7, 7], [sx], [-3])],
    ["a", quant("int8", [batch, 100, 3, 5], [sa], [2])],
    ["a3", quant("int8", [batch, 100, 15], [sa], [2])],
    ["at", quant("int8", [batch, 15, 100], [sa], [2])],
    ["b", quant("int8", [batch, 15, 20], [sb], [0])],
    ["bf", quant("int8", [batch, 300], [sb], [0])],
    ["yq", quant("int8", [batch, 10], [sy], [0])],
  ]);
  const io: Record<string, [string, string]> = { conv: ["xq", "a"], mm: ["at", "b"], fc: ["bf", "yq"] };
  const analog = specs.map((l, i): { node: Node; codes: Int8Array; bias?: Int32Array; scales: number[]; ranges: number[] } => {
    const codes = Int8Array.from(uniform(11 + i, l.n * l.k, -127, 127, true));
    const scales = Array.from({ length: l.n }, (_, c) => Math.fround(0.002 * (1 + (c % 5) / 4)));
    const rowBlocks = splitSizes(l.k, TILE.rows);
    const ranges = rowBlocks.map((_, b) => Math.fround(l.sx * [60, 128, 200][b % 3]!));
    initializers.set(`${l.name}.w`, tensor("int8", l.wShape, codes));
    valueTypes.set(`${l.name}.w`, quant("int8", l.wShape, scales, scales.map(() => 0), 0));
    const inputs = [io[l.name]![0], `${l.name}.w`];
    let bias: Int32Array | undefined;
    if (l.bias) {
      bias = Int32Array.from(uniform(21 + i, l.n, -20_000, 20_000, true));
      initializers.set(`${l.name}.b`, tensor("int32", [l.n], bias));
      valueTypes.set(`${l.name}.b`, quant("int32", [l.n], scales.map((s) => Math.fround(l.sx) * s), scales.map(() => 0), 0));
      inputs.push(`${l.name}.b`);
    }
    const attrs: Record<string, Attr> = {
      ...l.conv,
      row_blocks: ints(rowBlocks),
      input_range: { kind: "floats", value: ranges },
      weight_bits: { kind: "int", value: 8 },
      dac_bits: { kind: "int", value: 8 }, dac_bound: { kind: "float", value: 1 },
      adc_bits: { kind: "int", value: 8 }, adc_bound: { kind: "float", value: 10 },
    };
    const node: Node = { op: "AnalogMvm", domain: "hwac", name: l.name, inputs, outputs: [io[l.name]![1]], attrs };
    return { node, codes, ...(bias ? { bias } : {}), scales, ranges };
  });
  const plain = (op: string, inputs: string[], output: string, attrs: Record<string, Attr> = {}): Node =>
    ({ op, domain: "", name: output, inputs, outputs: [output], attrs });
  const nodes: Node[] = [
    plain("QuantizeLinear", ["x", "x.scale", "x.zp"], "xq"),
    analog[0]!.node,
    plain("Reshape", ["a", "a3.shape"], "a3"),
    plain("Transpose", ["a3"], "at", { perm: ints([0, 2, 1]) }),
    analog[1]!.node,
    plain("Reshape", ["b", "bf.shape"], "bf"),
    analog[2]!.node,
    plain("DequantizeLinear", ["yq", "y.scale", "y.zp"], "y"),
  ];
  const model: Model = {
    irVersion: 8,
    opsets: { "": 17, hwac: 1 },
    producer: "test",
    graph: {
      name: "hand",
      inputs: [{ name: "x", type: { dtype: "float32", shape: [batch, 6, 7, 7] } }],
      outputs: [{ name: "y", type: { dtype: "float32", shape: [batch, 10] } }],
      initializers, nodes, valueTypes,
    },
  };
  const mapped = mapLayers(specs.map((l) => ({ name: l.name, rows: l.k, cols: l.n })), TILE);
  const { mapping, image } = assemble(
    mapped,
    analog.map((a) => (a.bias ? { codes: a.codes, bias: a.bias } : { codes: a.codes })),
    analog.map((a) => ({ weightBits: 8, scales: { weight: a.scales, input: a.ranges } })),
  );
  const program = { model, mapping, image };
  checkProgram(program);
  return program;
}

function handFeeds(batch: number, seed = 5): Map<string, Tensor> {
  return new Map([["x", tensor("float32", [batch, 6, 7, 7], Float32Array.from(uniform(seed, batch * 294, -1, 1, false)))]]);
}

/** The index of the first element where two tensors differ (dtype, shape, then bytes), or −1. */
function firstDifference(got: Tensor, want: Tensor): number {
  if (got.dtype !== want.dtype || got.shape.join() !== want.shape.join()) return 0;
  const a = got.data as Float32Array;
  const b = want.data as Float32Array;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

/** Expects every value `want` holds to be in `got`, equal bit for bit. */
function expectSame(got: Map<string, Tensor>, want: Map<string, Tensor>): void {
  for (const [name, w] of want) {
    const g = got.get(name);
    expect(g, name).toBeDefined();
    expect(firstDifference(g!, w), name).toBe(-1);
  }
}

/** Whether any AnalogMvm output or graph output differs. */
function differs(a: Map<string, Tensor>, b: Map<string, Tensor>): boolean {
  return [...b].some(([name, t]) => firstDifference(a.get(name)!, t) !== -1);
}

describe("hand-made program on 64×48 tiles", () => {
  const program = handProgram(2);
  const feeds = handFeeds(2);
  const exact = simulateAimc(program, feeds, { config: EXACT_64x48, keepAll: true });

  it("splits K = 150 into 3 row blocks and N = 100 into 3 column blocks, sharing tiles between layers", () => {
    const [conv, mm, fc] = program.mapping.layers;
    expect(conv!.blocks.map((b) => [b.inCount, b.outCount])).toEqual([50, 50, 50].flatMap((r) => [34, 33, 33].map((c) => [r, c])));
    expect(mm!.blocks.map((b) => b.inCount)).toEqual([50, 50]);
    expect(fc!.blocks.map((b) => b.inCount)).toEqual([60, 60, 60, 60, 60]);
    const layersOnTile = new Map<number, Set<string>>();
    for (const l of program.mapping.layers) for (const b of l.blocks) layersOnTile.set(b.tile, (layersOnTile.get(b.tile) ?? new Set()).add(l.name));
    expect([...layersOnTile.values()].some((s) => s.size > 1)).toBe(true);
  });

  it("in the exact profile equals the integer reference bit for bit, every value", () => {
    expectSame(exact, runQuantized(program.model, feeds, { keepAll: true }));
    // Real work, not saturated codes: the layers' outputs spread over many codes.
    for (const v of ["a", "b", "yq"]) {
      const codes = exact.get(v)!.data as Int8Array;
      expect(new Set(codes).size, v).toBeGreaterThan(Math.min(25, codes.length / 2));
      expect(codes.filter((c) => c === 127 || c === -128).length, v).toBeLessThan(codes.length / 50);
    }
  });

  it("with noise `none` equals the exact profile; each non-ideality alone changes the outputs", () => {
    const standard = parseConfig({ tile: TILE });
    expectSame(simulateAimc(program, feeds, { config: withNoise(standard, parseNoiseList("none")), keepAll: true }), exact);
    for (const n of NON_IDEALITIES) {
      const got = simulateAimc(program, feeds, { config: withNoise(standard, parseNoiseList(n)), seed: 3, keepAll: true });
      expect(differs(got, exact), n).toBe(true);
    }
  });

  it("reproduces a seed and changes with it", () => {
    const config = parseConfig({ tile: TILE });
    const a = simulateAimc(program, feeds, { config, seed: 9 });
    expectSame(simulateAimc(program, feeds, { config, seed: 9 }), a);
    expect(differs(simulateAimc(program, feeds, { config, seed: 10 }), a)).toBe(true);
  });

  it("refuses a chip programmed for another seed, and a config with other converters", () => {
    const config = parseConfig({ tile: TILE });
    const chip = programChip(program, config, 1, 60);
    expect(() => simulateAimc(program, feeds, { config, seed: 2, t: 60, chip })).toThrow(expect.objectContaining({ code: "HW5150" }));
    const adc6 = parseConfig({ tile: TILE, adc: { bits: 6 } });
    expect(() => simulateAimc(program, feeds, { config: adc6 })).toThrow("AnalogMvm 'conv' was compiled for adc_bits 8, the chip config has 6");
  });
});

/** The first item of each input of a trained model's data set (its batch axis: 1 for kws-lstm's [T, B, F]). */
function firstItem(t: Tensor, axis: number): Tensor {
  const shape = [...t.shape];
  const n = shape[axis]!;
  shape[axis] = 1;
  const inner = numel(t.shape.slice(axis + 1));
  const out = tensor(t.dtype, shape);
  const src = t.data as Float32Array;
  for (let o = 0; o < numel(t.shape.slice(0, axis)); o++) (out.data as Float32Array).set(src.subarray(o * n * inner, o * n * inner + inner), o * inner);
  return out;
}

/** A fixture quantized (static: false), then made static for its first data set's first item. */
function fixtureProgram(name: string, config: AimcConfig): { program: AimcProgram; feeds: Map<string, Tensor> } {
  const dir = join(FIXTURES, name);
  const model = loadModel(join(dir, "model.onnx"));
  const sets = dataSets(dir).map((ds) => new Map(ds.inputs.map((x, i) => [model.graph.inputs[i]!.name, x.tensor])));
  const trained = name.startsWith("trained/");
  const q = quantize(model, trained ? [readInputs(join(dir, "calib"), model)] : sets, { static: false });
  // Trained sets hold many items; the real ones hold one, with a state of 2 layers in silero.
  const axis = name.endsWith("kws-lstm") ? 1 : 0;
  const feeds = new Map([...sets[0]!].map(([k, t]) => [k, trained ? firstItem(t, axis) : t]));
  // staticize binds the shapes to the feeds' (and freezes silero's constant sample rate).
  const s = staticize(q.model, { calibrationSets: [feeds] }).model;
  const low = lowerForAimc(s, { config });
  return { program: low, feeds };
}

describe("bundled models, exact profile on 64×48 tiles", () => {
  // oww_melspectrogram's only MVM is a float MatMul of its front end: no analog layer, all digital.
  const models: [string, number][] = [
    ["real/oww_melspectrogram", 0],
    // kws-lstm: two LSTMs (W and R each) and the Gemm; silero_vad_v5: its LSTM's W and R besides 5 Conv layers.
    ["trained/digits-mlp", 3], ["trained/digits-cnn", 3], ["trained/kws-lstm", 5], ["real/oww_alexa_v0.1", 3],
    ["real/oww_embedding_model", 20], ["real/ppocr_cls_mobile_v2", 43], ["real/silero_vad_v5", 7],
  ];
  it.each(models)("%s equals the integer reference bit for bit (%i analog layers)", (name, layers) => {
    const { program, feeds } = fixtureProgram(name, EXACT_64x48);
    expect(program.mapping.layers.length).toBe(layers);
    expectSame(simulateAimc(program, feeds, { config: EXACT_64x48, keepAll: true }), runQuantized(program.model, feeds, { keepAll: true }));
  }, 60_000);
});

describe("digits-cnn with every non-ideality", () => {
  const dir = join(FIXTURES, "trained/digits-cnn");
  const model = loadModel(join(dir, "model.onnx"));
  const q = quantize(model, [readInputs(join(dir, "calib"), model)], { static: false }).model;
  const config = profileConfig("standard");
  const compile = (batch: number) => lowerForAimc(staticize(q, { inputShapes: new Map([["x", [batch, 1, 8, 8]]]) }).model, { config });
  const x = readInputs(join(dir, "test_data_set_0"), model).get("x")!;
  const items = (first: number, count: number) => new Map([["x", tensor("float32", [count, 1, 8, 8], (x.data as Float32Array).slice(first * 64, (first + count) * 64))]]);
  const p4 = compile(4);

  it("gives byte-identical outputs for one batch of 4 and four batches of 1 (one chip, inference indices 0 … 3)", () => {
    const p1 = compile(1);
    const whole = simulateAimc(p4, items(0, 4), { config, seed: 7, keepAll: true });
    const chip = programChip(p1, config, 7, config.tInference);
    const values = [...p4.model.graph.nodes.filter((n) => n.op === "AnalogMvm").map((n) => n.outputs[0]!), "logits"];
    for (let k = 0; k < 4; k++) {
      const one = simulateAimc(p1, items(k, 1), { config, seed: 7, chip, firstInference: k, keepAll: true });
      for (const v of values) {
        const part = whole.get(v)!;
        const size = part.data.length / 4;
        const slice = tensor(part.dtype, [1, ...part.shape.slice(1)], (part.data as Float32Array).slice(k * size, (k + 1) * size));
        expect(firstDifference(one.get(v)!, slice), `${v} item ${k}`).toBe(-1);
      }
    }
    const exact = simulateAimc(p4, items(0, 4), { config: withNoise(config, parseNoiseList("none")), keepAll: true });
    expect(differs(whole, exact)).toBe(true);
    expect(differs(simulateAimc(p4, items(0, 4), { config, seed: 8, keepAll: true }), whole)).toBe(true);
  });

  it("after a year of drift is closer to its t = 0 outputs with drift compensation than without", () => {
    const drift = withNoise(config, parseNoiseList("drift"));
    const uncompensated = { ...drift, drift: { ...drift.drift, compensation: false } };
    const feeds = items(0, 4);
    const logits = (c: AimcConfig, t: number) => toFloat64(simulateAimc(p4, feeds, { config: c, seed: 1, t }).get("logits")!);
    const start = logits(drift, 0);
    const withComp = sqnr(start, logits(drift, YEAR));
    const without = sqnr(start, logits(uncompensated, YEAR));
    expect(withComp).toBeGreaterThan(without + 3);
  });
});
