/**
 * LOAD and STORE (isa.ts): 2-D strided DMA between DRAM and the scratchpads, with padding on load
 * and the element conversions of each mode (sign extension, int4 unpacking, codebook lookup).
 */
import type { Geometry } from "../config.js";
import type { Load, Store } from "../isa.js";
import { checkDram, checkSpace, extent, type Machine } from "./machine.js";

/** Index bits of a codebook mode. */
function codebookBits(mode: Load["mode"]): number {
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

type Copy = (e: number, src: number) => void;
type Fill = (e: number) => void;

/** How one element moves from DRAM (`src`) to element `e` of the scratchpad, and how it is padded. */
function elementOps(m: Machine, l: Load): [Copy, Fill] {
  const { geo: g, dramI8, dramView } = m;
  const v = l.padValue;
  switch (l.mem) {
    case "inp": {
      const n = g.vecBytes;
      const fill: Fill = (e) => m.inp.fill(v, e * n, (e + 1) * n);
      if (l.mode === "i8") return [(e, src) => m.inp.set(dramI8.subarray(src, src + n), e * n), fill];
      return [
        (e, src) => {
          for (let i = 0, o = e * n; i < n / 2; i++, o += 2) {
            const b = dramI8[src + i]!;
            m.inp[o] = (b << 28) >> 28;
            m.inp[o + 1] = (b << 24) >> 28;
          }
        },
        fill,
      ];
    }
    case "wgt": {
      const n = g.blockBytes;
      const bits = codebookBits(l.mode);
      if (!bits) return [(e, src) => m.wgt.set(dramI8.subarray(src, src + n), e * n), () => {}];
      const mask = (1 << bits) - 1;
      return [
        (e, src) => {
          for (let t = 0; t < n; t++) {
            const bit = t * bits;
            const index = (m.dram[src + (bit >> 3)]! >> (bit & 7)) & mask;
            m.wgt[e * n + t] = m.lut[l.table + (t % g.lanes) * l.tableStride + index]!;
          }
        },
        () => {},
      ];
    }
    case "acc": {
      const n = g.lanes;
      const fill: Fill = (e) => m.acc.fill(v, e * n, (e + 1) * n);
      if (l.mode === "i8") return [(e, src) => m.acc.set(dramI8.subarray(src, src + n), e * n), fill];
      const read = l.mode === "i16" ? (a: number) => dramView.getInt16(a, true) : (a: number) => dramView.getInt32(a, true);
      const size = l.mode === "i16" ? 2 : 4;
      return [
        (e, src) => {
          for (let j = 0; j < n; j++) m.acc[e * n + j] = read(src + j * size);
        },
        fill,
      ];
    }
    case "lut":
      if (l.mode === "i8") return [(e, src) => (m.lut[e] = dramI8[src]!), () => {}];
      return [(e, src) => (m.lut[e] = dramView.getInt16(src, true)), () => {}];
  }
}

export function load(m: Machine, l: Load): void {
  const g = m.geo;
  const h = l.padTop + l.ySize + l.padBottom;
  const w = l.padLeft + l.xSize + l.padRight;
  checkDram(m, extent(l.dram, l.ySize, l.yStride, l.xSize, l.xStride, loadElementBytes(l, g)), "reads");
  checkSpace(g, l.mem, extent(l.sram, h, w, w, 1, 1), "writes");
  const bits = codebookBits(l.mode);
  if (bits) checkSpace(g, "lut", extent(l.table, g.lanes, l.tableStride, 1, 0, 2 ** bits), "reads");
  const [copy, fill] = elementOps(m, l);
  for (let y = 0; y < h; y++) {
    const dy = y - l.padTop;
    const rowIn = dy >= 0 && dy < l.ySize;
    for (let x = 0; x < w; x++) {
      const e = l.sram + y * w + x;
      const dx = x - l.padLeft;
      if (rowIn && dx >= 0 && dx < l.xSize) copy(e, l.dram + dy * l.yStride + dx * l.xStride);
      else fill(e);
    }
  }
}

export function store(m: Machine, s: Store): void {
  const rowBytes = storeRowBytes(s);
  checkSpace(m.geo, "out", extent(s.sram, s.ySize, s.srcStride, 1, 0, s.xSize), "reads");
  checkDram(m, extent(s.dram, s.ySize, s.yStride, 1, 0, rowBytes), "writes");
  for (let y = 0; y < s.ySize; y++) {
    const o = s.sram + y * s.srcStride;
    const d = s.dram + y * s.yStride;
    if (s.mode === "bytes") {
      m.dram.set(m.out.subarray(o, o + s.xSize), d);
      continue;
    }
    for (let j = 0; j < rowBytes; j++) {
      const hi = 2 * j + 1 < s.xSize ? m.out[o + 2 * j + 1]! & 15 : 0;
      m.dram[d + j] = (m.out[o + 2 * j]! & 15) | (hi << 4);
    }
  }
}
