/**
 * What each instruction reads and writes (isa.ts), as 2-D strided footprints in the address units
 * of docs/nna-isa.md ("Memories"): the simulator's range checks, the lowering's token scheduling
 * (lower/context.ts) and the race check (hazards.ts) all read memory accesses from here.
 */
import type { Geometry } from "./config.js";
import { LUT16_ENTRIES, LUT8_ENTRIES, type Insn, type Load, type Store, type Vec } from "./isa.js";

/** The scratchpads, in their address units (inp, acc: vectors; wgt: blocks; out: bytes; lut: entries), and DRAM bytes. */
export type Space = "inp" | "wgt" | "acc" | "out" | "lut" | "dram";

/**
 * `rows × cols` runs of `unit` consecutive units at base + r·rowStride + c·colStride. A GEMM's
 * input is counted up to its mask's last present block (the blocks it skips included).
 */
export interface Footprint {
  space: Space;
  write: boolean;
  base: number;
  rows: number;
  rowStride: number;
  cols: number;
  colStride: number;
  unit: number;
}

/** Units each scratchpad holds. */
export function capacity(g: Geometry, s: Exclude<Space, "dram">): number {
  return { inp: g.inpVectors, wgt: g.wgtBlocks, acc: g.accVectors, out: g.outBytes, lut: g.lutEntries }[s];
}

/** Bytes per lane of a VEC's dtype when it writes `out`. */
export const DTYPE_BYTES: Readonly<Record<Vec["dtype"], number>> = { i8: 1, i16: 2, i32: 4 };

/** Index bits of a codebook load mode (0 for the others). */
export function codebookBits(mode: Load["mode"]): number {
  return mode === "cb2" ? 2 : mode === "cb4" ? 4 : mode === "cb8" ? 8 : 0;
}

/** DRAM bytes of one element of a LOAD (isa.ts Load). */
export function loadElementBytes(l: Load, g: Geometry): number {
  switch (l.mem) {
    case "inp":
      return l.mode === "i4" ? g.vecBytes / 2 : g.vecBytes;
    case "wgt":
      return l.mode === "i8" || l.mode === "i4" ? g.blockBytes : (g.blockBytes * codebookBits(l.mode)) / 8;
    case "acc":
      return g.lanes * (l.mode === "i32" ? 4 : l.mode === "i16" ? 2 : 1);
    case "lut":
      return l.mode === "i16" ? 2 : 1;
  }
}

/** DRAM bytes of one row of a STORE. */
export function storeRowBytes(s: Store): number {
  return s.mode === "pack4" ? Math.ceil(s.xSize / 2) : s.xSize;
}

const fp = (space: Space, write: boolean, base: number, rows: number, rowStride: number, cols: number, colStride: number, unit: number): Footprint => ({
  space, write, base, rows, rowStride, cols, colStride, unit,
});

/** Every memory access of `insn`: what it reads, then what it writes. */
export function footprints(insn: Insn, g: Geometry): Footprint[] {
  switch (insn.op) {
    case "load": {
      const h = insn.padTop + insn.ySize + insn.padBottom;
      const w = insn.padLeft + insn.xSize + insn.padRight;
      const out = [fp("dram", false, insn.dram, insn.ySize, insn.yStride, insn.xSize, insn.xStride, loadElementBytes(insn, g))];
      const bits = codebookBits(insn.mode);
      if (bits) out.push(fp("lut", false, insn.table, g.lanes, insn.tableStride, 1, 0, 2 ** bits));
      out.push(fp(insn.mem, true, insn.sram, h, w, w, 1, 1));
      return out;
    }
    case "store":
      return [fp("out", false, insn.sram, insn.ySize, insn.srcStride, 1, 0, insn.xSize), fp("dram", true, insn.dram, insn.ySize, insn.yStride, 1, 0, storeRowBytes(insn))];
    case "gemm": {
      const present = popcount(insn.mask);
      const lastBlock = 31 - Math.clz32(insn.mask);
      const unit = insn.mode === "i4" ? 2 : 1;
      return [
        fp("inp", false, insn.inp, present ? insn.rows : 0, insn.inpStride, lastBlock + 1, insn.inpKStride, 1),
        fp("wgt", false, insn.wgt, 1, 0, present, 1, 1),
        // Read, added to, and written back: a write orders it against every other access.
        fp("acc", true, insn.acc, insn.rows, insn.accStride, 1, 0, unit),
      ];
    }
    case "vec": {
      const v = insn;
      const out = [fp("acc", false, v.src, v.rows, v.srcRowStride, v.cols, v.srcColStride, 1)];
      if (v.fn === "lut8" || v.fn === "lut16") {
        out.push(fp("lut", false, v.src2, v.rows * v.cols ? 1 : 0, 0, 1, 0, v.fn === "lut8" ? LUT8_ENTRIES : LUT16_ENTRIES));
      } else if (!v.useImm) {
        out.push(fp("acc", false, v.src2, v.rows, v.src2RowStride, v.cols, v.src2ColStride, v.fn === "requant" ? 2 : 1));
      }
      out.push(fp(v.dstMem, true, v.dst, v.rows, v.dstRowStride, v.cols, v.dstColStride, v.dstMem === "acc" ? 1 : g.lanes * DTYPE_BYTES[v.dtype]));
      return out;
    }
    case "nop":
    case "finish":
      return [];
  }
}

/** [first, end) of the units a footprint touches; undefined when it touches none. */
export function span(f: Footprint): [number, number] | undefined {
  if (f.rows === 0 || f.cols === 0 || f.unit === 0) return undefined;
  return [f.base, f.base + (f.rows - 1) * f.rowStride + (f.cols - 1) * f.colStride + f.unit];
}

export function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v; v &= v - 1) n++;
  return n;
}
