/**
 * DRAM images of a dense layer's constants in the layouts the NNA reads (docs/nna-isa.md):
 * weight blocks column by column, and the int32 vectors of bias and requantization multipliers.
 */
import type { Multipliers } from "../../../ir/quant-params.js";
import type { Geometry } from "../config.js";

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
