/**
 * The quantized GRU on the NNA against the integer reference (GRU.runInt through runQuantized),
 * bit for bit: Y through the whole single-op pipeline (checkOnNna) on randomized shapes and
 * attributes, and Y with Y_h as program outputs through `compile()` and `verifyNna`, the CLI's
 * path.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, decodeProgram, parseConfig, type NnaConfig } from "../../backends/nna/index.js";
import type { Model } from "../../ir/graph.js";
import { xorshift32 } from "../../ir/numeric.js";
import { numel, tensor } from "../../ir/tensor.js";
import { compile } from "../../src/compile.js";
import { defaultConfig } from "../../src/quant/config.js";
import { verifyNna } from "../../src/targets/nna.js";
import { checkOnNna, floatModel, int, randomFloats, randomSets, type Graphlet } from "./single-op.js";

const DIRECTIONS = ["forward", "reverse", "bidirectional"] as const;

interface Case {
  hidden: number;
  input: number;
  seq: number;
  batch: number;
  direction: (typeof DIRECTIONS)[number];
  /** linear_before_reset. */
  lbr: number;
  layout?: number;
  /** initial_h: absent, a constant, or a graph input. */
  h0?: "const" | "input";
  outputs?: string[];
}

const str = (value: string) => ({ kind: "string" as const, value });

/** A GRU over x with seeded weights. */
function gru(c: Case, seed: number): Graphlet {
  const dirs = c.direction === "bidirectional" ? 2 : 1;
  const rows = 3 * c.hidden;
  const lead = c.layout === 1 ? [c.batch, c.seq] : [c.seq, c.batch];
  const state = c.layout === 1 ? [c.batch, dirs, c.hidden] : [dirs, c.batch, c.hidden];
  const g: Graphlet = {
    inputs: { x: [...lead, c.input] },
    constants: {
      w: tensor("float32", [dirs, rows, c.input], randomFloats(seed, dirs * rows * c.input, -0.6, 0.6)),
      r: tensor("float32", [dirs, rows, c.hidden], randomFloats(seed + 1, dirs * rows * c.hidden, -0.6, 0.6)),
      b: tensor("float32", [dirs, 2 * rows], randomFloats(seed + 2, dirs * 2 * rows, -0.5, 0.5)),
    },
    nodes: [{
      op: "GRU", name: "cell", inputs: ["x", "w", "r", "b", "", ...(c.h0 ? ["h0"] : [])], outputs: c.outputs ?? ["y"],
      attrs: { hidden_size: int(c.hidden), direction: str(c.direction), linear_before_reset: int(c.lbr), ...(c.layout ? { layout: int(c.layout) } : {}) },
    }],
  };
  if (c.h0 === "const") g.constants!["h0"] = tensor("float32", state, randomFloats(seed + 3, numel(state), -0.8, 0.8));
  else if (c.h0 === "input") g.inputs["h0"] = state;
  return g;
}

/** `n` cases drawn from a seed: sizes not multiples of 16, every direction, attribute and initial_h form. */
function randomCases(n: number, seed: number): (Case & { weightBits: number })[] {
  let s = seed;
  const pick = (k: number) => (s = xorshift32(s)) % k;
  return Array.from({ length: n }, () => ({
    hidden: 1 + pick(72), input: 1 + pick(64), seq: 1 + pick(6), batch: 1 + pick(3), direction: DIRECTIONS[pick(3)]!, lbr: pick(2),
    layout: pick(2), h0: ([undefined, "const", "input"] as const)[pick(3)], weightBits: pick(2) === 0 ? 8 : 4,
  }));
}

/** The GRU's graphlet with `outputs` of the node as graph outputs, compiled by `compile()` and verified on its first set. */
function compileAndVerify(g: Graphlet, outputs: string[], opts: { weightBits?: number; config?: NnaConfig } = {}) {
  const base = floatModel(g);
  const model: Model = { ...base, graph: { ...base.graph, outputs: outputs.map((name) => ({ name, type: { dtype: "float32", shape: null } })) } };
  const sets = randomSets(g, 3);
  const config = opts.config ?? DEFAULT_CONFIG;
  const c = compile(model, sets, { target: "nna", config: defaultConfig({ weightBits: opts.weightBits ?? 8 }), nnaConfig: config });
  const program = decodeProgram(c.files.get("model.nnab") as Uint8Array);
  const r = verifyNna({ model: c.program.model, program, config, batching: c.batching, probes: [] }, sets[0]!);
  return { c, program, r };
}

/** A machine with `wgtBlocks` weight blocks and `accVectors` accumulators. */
const machine = (wgtBlocks: number, accVectors: number): NnaConfig =>
  parseConfig({ ...DEFAULT_CONFIG, name: `wgt${wgtBlocks}`, scratchpad: { ...DEFAULT_CONFIG.scratchpad, wgtBytes: wgtBlocks * 256, accBytes: accVectors * 64 } });

describe("GRU on the NNA", () => {
  it.each(randomCases(80, 2024))(
    "hidden $hidden, input $input, seq $seq, batch $batch, $direction, lbr $lbr, layout $layout, initial_h $h0, W$weightBits: Y equals runQuantized",
    (c) => {
      const { q } = checkOnNna(gru(c, c.hidden * 7 + c.input + c.seq), { weightBits: c.weightBits });
      const node = q.graph.nodes.find((n) => n.op === "GRU")!;
      expect(q.graph.initializers.get(node.inputs[1]!)!.dtype).toBe(c.weightBits === 4 ? "int4" : "int8");
    },
  );

  it.each([0, 1])("skips the recurrent GEMMs of the first step when the initial hidden state is all zero codes (lbr %i)", (lbr) => {
    // H = 8, input 5: one K block each, 3 weight columns; the projection is 3 GEMMs, then 3 per
    // step from the second (z and r, then h at linear_before_reset = 0).
    const c: Case = { hidden: 8, input: 5, seq: 3, batch: 1, direction: "forward", lbr };
    const { program } = checkOnNna(gru(c, 1));
    expect(program.insns.filter((i) => i.op === "gemm")).toHaveLength(3 + 2 * 3);
    // int4 columns hold 32 channels: 2 columns, z and r in the first.
    const int4 = checkOnNna(gru(c, 1), { weightBits: 4 }).program;
    expect(int4.insns.filter((i) => i.op === "gemm")).toHaveLength(2 + 2 * 2);
  });

  it.each([0, 1])("h goes through DRAM once per step, and ρ = r⊙(h − z_h) once more at lbr 0 (lbr %i)", (lbr) => {
    const c: Case = { hidden: 20, input: 7, seq: 5, batch: 2, direction: "forward", lbr, h0: "const" };
    const { program } = checkOnNna(gru(c, 4));
    const hStores = program.insns.filter((i) => i.op === "store" && i.xSize === c.hidden);
    const hLoads = program.insns.filter((i) => i.op === "load" && i.mem === "inp" && i.yStride === c.hidden);
    const trips = lbr === 0 ? 2 : 1;
    expect(hStores).toHaveLength(c.seq * trips);
    // Every step reads h₋₁ (the first from the constant initial_h) and, at lbr 0, ρ.
    expect(hLoads).toHaveLength(c.seq * trips);
  });

  it.each([
    ["forward", 0, 0, "const"], ["reverse", 1, 0, "input"], ["bidirectional", 0, 1, "input"], ["bidirectional", 1, 1, "const"], ["forward", 1, 1, undefined],
  ] as const)("Y and Y_h through compile(), %s, lbr %i, layout %i, initial_h %s", (direction, lbr, layout, h0) => {
    const c: Case = { hidden: 20, input: 6, seq: 5, batch: 3, direction, lbr, layout, ...(h0 ? { h0 } : {}), outputs: ["y", "yh"] };
    const { r, program } = compileAndVerify(gru(c, 11), ["y", "yh"], { weightBits: lbr ? 8 : 4 });
    expect(r.difference).toBeUndefined();
    expect(r.elements).toBe((direction === "bidirectional" ? 2 : 1) * c.batch * c.hidden * (c.seq + 1)); // Y and Y_h, every code compared
    expect(program.tensors.filter((t) => t.kind === "output").map((t) => t.name)).toEqual(["y", "yh"]);
  });

  it("Y_h without Y: the hidden state goes through one slot", () => {
    const c: Case = { hidden: 33, input: 40, seq: 4, batch: 2, direction: "reverse", lbr: 1, outputs: ["", "yh"] };
    const { r, program } = compileAndVerify(gru(c, 3), ["yh"]);
    expect(r).toEqual({ items: 1, elements: c.batch * c.hidden });
    const hidden = program.insns.flatMap((i) => (i.op === "store" && i.xSize === c.hidden ? [i.dram] : []));
    expect(hidden).toHaveLength(c.seq + 1);
    expect(new Set(hidden).size).toBe(2); // the slot, and Y_h once
  });

  it.each([
    // int4, H = 33: 5 columns of 3 K blocks for R and W. R stays (one load per direction), W
    // streams 2 columns at a time, 3 loads per chunk; acc holds the projections of 2 steps of 2
    // entries, so 3 chunks per direction.
    ["R resident, W streamed", machine(21, 160), 2 * (1 + 3 * 3)],
    // Not even R and a W column fit: both stream 2 columns at a time; R's z and r columns in 2
    // loads and its h column in 1 after ρ, from the second step (the first skips them).
    ["both streamed", machine(6, 160), 2 * (3 * 3 + 4 * 3)],
  ] as const)("%s, projections chunked, lbr 0: exact", (_, config, wgtLoads) => {
    const c: Case = { hidden: 33, input: 40, seq: 5, batch: 2, direction: "bidirectional", lbr: 0 };
    const { program } = checkOnNna(gru(c, 9), { config, weightBits: 4 });
    const loads = program.insns.filter((i) => i.op === "load");
    expect(loads.filter((l) => l.mem === "wgt")).toHaveLength(wgtLoads);
    // X: one load per chunk and direction (time-major rows).
    expect(loads.filter((l) => l.mem === "inp" && l.yStride === 40)).toHaveLength(2 * 3);
  });

  it("refuses sequence_lens, and sizes that do not fit even one step (HW5042, naming the node)", () => {
    const g = gru({ hidden: 8, input: 5, seq: 3, batch: 2, direction: "forward", lbr: 0 }, 1);
    g.constants!["lens"] = tensor("int32", [2], Int32Array.of(3, 2));
    g.nodes[0]!.inputs[4] = "lens";
    expect(() => checkOnNna(g)).toThrow(expect.objectContaining({ code: "HW5042", where: expect.objectContaining({ node: "cell" }), message: expect.stringContaining("sequence_lens") }));
    const big = gru({ hidden: 8, input: 5, seq: 3, batch: 2, direction: "forward", lbr: 1 }, 1);
    expect(() => checkOnNna(big, { config: machine(64, 16) })).toThrow(expect.objectContaining({ code: "HW5042", message: expect.stringContaining("do not fit the scratchpads") }));
  });
});
