/**
 * Checking small float graphs on the NNA end to end: quantize (calibrated on seeded random
 * inputs), bind the shapes, lower, round-trip the `.nnab` bytes, simulate on the reference's own
 * input codes, and compare every program output with the codes the integer reference feeds the
 * graph's final DequantizeLinear — bit for bit; and check that the program has no race (hazards.ts),
 * so that the result holds for every timing the tokens allow.
 */
import { expect } from "vitest";
import { decodeProgram, encodeProgram, simulate, type NnaConfig, type Program, type SimResult } from "../../backends/nna/index.js";
import { findRace } from "../../backends/nna/hazards.js";
import { DEFAULT_CONFIG } from "../../backends/nna/config.js";
import { lowerModel } from "../../backends/nna/lower/index.js";
import type { Attr, Model, Node } from "../../ir/graph.js";
import { runQuantized } from "../../ir/interpret.js";
import { xorshift32 } from "../../ir/numeric.js";
import { tensor, type Tensor } from "../../ir/tensor.js";
import { staticize } from "../../src/pipeline.js";
import { defaultConfig, type Scheme } from "../../src/quant/config.js";
import { quantize } from "../../src/quant/index.js";

/** Seeded float32 values uniform in [lo, hi). */
export function randomFloats(seed: number, n: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => lo + ((s = xorshift32(s)) / 2 ** 32) * (hi - lo));
}

export const ints = (value: number[]): Attr => ({ kind: "ints", value });
export const int = (value: number): Attr => ({ kind: "int", value });
export const float = (value: number): Attr => ({ kind: "float", value });

export interface Graphlet {
  /** Float inputs: name → shape (static). */
  inputs: Record<string, number[]>;
  /** Constant float initializers: name → tensor. */
  constants?: Record<string, Tensor>;
  /** Nodes in order; the last node's first output is the graph output `y`. */
  nodes: { op: string; inputs: string[]; outputs: string[]; attrs?: Record<string, Attr>; name?: string }[];
}

/** A float model of the graphlet, with graph output `y`. */
export function floatModel(g: Graphlet, opset = 17): Model {
  const nodes: Node[] = g.nodes.map((n, i) => ({ op: n.op, domain: "", name: n.name ?? `n${i}`, inputs: n.inputs, outputs: n.outputs, attrs: n.attrs ?? {} }));
  return {
    irVersion: 8,
    opsets: { "": opset },
    producer: "test",
    graph: {
      name: "g",
      inputs: Object.entries(g.inputs).map(([name, shape]) => ({ name, type: { dtype: "float32", shape } })),
      outputs: [{ name: g.nodes.at(-1)!.outputs[0]!, type: { dtype: "float32", shape: null } }],
      initializers: new Map(Object.entries(g.constants ?? {})),
      nodes,
      valueTypes: new Map(),
    },
  };
}

/** `count` seeded input sets of the graphlet's shapes. */
export function randomSets(g: Graphlet, seed: number, count = 4, lo = -1, hi = 1): Map<string, Tensor>[] {
  return Array.from({ length: count }, (_, k) => new Map(Object.entries(g.inputs).map(([name, shape], i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return [name, tensor("float32", shape, randomFloats(seed * 7919 + k * 131 + i, n, lo, hi))];
  })));
}

export interface NnaCheck {
  q: Model;
  program: Program;
  sim: SimResult;
  ref: Map<string, Tensor>;
}

/**
 * Quantizes `g` (weights of `weightBits`, the rest of the scheme from `scheme`: a codebook weight
 * format, say), lowers it for `config`, simulates it on the first set and expects every output to
 * equal the integer reference's codes.
 */
export function checkOnNna(
  g: Graphlet,
  opts: { seed?: number; weightBits?: number; scheme?: Partial<Scheme>; config?: NnaConfig; sets?: Map<string, Tensor>[] } = {},
): NnaCheck {
  const model = floatModel(g);
  const sets = opts.sets ?? randomSets(g, opts.seed ?? 1);
  const quantized = quantize(model, sets, { config: defaultConfig({ ...opts.scheme, weightBits: opts.weightBits ?? 8 }) }).model;
  const q = staticize(quantized, { inputShapes: new Map(Object.entries(g.inputs)) }).model;
  const ref = runQuantized(q, sets[0]!, { keepAll: true });
  const program = lowerModel(q, opts.config ? { config: opts.config } : {});
  const decoded = decodeProgram(encodeProgram(program));
  const inputs: Record<string, Tensor> = {};
  for (const t of program.tensors.filter((t) => t.kind === "input")) inputs[t.name] = codesOf(q, ref, t.name, "input");
  const sim = simulate(decoded, { ...(opts.config ? { config: opts.config } : {}), inputs });
  for (const t of program.tensors.filter((t) => t.kind === "output")) {
    expect(sim.outputs.get(t.name), `output ${t.name}`).toEqual(codesOf(q, ref, t.name, "output"));
  }
  expect(findRace(program, opts.config ?? DEFAULT_CONFIG)).toBeUndefined();
  return { q, program, sim, ref };
}

/** The codes of a program I/O tensor in the reference: a graph input's QuantizeLinear output, a graph output's DequantizeLinear input. */
function codesOf(q: Model, ref: Map<string, Tensor>, name: string, kind: "input" | "output"): Tensor {
  const node = q.graph.nodes.find((n) => (kind === "input" ? n.op === "QuantizeLinear" && n.inputs[0] === name : n.op === "DequantizeLinear" && n.outputs[0] === name));
  const codes = node && ref.get(kind === "input" ? node.outputs[0]! : node.inputs[0]!);
  if (!codes) throw new Error(`no reference codes for ${kind} '${name}'`);
  return codes;
}
