/**
 * GEMM (isa.ts): input vectors times the present blocks of a weight column, accumulated into
 * int32 with wrap-around. int4 blocks are expanded here, as the array's int4 mode does: each byte
 * holds the weights of two neighbouring output lanes, low nibble first.
 *
 * The loops run over a block's rows (k) outside and its lanes (n) inside, so weights are read in
 * order; each product is added to the accumulator as it comes (exact in a double, wrapped to int32
 * by the store, which is the same sum modulo 2^32 as the array's).
 */
import type { Gemm } from "../isa.js";
import type { Machine } from "./machine.js";

export function gemm(m: Machine, g: Gemm): void {
  const geo = m.geo;
  const bi = geo.vecBytes;
  const bo = geo.lanes;
  const int4 = g.mode === "i4";
  const { inp, wgt, acc } = m;
  const { izp, wzp } = g;
  for (let r = 0; r < g.rows; r++) {
    const out = (g.acc + r * g.accStride) * bo;
    for (let kb = 0, j = 0; kb < g.kBlocks; kb++) {
      if (((g.mask >>> kb) & 1) === 0) continue;
      const x = (g.inp + r * g.inpStride + kb * g.inpKStride) * bi;
      const w = (g.wgt + j++) * bi * bo;
      for (let k = 0; k < bi; k++) {
        const xk = inp[x + k]! - izp;
        if (xk === 0) continue;
        const row = w + k * bo;
        if (!int4) {
          for (let n = 0; n < bo; n++) acc[out + n] += xk * (wgt[row + n]! - wzp);
          continue;
        }
        for (let n = 0; n < bo; n++) {
          const b = wgt[row + n]!;
          acc[out + 2 * n] += xk * (((b << 28) >> 28) - wzp);
          acc[out + 2 * n + 1] += xk * (((b << 24) >> 28) - wzp);
        }
      }
    }
  }
}
