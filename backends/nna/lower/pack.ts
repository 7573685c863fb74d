/**
 * DRAM images of a dense layer's constants in the layouts the NNA reads (docs/nna-isa.md):
 * weight blocks column by column, and the int32 vectors of bias and requantization multipliers.
 *
 * Weights are stored without their all-zero blocks (`storeBlocks`: the GEMM masks skip them) and,
 * when every byte lane of a column takes few distinct values, as codebook indices that `load.wgt
 * mode=cb2|cb4` expands through tables in lut (`codebook`, `weightImage`).
 */
import type { Multipliers } from "../../../ir/quant-params.js";
import type { Geometry } from "../config.js";
import { latency } from "../cycles.js";
import type { Load, LoadMode } from "../isa.js";
import type { LowerCtx } from "./context.js";

/** The shape of a dense layer's weights on the array: K × N codes, `int4` packed two per byte. */
export interface WeightGrid {
  readonly k: number;
  readonly n: number;
  readonly int4: boolean;
}

/** Weight columns of one GEMM: blockOut output channels (2·blockOut in int4 mode). */
export function columnLanes(g: Geometry, int4: boolean): number {
  return int4 ? 2 * g.lanes : g.lanes;
}

/**
 * Blocks of B′[k][n] = at(k, n), column c (channels c·lanes ..) by column, K block by K block, so a
 * column's blocks are contiguous and one `load.wgt` brings in whole columns. Within a block the
 * bytes are row-major [k][n]; int4 blocks hold lanes 2j (low nibble) and 2j + 1 (high) in byte j.
 * Positions past K or N are 0: a zero weight row cancels whatever the padded input lanes hold.
 */
export function packWeights(g: Geometry, w: WeightGrid, at: (k: number, n: number) => number): Uint8Array {
  const kBlocks = Math.ceil(w.k / g.vecBytes);
  const lanes = columnLanes(g, w.int4);
  const cols = Math.ceil(w.n / lanes);
  const out = new Uint8Array(cols * kBlocks * g.blockBytes);
  const code = (k: number, n: number) => (k < w.k && n < w.n ? at(k, n) : 0);
  let o = 0;
  for (let c = 0; c < cols; c++) {
    for (let kb = 0; kb < kBlocks; kb++) {
      for (let i = 0; i < g.vecBytes; i++) {
        const k = kb * g.vecBytes + i;
        for (let j = 0; j < g.lanes; j++, o++) {
          out[o] = w.int4
            ? (code(k, c * lanes + 2 * j) & 15) | ((code(k, c * lanes + 2 * j + 1) & 15) << 4)
            : code(k, c * lanes + j) & 255;
        }
      }
    }
  }
  return out;
}

/**
 * One GEMM over stored weights: column `col`, K blocks kb0 .. kb0 + kBlocks with `mask` (bit b:
 * block kb0 + b is stored); `blocks` of them stored, from stored block `at` on.
 */
export interface Unit {
  readonly col: number;
  readonly kb0: number;
  readonly kBlocks: number;
  readonly mask: number;
  readonly blocks: number;
  readonly at: number;
}

/** Weight blocks with the all-zero ones left out, in column order, and the GEMMs that read them. */
export interface StoredBlocks {
  readonly data: Uint8Array;
  readonly units: Unit[];
  /** colStart[c]: stored blocks before column c (cols + 1 entries). */
  readonly colStart: readonly number[];
}

/**
 * Leaves out the all-zero blocks of `full` (packWeights' layout, `kBlocks` per column): per
 * column, K is cut every `span` blocks (a convolution's taps, so that a tap's GEMMs can start as
 * soon as its loads land) and each span into GEMMs of at most `width` blocks (the mask's width, or
 * what fits wgt). A zero block costs neither DRAM bytes nor array cycles.
 */
export function storeBlocks(g: Geometry, full: Uint8Array, kBlocks: number, span: number, width: number): StoredBlocks {
  const bb = g.blockBytes;
  const cols = full.length / (kBlocks * bb);
  const kept = new Uint8Array(full.length);
  const units: Unit[] = [];
  const colStart = [0];
  let stored = 0;
  for (let col = 0; col < cols; col++) {
    for (let s0 = 0; s0 < kBlocks; s0 += span) {
      const s1 = Math.min(kBlocks, s0 + span);
      for (let kb0 = s0; kb0 < s1; kb0 += width) {
        const count = Math.min(width, s1 - kb0);
        let mask = 0;
        let blocks = 0;
        for (let b = 0; b < count; b++) {
          const from = (col * kBlocks + kb0 + b) * bb;
          const block = full.subarray(from, from + bb);
          if (!block.some((v) => v !== 0)) continue;
          kept.set(block, (stored + blocks) * bb);
          mask += 2 ** b;
          blocks++;
        }
        if (blocks > 0) units.push({ col, kb0, kBlocks: count, mask, blocks, at: stored });
        stored += blocks;
      }
    }
    colStart.push(stored);
  }
  return { data: kept.slice(0, stored * bb), units, colStart };
}

/**
 * Stored blocks as codebook indices: weight byte t of a block of column c becomes
 * int8(lut[table(c) + (t mod blockOut)·tableStride + index]) when loaded (isa.ts Load, cbN).
 */
export interface Codebook {
  readonly mode: LoadMode;
  readonly bits: number;
  /** lut entries of one column's tables (blockOut tables of 2^bits), or 0 when one table serves the whole layer. */
  readonly colEntries: number;
  readonly tableStride: number;
  /** The tables as int8 bytes (`load.lut mode=i8`), column by column, lane by lane. */
  readonly tables: Uint8Array;
  /** bits/8 bytes per weight byte, low bits first. */
  readonly indices: Uint8Array;
}

/** Index bits for `levels` distinct values: cb2 or cb4; cb8 would store as many bytes as i8. */
function indexBits(levels: number): number {
  return levels <= 4 ? 2 : levels <= 16 ? 4 : 0;
}

/**
 * The codebook of stored blocks, derived from the bytes themselves (so it is exact, and it serves
 * codebook-quantized layers, 2-bit weights and any other few-level weights alike): one table per
 * byte lane of each column (a lane is one output channel, a pair of them for int4 blocks), or one
 * for the whole layer when that needs no more index bits. Undefined when some lane has more than
 * 16 values, or the tables do not fit lut.
 */
export function codebook(g: Geometry, blocks: StoredBlocks): Codebook | undefined {
  const { data, colStart } = blocks;
  const L = g.lanes;
  const cols = colStart.length - 1;
  const bytes = (c: number): [number, number] => [colStart[c]! * g.blockBytes, colStart[c + 1]! * g.blockBytes];
  // seen[lane·256 + byte] = stamp when the lane of the column last marked with `stamp` takes that byte.
  const seen = new Int32Array(L * 256);
  const mark = (c: number, stamp: number): number => {
    const count = new Int32Array(L);
    const [from, to] = bytes(c);
    for (let t = from; t < to; t++) {
      const e = (t % L) * 256 + data[t]!;
      if (seen[e] !== stamp) {
        seen[e] = stamp;
        count[t % L]!++;
      }
    }
    return Math.max(0, ...count);
  };
  const layer = new Uint8Array(256);
  for (const v of data) layer[v] = 1;
  let laneMax = 0;
  for (let c = 0; c < cols; c++) laneMax = Math.max(laneMax, mark(c, c + 1));
  const layerBits = indexBits(layer.reduce((a, v) => a + v, 0));
  const laneBits = indexBits(laneMax);
  const shared = layerBits > 0 && (laneBits === 0 || layerBits <= laneBits);
  const bits = shared ? layerBits : laneBits;
  const size = 2 ** bits;
  const colEntries = shared ? 0 : L * size;
  if (bits === 0 || (g.blockBytes * bits) % 8 !== 0 || Math.max(size, cols * colEntries) > g.lutEntries) return undefined;

  // Each table lists its values in byte order; index[table·256 + byte] is a byte's index.
  const tableCount = shared ? 1 : cols * L;
  const tables = new Uint8Array(tableCount * size);
  const index = new Uint8Array(tableCount * 256);
  const fill = (table: number, has: (byte: number) => boolean) => {
    for (let byte = 0, i = 0; byte < 256; byte++) {
      if (!has(byte)) continue;
      tables[table * size + i] = byte;
      index[table * 256 + byte] = i++;
    }
  };
  if (shared) fill(0, (byte) => layer[byte] === 1);
  else {
    for (let c = 0; c < cols; c++) {
      // Stamps past the first pass's: the marks are this column's alone.
      mark(c, cols + c + 1);
      for (let lane = 0; lane < L; lane++) fill(c * L + lane, (byte) => seen[lane * 256 + byte] === cols + c + 1);
    }
  }
  const indices = new Uint8Array((data.length * bits) / 8);
  for (let c = 0; c < cols; c++) {
    const [from, to] = bytes(c);
    for (let t = from; t < to; t++) {
      const table = shared ? 0 : c * L + (t % L);
      const bit = t * bits;
      indices[bit >> 3]! |= index[table * 256 + data[t]!]! << (bit & 7);
    }
  }
  return { mode: bits === 2 ? "cb2" : "cb4", bits, colEntries, tableStride: shared ? 0 : size, tables, indices };
}

/** A layer's weights in DRAM: stored blocks, or their codebook indices with the tables. */
export interface WeightImage {
  readonly blocks: StoredBlocks;
  readonly int4: boolean;
  readonly addr: number;
  readonly cb?: Codebook & { readonly tablesAddr: number };
}

/**
 * The loads of stored blocks [from, to) into wgt from block 0 on: one, or with per-channel
 * tables one per column (a LOAD names one table set), column c's tables at lut (c − col0)·colEntries.
 */
export function weightLoads(ctx: LowerCtx, w: WeightImage, from: number, to: number, col0: number): Load[] {
  const cb = w.cb;
  const bytes = cb ? (ctx.geo.blockBytes * cb.bits) / 8 : ctx.geo.blockBytes;
  const load = (a: number, b: number, table: number) => ctx.load({
    mem: "wgt", mode: cb ? cb.mode : w.int4 ? "i4" : "i8", sram: a - from, dram: w.addr + a * bytes, xSize: b - a, xStride: bytes,
    table, tableStride: cb?.tableStride ?? 0,
  });
  if (to <= from) return [];
  if (!cb?.colEntries) return [load(from, to, 0)];
  const { colStart } = w.blocks;
  const out: Load[] = [];
  for (let c = 0; c < colStart.length - 1; c++) {
    const [a, b] = [Math.max(from, colStart[c]!), Math.min(to, colStart[c + 1]!)];
    if (a < b) out.push(load(a, b, (c - col0) * cb.colEntries));
  }
  return out;
}

/** The load of the tables of columns [c0, c1) to lut from entry 0 (none without a codebook). */
export function tableLoads(ctx: LowerCtx, w: WeightImage, c0: number, c1: number): Load[] {
  const cb = w.cb;
  if (!cb) return [];
  const [a, b] = cb.colEntries ? [c0 * cb.colEntries, c1 * cb.colEntries] : [0, 2 ** cb.bits];
  return [ctx.load({ mem: "lut", mode: "i8", dram: cb.tablesAddr + a, xSize: b - a, xStride: 1 })];
}

/**
 * Places the weights in DRAM, as codebook indices when that is possible and its loads take no more
 * cycles than the plain blocks' (the tables' load and one load per column with per-channel
 * tables against 8/bits as many bytes). `plan(w)` lists the loads one pass over the weights makes.
 */
export function weightImage(ctx: LowerCtx, blocks: StoredBlocks, int4: boolean, plan: (w: WeightImage) => Load[]): WeightImage {
  const cost = (w: WeightImage) => plan(w).reduce((s, l) => s + latency(l, ctx.config), 0);
  const plain: WeightImage = { blocks, int4, addr: 0 };
  const cb = codebook(ctx.geo, blocks);
  if (cb && cost({ ...plain, cb: { ...cb, tablesAddr: 0 } }) <= cost(plain)) {
    return { blocks, int4, addr: ctx.constant(cb.indices), cb: { ...cb, tablesAddr: ctx.constant(cb.tables) } };
  }
  return { ...plain, addr: blocks.data.length > 0 ? ctx.constant(blocks.data) : 0 };
}

/**
 * `vectors` acc vectors of bias (channel 16v + j in lane j of vector v; 0 past the channels), then
 * per vector v the requant pair (M0 vector, shift vector) at `vectors + 2v`: 3·vectors int32
 * vectors that one `load.acc mode=i32` brings in.
 */
export function packParams(g: Geometry, vectors: number, bias: ArrayLike<number> | undefined, mul: Multipliers): Uint8Array {
  const lanes = g.lanes;
  const words = new Int32Array(3 * vectors * lanes);
  const perChannel = mul.m0.length > 1;
  for (let v = 0; v < vectors; v++) {
    for (let j = 0; j < lanes; j++) {
      const c = v * lanes + j;
      const m = perChannel ? c : 0;
      if (bias && c < bias.length) words[v * lanes + j] = bias[c]!;
      if (m < mul.m0.length) {
        words[(vectors + 2 * v) * lanes + j] = mul.m0[m]!;
        words[(vectors + 2 * v + 1) * lanes + j] = mul.shift[m]!;
      }
    }
  }
  // Little-endian, as LOAD reads i32 lanes.
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  words.forEach((v, i) => view.setInt32(4 * i, v, true));
  return bytes;
}
