/**
 * How Gemm and Conv store their weights on the NNA (lower/pack.ts): few-level weights as codebook
 * indices expanded by `load.wgt mode=cb2|cb4` through tables in lut, and all-zero blocks left out
 * and skipped by the GEMM masks. Every case is bit-exact with the integer reference (checkOnNna).
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, type Program } from "../../backends/nna/index.js";
import { work } from "../../backends/nna/cycles.js";
import type { Gemm, Load } from "../../backends/nna/isa.js";
import { tensor } from "../../ir/tensor.js";
import { checkOnNna, int, ints, randomFloats, type Graphlet } from "./single-op.js";

const loads = (p: Program, mem: Load["mem"]) => p.insns.filter((i): i is Load => i.op === "load" && i.mem === mem);
const gemms = (p: Program) => p.insns.filter((i): i is Gemm => i.op === "gemm");
/** DRAM bytes the weight loads read (each layer here loads its weights once). */
const weightBytes = (p: Program) => loads(p, "wgt").reduce((s, l) => s + work(l, DEFAULT_CONFIG).dramRead, 0);

/** Distinct codes of each output channel of a [N, …] weight. */
function levels(data: ArrayLike<number>, channels: number): number[] {
  const per = data.length / channels;
  return Array.from({ length: channels }, (_, c) => new Set(Array.from({ length: per }, (_, i) => data[c * per + i]!)).size);
}

function gemm(n: number, k: number, rows: number, w = randomFloats(11, n * k)): Graphlet {
  return {
    inputs: { x: [rows, k] },
    constants: { w: tensor("float32", [n, k], w), b: tensor("float32", [n], randomFloats(12, n)) },
    nodes: [{ op: "Gemm", inputs: ["x", "w", "b"], outputs: ["y"], attrs: { transB: int(1) } }],
  };
}

const conv: Graphlet = {
  inputs: { x: [1, 64, 6, 6] },
  constants: { w: tensor("float32", [32, 64, 3, 3], randomFloats(21, 32 * 64 * 9)), b: tensor("float32", [32], randomFloats(22, 32)) },
  nodes: [{ op: "Conv", inputs: ["x", "w", "b"], outputs: ["y"], attrs: { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) } }],
};

describe("codebook weights", () => {
  it.each([2, 4])("Gemm 512 → 32 quantized to codebook%i: per-channel tables, cb loads, 8/b fewer weight bytes", (bits) => {
    const { q, program } = checkOnNna(gemm(32, 512, 3), { weightBits: bits, scheme: { weightFormat: "codebook" } });
    const w = q.graph.initializers.get(q.graph.nodes.find((n) => n.op === "Gemm")!.inputs[1]!)!;
    expect(w.dtype).toBe("int8");
    expect(Math.max(...levels(w.data as Int8Array, 32))).toBe(2 ** bits);
    // Two columns of 16 channels, 32 K blocks each: one load per column, naming its 16 tables.
    const size = 2 ** bits;
    expect(loads(program, "wgt").map((l) => [l.mode, l.xSize, l.table, l.tableStride])).toEqual([
      [`cb${bits}`, 32, 0, size],
      [`cb${bits}`, 32, 16 * size, size],
    ]);
    expect(loads(program, "lut").map((l) => [l.mode, l.sram, l.xSize])).toEqual([["i8", 0, 2 * 16 * size]]);
    expect(weightBytes(program)).toBe((2 * 32 * 256 * bits) / 8);
  });

  it.each([2, 4])("Conv 64 → 32 channels 3×3 quantized to codebook%i: cb loads, exact", (bits) => {
    const { program } = checkOnNna(conv, { weightBits: bits, scheme: { weightFormat: "codebook" } });
    const size = 2 ** bits;
    // 9 taps × 4 channel blocks per column, all fitting wgt: loaded once, with the first tile.
    expect(loads(program, "wgt").map((l) => [l.mode, l.xSize, l.table, l.tableStride])).toEqual([
      [`cb${bits}`, 36, 0, size],
      [`cb${bits}`, 36, 16 * size, size],
    ]);
    expect(loads(program, "lut").map((l) => l.xSize)).toEqual([2 * 16 * size]);
    expect(weightBytes(program)).toBe((72 * 256 * bits) / 8);
  });

  it("2-bit int weights (int4 blocks of three levels): one cb4 table for the layer, 2 bits a weight", () => {
    const { q, program } = checkOnNna(gemm(32, 512, 2), { weightBits: 2 });
    const w = q.graph.initializers.get(q.graph.nodes.find((n) => n.op === "Gemm")!.inputs[1]!)!;
    expect([w.dtype, new Set(Array.from(w.data as Int8Array)).size]).toEqual(["int4", 3]);
    // One int4 column of 32 channels; a byte holds two weights, 3 × 3 pairs fit one 16-entry table.
    expect(loads(program, "wgt").map((l) => [l.mode, l.xSize, l.table, l.tableStride])).toEqual([["cb4", 32, 0, 0]]);
    expect(loads(program, "lut").map((l) => l.xSize)).toEqual([16]);
    expect(gemms(program).every((g) => g.mode === "i4")).toBe(true);
    expect(weightBytes(program)).toBe((512 * 32 * 2) / 8);
  });

  it("a small layer keeps int8 blocks: the tables' load would cost more than the bytes saved", () => {
    const { program } = checkOnNna(gemm(16, 64, 3), { weightBits: 4, scheme: { weightFormat: "codebook" } });
    expect(loads(program, "wgt").map((l) => l.mode)).toEqual(["i8"]);
    expect(loads(program, "lut")).toEqual([]);
    expect(weightBytes(program)).toBe(4 * 256);
  });
});

describe("sparse Gemm weights", () => {
  // B is [N = 64, K = 128]: 4 columns × 8 K blocks; block (column c, kb) is non-zero iff kb mod 4 = c.
  const dense = randomFloats(31, 64 * 128);
  const sparse = dense.map((v, i) => (Math.floor((i % 128) / 16) % 4 === Math.floor(i / 128 / 16) ? v : 0));

  it("75% zero blocks: not stored, masked out of the GEMMs, a quarter of the array cycles, exact", () => {
    const rows = 4;
    const s = checkOnNna(gemm(64, 128, rows, sparse));
    const d = checkOnNna(gemm(64, 128, rows, dense));
    expect(gemms(s.program).map((g) => [g.kBlocks, g.mask])).toEqual([0, 1, 2, 3].map((c) => [8, (1 << c) | (1 << (c + 4))]));
    expect(gemms(d.program).map((g) => g.mask)).toEqual([255, 255, 255, 255]);
    expect([s.sim.stats.idealCycles, d.sim.stats.idealCycles]).toEqual([rows * 4 * 2, rows * 4 * 8]);
    expect([weightBytes(s.program), weightBytes(d.program)]).toEqual([8 * 256, 32 * 256]);
    expect(s.sim.stats.cycles).toBeLessThan(d.sim.stats.cycles);
  });
});
