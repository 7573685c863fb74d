/**
 * Double buffering across steps (lower/sync.ts): tiles in alternate halves of the scratchpads let
 * the next tile's loads run while the array works on the current one. Each case is bit-exact and
 * race-free (checkOnNna runs the race check), and its queues overlap: the program takes fewer
 * cycles than its load, compute and store queues are busy in total, and at least one tile's input
 * load starts before the previous tile's compute has ended.
 */
import { describe, expect, it } from "vitest";
import type { CycleStats, Insn, Timing } from "../../backends/nna/index.js";
import { checkOnNna, int, randomFloats, type Graphlet } from "./single-op.js";
import { tensor } from "../../ir/tensor.js";

/** Loads of inp that start while an earlier GEMM (in program order) is still running. */
export function overlappedLoads(timings: readonly Timing[], insns: readonly Insn[]): number {
  let count = 0;
  let lastGemmEnd = -1;
  insns.forEach((insn, i) => {
    const t = timings[i]!;
    if (insn.op === "gemm") lastGemmEnd = Math.max(lastGemmEnd, t.end);
    else if (insn.op === "load" && insn.mem === "inp" && t.start < lastGemmEnd) count++;
  });
  return count;
}

/** Cycles the three queues are busy in total: a serial schedule's length. */
export function busy(stats: CycleStats): number {
  const q = stats.queues;
  return q.load.busy + q.compute.busy + q.store.busy;
}

describe("double buffering", () => {
  it("Gemm with more rows than fit at once: row tiles in alternate halves overlap", () => {
    const [m, k, n] = [300, 256, 48];
    const g: Graphlet = {
      inputs: { x: [m, k] },
      constants: { w: tensor("float32", [n, k], randomFloats(5, n * k, -0.2, 0.2)), b: tensor("float32", [n], randomFloats(6, n)) },
      nodes: [{ op: "Gemm", inputs: ["x", "w", "b"], outputs: ["y"], attrs: { transB: int(1) } }],
    };
    const { program, sim } = checkOnNna(g);
    const inputLoads = program.insns.filter((i) => i.op === "load" && i.mem === "inp");
    expect(inputLoads.length).toBeGreaterThan(2);
    expect(new Set(inputLoads.map((l) => (l.op === "load" ? l.sram : -1))).size).toBe(2);
    expect(overlappedLoads(sim.timings, program.insns)).toBeGreaterThan(0);
    expect(sim.stats.cycles).toBeLessThan(busy(sim.stats));
  });
});
