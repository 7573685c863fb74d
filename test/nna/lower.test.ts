/**
 * Lowering quantized models to NNA programs, checked bit for bit against the integer reference.
 * The graph boundary runs on the host, so the comparison is between int8 code tensors: the
 * program's input is the reference's QuantizeLinear output (`x_q`, computed by `runQuantized`
 * itself), and its output must equal the codes the reference feeds the final DequantizeLinear.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, decodeProgram, encodeProgram, simulate, type SimResult } from "../../backends/nna/index.js";
import { lowerModel } from "../../backends/nna/lower/index.js";
import type { Model } from "../../ir/graph.js";
import { runQuantized } from "../../ir/interpret.js";
import { tensor, type Tensor } from "../../ir/tensor.js";
import { readInputs } from "../../src/io.js";
import { loadModel } from "../../src/onnx/load.js";
import { defaultConfig } from "../../src/quant/config.js";
import { quantize } from "../../src/quant/index.js";
import { FIXTURES } from "../helpers/fixtures.js";
import { thrown } from "./helpers.js";

const DIR = join(FIXTURES, "trained", "digits-mlp");
const ROWS = 16;

/** The first `rows` rows of a [batch, …] tensor. */
function firstRows(t: Tensor, rows: number): Tensor {
  const inner = t.data.length / t.shape[0]!;
  return tensor(t.dtype, [rows, ...t.shape.slice(1)], (t.data as Float32Array).slice(0, rows * inner));
}

function digits(weightBits: number): Model {
  const model = loadModel(join(DIR, "model.onnx"));
  return quantize(model, [readInputs(join(DIR, "calib"), model)], { config: defaultConfig({ weightBits }) }).model;
}

/** Lowers for `rows` rows, round-trips the `.nnab` bytes, simulates, and returns the reference's codes too. */
function compileAndRun(q: Model, rows: number): { sim: SimResult; want: Tensor; ref: Map<string, Tensor> } {
  const x = firstRows(readInputs(join(DIR, "test_data_set_0"), loadModel(join(DIR, "model.onnx"))).get("x")!, rows);
  const ref = runQuantized(q, { x }, { keepAll: true });
  const program = lowerModel(q, { dims: { batch: rows } });
  const bytes = encodeProgram(program);
  const decoded = decodeProgram(bytes);
  expect(encodeProgram(decoded)).toEqual(bytes);
  const sim = simulate(decoded, { inputs: { x: ref.get("x_q")! } });
  return { sim, want: ref.get("logits_q")!, ref };
}

describe("digits-mlp (Gemm → Relu → Gemm → Relu → Gemm) on the NNA", () => {
  for (const bits of [8, 4]) {
    it(`W${bits}A8: the simulated output codes equal runQuantized's, bit for bit`, () => {
      const q = digits(bits);
      const { sim, want } = compileAndRun(q, ROWS);
      const got = sim.outputs.get("logits")!;
      expect(got).toEqual(want);
      expect(want.shape).toEqual([ROWS, 10]);
      // The codes are not degenerate: several classes win across the rows.
      const argmax = Array.from({ length: ROWS }, (_, r) => {
        const row = Array.from((want.data as Int8Array).subarray(10 * r, 10 * r + 10));
        return row.indexOf(Math.max(...row));
      });
      expect(new Set(argmax).size).toBeGreaterThan(3);
      // Three layers (the Relus are fused), each doing M × kBlocks × columns array steps.
      const steps = bits === 8 ? [16 * 4 * 8, 16 * 8 * 4, 16 * 4 * 1] : [16 * 4 * 4, 16 * 8 * 2, 16 * 4 * 1];
      expect(sim.stats.layers.filter((l) => l.macs > 0).map((l) => [l.name, l.idealCycles])).toEqual([
        ["/0/Gemm", steps[0]],
        ["/2/Gemm", steps[1]],
        ["/4/Gemm", steps[2]],
      ]);
      // Steps run serially (load → compute → store per layer), so the total is the sum of the
      // latencies: e.g. W8A8's first layer loads 1536 + 8192 + 1024 bytes (112 + 320 + 96
      // cycles), computes 128 + 512 + 128 cycles and stores 2048 bytes (128 cycles).
      const [cycles, ideal] = bits === 8 ? [3126, 1088] : [2396, 576];
      expect([sim.stats.cycles, sim.stats.idealCycles, sim.stats.utilization]).toEqual([cycles, ideal, ideal / cycles]);
    });
  }

  it("tiles rows and weight columns on a small machine with the same results", () => {
    const q = digits(8);
    const x = firstRows(readInputs(join(DIR, "test_data_set_0"), loadModel(join(DIR, "model.onnx"))).get("x")!, 40);
    const ref = runQuantized(q, { x }, { keepAll: true });
    // 8 KiB of weights (2 columns of the first layer at a time), 64 acc vectors (a few rows per tile).
    const small = { ...DEFAULT_CONFIG, scratchpad: { ...DEFAULT_CONFIG.scratchpad, wgtBytes: 8 * 256, accBytes: 64 * 64 } };
    const program = lowerModel(q, { config: small, dims: { batch: 40 } });
    const sim = simulate(decodeProgram(encodeProgram(program)), { config: small, inputs: { x: ref.get("x_q")! } });
    expect(sim.outputs.get("logits")).toEqual(ref.get("logits_q"));
    expect(program.insns.filter((i) => i.op === "load" && i.mem === "wgt").length).toBeGreaterThan(3);
  });

  it("fuses the Relu as the requantization's lower clamp at the zero point", () => {
    // Calibrated Relu outputs have zero point −128, where the clamp is the int8 range anyway: move
    // the first hidden layer's zero point to −100 (in both values, which share one type).
    const q = digits(8);
    const valueTypes = new Map(q.graph.valueTypes);
    for (const v of ["/0/Gemm_output_0", "/1/Relu_output_0"]) {
      const t = valueTypes.get(v)!;
      valueTypes.set(v, { ...t, quant: { ...t.quant!, zeroPoint: Int32Array.of(-100) } });
    }
    const shifted = { ...q, graph: { ...q.graph, valueTypes } };
    const { sim, want, ref } = compileAndRun(shifted, ROWS);
    expect(sim.outputs.get("logits")).toEqual(want);
    const codes = (v: string) => Array.from(ref.get(v)!.data as Int8Array);
    expect(Math.min(...codes("/1/Relu_output_0"))).toBe(-100);
    expect(Math.min(...codes("/0/Gemm_output_0"))).toBeLessThan(-100); // so the clamp changes codes

  });

  it("runs a Relu it cannot fuse (its Gemm's output is also read elsewhere) as vec.max over the codes", () => {
    const q = digits(8);
    const hidden = "/0/Gemm_output_0";
    const unfused = { ...q, graph: { ...q.graph, outputs: [...q.graph.outputs, { name: hidden, type: q.graph.valueTypes.get(hidden)! }] } };
    const { sim, want } = compileAndRun(unfused, ROWS);
    expect(sim.outputs.get("logits")).toEqual(want);
    expect(sim.stats.layers.flatMap((l) => l.name ?? [])).toEqual(["/0/Gemm", "/1/Relu", "/2/Gemm", "/4/Gemm"]);
  });

  it("refuses an op without a lowering, naming the node, and unbound dimensions", () => {
    const q = digits(8);
    const nodes = q.graph.nodes.map((n) => (n.name === "/2/Gemm" ? { ...n, op: "MatMulInteger" } : n));
    const e = thrown(() => lowerModel({ ...q, graph: { ...q.graph, nodes } }, { dims: { batch: 2 } }));
    expect([e.code, e.where.node, e.message]).toEqual(["HW5040", "/2/Gemm", "the NNA has no lowering for MatMulInteger yet"]);
    expect(thrown(() => lowerModel(q)).code).toBe("HW5044");
  });
});
