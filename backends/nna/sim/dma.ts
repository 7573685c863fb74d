/**
 * LOAD and STORE (isa.ts): 2-D strided DMA between DRAM and the scratchpads, with padding on load
 * and the element conversions of each mode (sign extension, int4 unpacking, codebook lookup).
 */
import type { Load, Store } from "../isa.js";
import { codebookBits, storeRowBytes } from "../access.js";
import type { Machine } from "./machine.js";

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
  const h = l.padTop + l.ySize + l.padBottom;
  const w = l.padLeft + l.xSize + l.padRight;
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
