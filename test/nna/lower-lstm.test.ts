/**
 * The quantized LSTM on the NNA against the integer reference (LSTM.runInt), bit for bit: Y
 * through the whole pipeline (checkOnNna), and Y, Y_h and Y_c (int16, which the program's outputs
 * do not carry yet) by lowering the quantized graph's nodes into a context and reading the
 * outputs' DRAM buffers after the run.
 */
import { describe, expect, it } from "vitest";
import { configHash, DEFAULT_CONFIG, parseConfig, simulate, type NnaConfig, type SimResult } from "../../backends/nna/index.js";
import { LOWERINGS, LowerCtx, lowerModel } from "../../backends/nna/lower/index.js";
import type { IoTensor, Program } from "../../backends/nna/program.js";
import type { Model } from "../../ir/graph.js";
import { runQuantized } from "../../ir/interpret.js";
import { numel, tensor, type Tensor } from "../../ir/tensor.js";
import { loadModel } from "../../src/index.js";
import { staticize } from "../../src/pipeline.js";
import { loadCalibrationSets } from "../../src/quant/calib-data.js";
import { defaultConfig } from "../../src/quant/config.js";
import { quantize } from "../../src/quant/index.js";
import { checkOnNna, floatModel, int, randomFloats, randomSets, type Graphlet } from "./single-op.js";

type Direction = "forward" | "reverse" | "bidirectional";

interface Case {
  hidden: number;
  input: number;
  seq: number;
  batch: number;
  direction: Direction;
}

const str = (value: string) => ({ kind: "string" as const, value });

/** An LSTM over x with seeded weights; `states` adds initial_h/initial_c as constants or graph inputs. */
function lstm(c: Case, seed: number, more: { outputs?: string[]; states?: "const" | "input"; layout?: number } = {}): Graphlet {
  const dirs = c.direction === "bidirectional" ? 2 : 1;
  const rows = 4 * c.hidden;
  const lead = more.layout === 1 ? [c.batch, c.seq] : [c.seq, c.batch];
  const state = more.layout === 1 ? [c.batch, dirs, c.hidden] : [dirs, c.batch, c.hidden];
  const g: Graphlet = {
    inputs: { x: [...lead, c.input] },
    constants: {
      w: tensor("float32", [dirs, rows, c.input], randomFloats(seed, dirs * rows * c.input, -0.6, 0.6)),
      r: tensor("float32", [dirs, rows, c.hidden], randomFloats(seed + 1, dirs * rows * c.hidden, -0.6, 0.6)),
      b: tensor("float32", [dirs, 2 * rows], randomFloats(seed + 2, dirs * 2 * rows, -0.5, 0.5)),
    },
    nodes: [{
      op: "LSTM", name: "cell", inputs: ["x", "w", "r", "b", "", ...(more.states ? ["h0", "c0"] : [])], outputs: more.outputs ?? ["y"],
      attrs: { hidden_size: int(c.hidden), direction: str(c.direction), ...(more.layout ? { layout: int(more.layout) } : {}) },
    }],
  };
  const n = numel(state);
  if (more.states === "const") {
    g.constants!["h0"] = tensor("float32", state, randomFloats(seed + 3, n, -0.8, 0.8));
    g.constants!["c0"] = tensor("float32", state, randomFloats(seed + 4, n, -2, 2));
  } else if (more.states === "input") {
    g.inputs["h0"] = state;
    g.inputs["c0"] = state;
  }
  return g;
}

interface Direct {
  q: Model;
  program: Program;
  ref: Map<string, Tensor>;
  sim: SimResult;
  /** The codes a lowered value's DRAM buffer holds after the run, read as the reference's tensor type. */
  read(name: string): Tensor;
}

/**
 * Quantizes `model` on `calib`, lowers its nodes up to and including `last` (graph inputs'
 * QuantizeLinear become program inputs), simulates on the reference's codes of `run` and
 * exposes every buffer.
 */
function lowerDirect(model: Model, calib: Map<string, Tensor>[], run: Map<string, Tensor>, opts: { weightBits?: number; config?: NnaConfig; last?: string } = {}): Direct {
  const config = opts.config ?? DEFAULT_CONFIG;
  const quantized = quantize(model, calib, { static: false, config: defaultConfig({ weightBits: opts.weightBits ?? 8 }) }).model;
  const q = staticize(quantized, { inputShapes: new Map([...run].map(([name, t]) => [name, [...t.shape]])) }).model;
  const ref = runQuantized(q, run, { keepAll: true });
  const ctx = new LowerCtx(q.graph, config, {});
  const tensors: IoTensor[] = [];
  const inputs: Record<string, Tensor> = {};
  for (const node of q.graph.nodes) {
    if (node.op === "QuantizeLinear" && q.graph.inputs.some((i) => i.name === node.inputs[0])) {
      const codes = ref.get(node.outputs[0]!)!;
      const cols = codes.shape.at(-1)!;
      const addr = ctx.activation(node.outputs[0]!, numel(codes.shape) / cols, cols).addr;
      tensors.push({ name: node.outputs[0]!, kind: "input", dtype: "int8", shape: [...codes.shape], addr, scale: 1, zeroPoint: 0 });
      inputs[node.outputs[0]!] = codes;
    } else if (node.op !== "DequantizeLinear") {
      LOWERINGS[node.op]!(node, ctx);
    }
    if (node.name === opts.last) break;
  }
  ctx.finish();
  const program: Program = { configHash: configHash(config), dramBytes: ctx.dramBytes, tensors, layers: ctx.layers, segments: ctx.segments, insns: ctx.insns };
  const sim = simulate(program, { config, inputs });
  const read = (name: string): Tensor => {
    const want = ref.get(name)!;
    const addr = ctx.buffer(name, q.graph.nodes[0]!).addr;
    const view = sim.machine.dramView;
    const n = numel(want.shape);
    const data = want.dtype === "int16" ? Int16Array.from({ length: n }, (_, i) => view.getInt16(addr + 2 * i, true)) : Int8Array.from({ length: n }, (_, i) => view.getInt8(addr + i));
    return tensor(want.dtype, want.shape, data);
  };
  return { q, program, ref, sim, read };
}

/** lowerDirect on a graphlet whose graph outputs are `outputs` of its last node. */
function checkOutputs(g: Graphlet, outputs: string[], opts: { seed?: number; weightBits?: number; config?: NnaConfig } = {}): Direct {
  const base = floatModel(g);
  const model: Model = { ...base, graph: { ...base.graph, outputs: outputs.map((name) => ({ name, type: { dtype: "float32", shape: null } })) } };
  const sets = randomSets(g, opts.seed ?? 1);
  const r = lowerDirect(model, sets, sets[0]!, opts);
  for (const name of outputs) {
    const codes = r.q.graph.nodes.find((n) => n.op === "DequantizeLinear" && n.outputs[0] === name)!.inputs[0]!;
    expect(r.read(codes), name).toEqual(r.ref.get(codes));
  }
  return r;
}

/** Machines whose wgt holds R but not W as well, or not even R: the weights stream through it. */
const streaming = (wgtBlocks: number, accVectors: number): NnaConfig =>
  parseConfig({ ...DEFAULT_CONFIG, name: `wgt${wgtBlocks}`, scratchpad: { ...DEFAULT_CONFIG.scratchpad, wgtBytes: wgtBlocks * 256, accBytes: accVectors * 64 } });

describe("LSTM on the NNA", () => {
  const cases: (Case & { weightBits: number })[] = [];
  for (const hidden of [8, 20, 33]) {
    for (const input of [5, 40]) {
      for (const [seq, batch] of [[1, 1], [7, 3], [7, 1]] as const) {
        for (const direction of ["forward", "reverse", "bidirectional"] as const) {
          for (const weightBits of [8, 4]) cases.push({ hidden, input, seq, batch, direction, weightBits });
        }
      }
    }
  }
  it.each(cases)("hidden $hidden, input $input, seq $seq, batch $batch, $direction, W$weightBits: Y equals runQuantized", (c) => {
    const { q } = checkOnNna(lstm(c, c.hidden * 7 + c.input + c.seq), { weightBits: c.weightBits });
    const w = q.graph.initializers.get(q.graph.nodes.find((n) => n.op === "LSTM")!.inputs[1]!)!;
    expect(w.dtype).toBe(c.weightBits === 4 ? "int4" : "int8");
  });

  it("skips the recurrent GEMMs of the first step when the initial hidden state is all zero codes", () => {
    // H = 8, input 5: one K block each, 4 weight columns; the projection is 4 GEMMs, then 4 per step from the second.
    const { program } = checkOnNna(lstm({ hidden: 8, input: 5, seq: 3, batch: 1, direction: "forward" }, 1));
    expect(program.insns.filter((i) => i.op === "gemm")).toHaveLength(4 + 2 * 4);
    // int4 columns hold 32 channels: 2 columns.
    const int4 = checkOnNna(lstm({ hidden: 8, input: 5, seq: 3, batch: 1, direction: "forward" }, 1), { weightBits: 4 }).program;
    expect(int4.insns.filter((i) => i.op === "gemm")).toHaveLength(2 + 2 * 2);
  });

  it.each([
    ["forward", 0], ["bidirectional", 0], ["reverse", 1], ["bidirectional", 1],
  ] as const)("Y, Y_h and Y_c with constant initial states, %s, layout %i", (direction, layout) => {
    const c = { hidden: 20, input: 5, seq: 6, batch: 3, direction };
    checkOutputs(lstm(c, 11, { outputs: ["y", "yh", "yc"], states: "const", layout }), ["y", "yh", "yc"]);
  });

  it.each([0, 1])("initial states computed on the NNA (graph inputs), bidirectional, layout %i", (layout) => {
    const c = { hidden: 33, input: 40, seq: 4, batch: 3, direction: "bidirectional" as const };
    const { q } = checkOutputs(lstm(c, 5, { outputs: ["y", "yh", "yc"], states: "input", layout }), ["y", "yh", "yc"]);
    expect(q.graph.nodes.filter((n) => n.op === "QuantizeLinear").map((n) => n.inputs[0])).toEqual(["x", "h0", "c0"]);
  });

  it("Y_h and Y_c without Y: the hidden state goes through one slot", () => {
    const c = { hidden: 20, input: 40, seq: 5, batch: 2, direction: "reverse" as const };
    const { q, program } = checkOutputs(lstm(c, 3, { outputs: ["", "yh", "yc"] }), ["yh", "yc"]);
    expect(q.graph.nodes.find((n) => n.op === "LSTM")!.outputs).toEqual(["", "yh_q", "yc_q"]);
    const hidden = program.insns.flatMap((i) => (i.op === "store" && i.xSize === c.hidden ? [i.dram] : []));
    expect(hidden).toHaveLength(c.seq + 1);
    expect(new Set(hidden).size).toBe(2); // the slot, and Y_h once
  });

  it.each([
    // int4, H = 33: 6 columns of 3 K blocks for R and W. R stays (one load per direction), W streams
    // 2 columns at a time, 3 loads per chunk; acc holds the projections of 2 steps (of 2 entries),
    // so 3 chunks per direction.
    ["R resident, W streamed", streaming(24, 180), 2 * (1 + 3 * 3)],
    // Not even R and a W column fit: both stream, 2 columns at a time, R in 3 loads every step.
    ["both streamed", streaming(6, 180), 2 * (3 * 3 + 5 * 3)],
  ] as const)("%s, projections chunked: exact", (_, config, wgtLoads) => {
    const c = { hidden: 33, input: 40, seq: 5, batch: 2, direction: "bidirectional" as const };
    const { program } = checkOutputs(lstm(c, 9, { outputs: ["y", "yh", "yc"], states: "const" }), ["y", "yh", "yc"], { config, weightBits: 4 });
    const loads = program.insns.filter((i) => i.op === "load");
    expect(loads.filter((l) => l.mem === "wgt")).toHaveLength(wgtLoads);
    // X: one load per chunk and direction (time-major rows).
    expect(loads.filter((l) => l.mem === "inp" && l.yStride === 40)).toHaveLength(2 * 3);
  });

  it("refuses sequence_lens (HW5042, naming the node)", () => {
    const g = lstm({ hidden: 8, input: 5, seq: 3, batch: 2, direction: "forward" }, 1);
    g.constants!["lens"] = tensor("int32", [2], Int32Array.of(3, 2));
    g.nodes[0]!.inputs[4] = "lens";
    expect(() => checkOnNna(g)).toThrow(expect.objectContaining({ code: "HW5042", where: expect.objectContaining({ node: "cell" }) }));
  });
});

/** kws-lstm calibrated on all its utterances, run on the first (the program is built for batch 1). */
function kws() {
  const dir = "fixtures/trained/kws-lstm";
  const model = loadModel(`${dir}/model.onnx`);
  const { sets } = loadCalibrationSets([dir], model);
  const all = sets[0]!.get("features")!;
  const [steps, batch, width] = all.shape as [number, number, number];
  const first = new Float32Array(steps * width);
  for (let t = 0; t < steps; t++) first.set((all.data as Float32Array).subarray(t * batch * width, (t * batch + 1) * width), t * width);
  const run = new Map([["features", tensor("float32", [steps, 1, width], first)]]);
  return { model, sets, run, lstms: model.graph.nodes.filter((n) => n.op === "LSTM").map((n) => n.name) };
}

describe("kws-lstm on the NNA", () => {
  it("both stacked LSTMs equal the reference over 100 steps", () => {
    const { model, sets, run, lstms } = kws();
    const r = lowerDirect(model, sets, run, { last: lstms[1] });
    for (const name of lstms) {
      const y = r.q.graph.nodes.find((n) => n.name === name)!.outputs[0]!;
      expect(r.read(y), y).toEqual(r.ref.get(y));
    }
  });

  it("the whole model: logits bit-exact, cycles per layer", () => {
    const { model, sets, run, lstms } = kws();
    const q = staticize(quantize(model, sets, { static: false }).model, { inputShapes: new Map([["features", [100, 1, 40]]]) }).model;
    const ref = runQuantized(q, run, { keepAll: true });
    const sim = simulate(lowerModel(q), { inputs: { features: ref.get("features_q")! } });
    expect(sim.outputs.get("logits")).toEqual(ref.get("logits_q"));
    // Per step: the h round trip through DRAM (a STORE and a LOAD, 64 setup cycles each), the
    // recurrent GEMMs (6 K blocks × 24 columns) and 150 vector-unit cycles; the input projections
    // run in 3 chunks of 34 steps.
    const layers = sim.stats.layers.filter((l) => lstms.includes(l.name ?? ""));
    expect(layers.map((l) => [l.end - l.start, l.idealCycles])).toEqual([[57030, 21456], [64857, 28656]]);
    expect(sim.stats.cycles).toBe(122144);
  });
});
