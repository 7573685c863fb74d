/**
 * GEMM (isa.ts): input vectors times the present blocks of a weight column, accumulated into
 * int32 with wrap-around. int4 blocks are expanded here, as the array's int4 mode does: each byte
 * holds the weights of two neighbouring output lanes, low nibble first.
 */
import type { Gemm } from "../isa.js";
import type { Machine } from "./machine.js";

export function gemm(m: Machine, g: Gemm): void {
  const geo = m.geo;
  const bi = geo.vecBytes;
  const bo = geo.lanes;
  const int4 = g.mode === "i4";
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
