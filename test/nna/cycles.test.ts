/**
 * The cycle model with exact counts: DMA setup plus bytes, GEMM rows × present blocks, vector
 * steps by lane count, queues overlapping through tokens, and the statistics built from them.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { estimateCycles, parseAsm, parseConfig, simulate, DEFAULT_CONFIG, configHash } from "../../backends/nna/index.js";

const fixture = (name: string) => parseAsm(readFileSync(new URL(`../../fixtures/nna/${name}`, import.meta.url), "utf8"));
const cycles = (text: string) => simulate(parseAsm(text)).stats.cycles;

describe("latency per instruction", () => {
  it("DMA: 64 setup cycles + ceil(DRAM bytes / 32); padding costs nothing", () => {
    expect(cycles("load.inp x=1\nfinish")).toBe(64 + 1 + 1);
    expect(cycles("load.inp y=3 x=2 xstride=16 ystride=32\nfinish")).toBe(64 + 3 + 1);
    expect(cycles("load.inp x=0 padleft=5\nfinish")).toBe(64 + 1);
    expect(cycles("load.wgt x=1 mode=cb4\nfinish")).toBe(64 + 4 + 1);
    expect(cycles("store y=3 x=10 ystride=10 srcstride=16\nfinish")).toBe(64 + 1 + 1);
    expect(cycles("store y=40 x=5 ystride=3 srcstride=16 mode=pack4\nfinish")).toBe(64 + 4 + 1);
  });

  it("GEMM: rows × present K blocks; sparse blocks are free", () => {
    const p = parseAsm("gemm rows=10 k=4 mask=0x5\ngemm rows=3 k=2 mode=i4\nfinish");
    const s = estimateCycles(p, DEFAULT_CONFIG);
    expect(s.cycles).toBe(20 + 6 + 1);
    expect(s.macs).toBe(20 * 256 + 6 * 512);
    expect(s.idealCycles).toBe(26);
  });

  it("VEC: rows × cols × ceil(blockOut / lanes)", () => {
    expect(cycles("vec.add rows=2 cols=3\nfinish")).toBe(6 + 1);
    const narrow = parseConfig({ vector: { lanes: 8 } });
    const p = parseAsm("vec.add rows=2 cols=3\nfinish", { config: narrow });
    expect(simulate(p, { config: narrow }).stats.cycles).toBe(12 + 1);
    expect(p.configHash).toBe(configHash(narrow));
  });
});

describe("overlap through tokens", () => {
  it("one input buffer serialises loads and GEMMs: 713 cycles", () => {
    const s = simulate(fixture("serial.nnas")).stats;
    expect(s.cycles).toBe(713);
    expect(s.queues.load).toEqual({ instructions: 5, busy: 72 + 4 * 96, stall: 3 * 64 });
  });

  it("two input buffers overlap them: 521 cycles, fewer than serial", () => {
    const p = fixture("double-buffer.nnas");
    const r = simulate(p);
    expect(r.stats.cycles).toBe(521);
    expect(r.timings.map((t) => [t.start, t.end])).toEqual([
      [0, 72], [72, 168], [168, 264], [168, 232], [264, 360], [264, 328], [360, 456], [360, 424], [456, 520], [520, 521],
    ]);
    expect(r.stats.queues).toEqual({
      load: { instructions: 5, busy: 456, stall: 0 },
      compute: { instructions: 5, busy: 257, stall: 168 + 32 + 32 + 32 },
      store: { instructions: 0, busy: 0, stall: 0 },
    });
    expect(estimateCycles(p, DEFAULT_CONFIG)).toEqual(r.stats);
  });

  it("reports MACs, DRAM bytes, utilization and per-layer spans", () => {
    const s = simulate(fixture("double-buffer.nnas")).stats;
    expect(s).toMatchObject({ macs: 4 * 64 * 256, idealCycles: 256, utilization: 256 / 521, dramRead: 256 + 4 * 1024, dramWritten: 0 });
    expect(s.seconds).toBeCloseTo(521e-9, 15);
    expect(s.layers).toEqual([
      { layer: 1, name: "weights", start: 0, end: 72, busy: { load: 72, compute: 0, store: 0 }, instructions: 1, macs: 0, idealCycles: 0, dramRead: 256, dramWritten: 0, utilization: 0 },
      {
        layer: 2, name: "tiles", start: 72, end: 521, busy: { load: 384, compute: 257, store: 0 }, instructions: 9,
        macs: 65536, idealCycles: 256, dramRead: 4096, dramWritten: 0, utilization: 256 / 449,
      },
    ]);
  });
});
