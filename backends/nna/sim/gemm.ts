/**
 * GEMM (isa.ts): input vectors times the present blocks of a weight column, accumulated into
 * int32 with wrap-around. int4 blocks are expanded here, as the array's int4 mode does: each byte
 * holds the weights of two neighbouring output lanes, low nibble first.
 */
import type { Gemm } from "../isa.js";
import { checkSpace, extent, type Machine } from "./machine.js";

export function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v; v &= v - 1) n++;
  return n;
}

export function gemm(m: Machine, g: Gemm): void {
  const geo = m.geo;
  const bi = geo.vecBytes;
  const bo = geo.lanes;
  const int4 = g.mode === "i4";
  const present = popcount(g.mask);
  const lastBlock = 31 - Math.clz32(g.mask);
  checkSpace(geo, "inp", present ? extent(g.inp, g.rows, g.inpStride, lastBlock + 1, g.inpKStride, 1) : undefined, "reads");
  checkSpace(geo, "wgt", extent(g.wgt, 1, 0, present, 1, 1), "reads");
  checkSpace(geo, "acc", extent(g.acc, g.rows, g.accStride, 1, 0, int4 ? 2 : 1), "writes");
  const { inp, wgt, acc } = m;
  /** x − izp of the current input vector. */
  const xs = new Int32Array(bi);
  for (let r = 0; r < g.rows; r++) {
    const out = (g.acc + r * g.accStride) * bo;
    for (let kb = 0, j = 0; kb < g.kBlocks; kb++) {
      if (((g.mask >>> kb) & 1) === 0) continue;
      const x = (g.inp + r * g.inpStride + kb * g.inpKStride) * bi;
      for (let k = 0; k < bi; k++) xs[k] = inp[x + k]! - g.izp;
      const w = (g.wgt + j++) * bi * bo;
      if (!int4) {
        for (let n = 0; n < bo; n++) {
          let sum = 0;
          for (let k = 0, at = w + n; k < bi; k++, at += bo) sum += xs[k]! * (wgt[at]! - g.wzp);
          acc[out + n] += sum;
        }
        continue;
      }
      for (let n = 0; n < 2 * bo; n++) {
        const up = n & 1 ? 24 : 28; // shifts that bring the lane's nibble to the top of the word
        let sum = 0;
        for (let k = 0, at = w + (n >> 1); k < bi; k++, at += bo) sum += xs[k]! * (((wgt[at]! << up) >> 28) - g.wzp);
        acc[out + n] += sum;
      }
    }
  }
}
