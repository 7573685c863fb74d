/**
 * The cycle model (docs/nna-isa.md "Cycle model"): each instruction's latency follows from its
 * fields alone, the queues overlap, and tokens make them wait (sim/schedule.ts). Counts are
 * static too, so `estimateCycles` needs no data; the simulator reports the same numbers.
 *
 *   LOAD, STORE  setupCycles + ceil(DRAM bytes / bytesPerCycle)
 *   GEMM         rows × present K blocks (one input vector × one block per cycle; zero blocks are free)
 *   VEC          rows × cols × ceil(blockOut / lanes)
 *   NOP, FINISH  1
 * Every latency is at least 1 (one issue per queue per cycle).
 */
import type { NnaConfig } from "./config.js";
import { geometry } from "./config.js";
import { QUEUES, queueOf, type Insn, type Queue } from "./isa.js";
import type { Program } from "./program.js";
import { loadElementBytes, popcount, storeRowBytes } from "./access.js";
import { schedule, type Timing } from "./sim/schedule.js";

/** What one instruction does, counted. */
export interface Work {
  /** Multiply-accumulates the array performs (padded lanes included). */
  macs: number;
  /** Cycles those MACs take at the array's full rate in the instruction's mode. */
  idealCycles: number;
  dramRead: number;
  dramWritten: number;
}

export function work(insn: Insn, c: NnaConfig): Work {
  const g = geometry(c);
  const none: Work = { macs: 0, idealCycles: 0, dramRead: 0, dramWritten: 0 };
  switch (insn.op) {
    case "load":
      return { ...none, dramRead: insn.ySize * insn.xSize * loadElementBytes(insn, g) };
    case "store":
      return { ...none, dramWritten: insn.ySize * storeRowBytes(insn) };
    case "gemm": {
      const steps = insn.rows * popcount(insn.mask);
      const lanes = insn.mode === "i4" ? 2 * g.lanes : g.lanes;
      return { ...none, macs: steps * g.vecBytes * lanes, idealCycles: steps };
    }
    case "vec":
    case "nop":
    case "finish":
      return none;
  }
}

export function latency(insn: Insn, c: NnaConfig): number {
  const dma = (bytes: number) => c.dma.setupCycles + Math.ceil(bytes / c.dma.bytesPerCycle);
  switch (insn.op) {
    case "load":
      return Math.max(1, dma(work(insn, c).dramRead));
    case "store":
      return Math.max(1, dma(work(insn, c).dramWritten));
    case "gemm":
      return Math.max(1, insn.rows * popcount(insn.mask));
    case "vec":
      return Math.max(1, insn.rows * insn.cols * Math.ceil(c.gemm.blockOut / c.vector.lanes));
    case "nop":
    case "finish":
      return 1;
  }
}

export interface QueueStats {
  instructions: number;
  /** Cycles the queue spent executing. */
  busy: number;
  /** Cycles its instructions waited for tokens. */
  stall: number;
}

interface Totals {
  instructions: number;
  macs: number;
  idealCycles: number;
  dramRead: number;
  dramWritten: number;
  /** ideal cycles / modelled cycles (of the program, or of the layer's span). */
  utilization: number;
}

export interface LayerStats extends Totals {
  layer: number;
  name?: string;
  /** First start and last end of the layer's instructions; layers may overlap. */
  start: number;
  end: number;
  busy: Record<Queue, number>;
}

export interface CycleStats extends Totals {
  cycles: number;
  /** cycles / clockHz. */
  seconds: number;
  queues: Record<Queue, QueueStats>;
  layers: LayerStats[];
}

const zeroTotals = (): Totals => ({ instructions: 0, macs: 0, idealCycles: 0, dramRead: 0, dramWritten: 0, utilization: 0 });

function add(t: Totals, w: Work): void {
  t.instructions++;
  t.macs += w.macs;
  t.idealCycles += w.idealCycles;
  t.dramRead += w.dramRead;
  t.dramWritten += w.dramWritten;
}

/** Totals, per-queue and per-layer statistics of a scheduled program. */
export function cycleStats(p: Program, timings: readonly Timing[], c: NnaConfig): CycleStats {
  const cycles = timings.reduce((m, t) => Math.max(m, t.end), 0);
  const queues = Object.fromEntries(QUEUES.map((q) => [q, { instructions: 0, busy: 0, stall: 0 }])) as Record<Queue, QueueStats>;
  const names = new Map(p.layers.map((l) => [l.id, l.name]));
  const layers = new Map<number, LayerStats>();
  const total = zeroTotals();
  p.insns.forEach((insn, i) => {
    const t = timings[i]!;
    const w = work(insn, c);
    const q = queueOf(insn);
    queues[q].instructions++;
    queues[q].busy += t.end - t.start;
    queues[q].stall += t.stall;
    add(total, w);
    let l = layers.get(insn.layer);
    if (!l) {
      const name = names.get(insn.layer);
      l = { layer: insn.layer, ...(name === undefined ? {} : { name }), start: t.start, end: t.end, busy: { load: 0, compute: 0, store: 0 }, ...zeroTotals() };
      layers.set(insn.layer, l);
    }
    add(l, w);
    l.start = Math.min(l.start, t.start);
    l.end = Math.max(l.end, t.end);
    l.busy[q] += t.end - t.start;
  });
  for (const l of layers.values()) l.utilization = l.end > l.start ? l.idealCycles / (l.end - l.start) : 0;
  total.utilization = cycles ? total.idealCycles / cycles : 0;
  return {
    ...total,
    cycles,
    seconds: cycles / c.clockHz,
    queues,
    layers: [...layers.values()].sort((a, b) => a.layer - b.layer),
  };
}

/** The cycle model of a program without running it (latencies depend on fields only). */
export function estimateCycles(p: Program, c: NnaConfig): CycleStats {
  return cycleStats(p, schedule(p.insns, { latency: (insn) => latency(insn, c) }), c);
}
