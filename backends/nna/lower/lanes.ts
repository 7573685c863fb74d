/**
 * Lines in lanes: the shared data movement of the ops that combine many elements of a line into
 * one result (Softmax rows, ReduceMax and ReduceMean outputs). The vector unit never moves a value
 * across lanes, so each line goes to one lane and its elements to consecutive acc vectors; every
 * step of the op (running max, sums, the per-line reciprocal) is then lane-local.
 *
 * `Lines` says where a value's lines lie in DRAM. How they reach acc depends on their stride:
 * - direct: neighbouring lines are neighbouring bytes (the reduced axis is not the innermost), or
 *   there is a single line per block. One LOAD brings `cols` vectors of 16 lines per element; lanes
 *   past the lines read whatever follows them, and their results are never stored.
 * - transposed: a line is a run of bytes and the lines lie `lineStride` apart (Softmax over the last
 *   axis, a max over the innermost axes). The array transposes: LOAD puts in inp one vector
 *   starting at each element of each of up to 16 lines (lane 0 is the element; the other lanes meet
 *   zero weights), and one GEMM per chunk sums line j's vector through the selection block E_j (a
 *   single 1 at row 0, column j) into lane j of the element's accumulator: one array cycle per
 *   element, the array otherwise idle in these ops.
 */
import { MAX_K_BLOCKS, type Insn, type Load, type Store, type Vec, VEC_MAX } from "../isa.js";
import type { LowerCtx } from "./context.js";


/**
 * Lines of int8 codes in DRAM: `blocks` blocks of `count` lines of `length` elements; element x of
 * line l of block b is at addr + b·blockStride + l·lineStride + x·elemStride.
 */
export interface Lines {
  readonly addr: number;
  readonly blocks: number;
  readonly blockStride: number;
  readonly count: number;
  readonly lineStride: number;
  readonly length: number;
  readonly elemStride: number;
}

/**
 * One group of lines in acc: lines first … first + width − 1 of a block, in `cols` columns of
 * 16 lanes (line first + 16g + j in lane j of column g). Transposed slabs have one column, and at
 * most as many lines as one GEMM sums K blocks.
 */
export interface Slab {
  readonly block: number;
  readonly first: number;
  readonly width: number;
  readonly cols: number;
}

/** Whether `lines` load directly, one vector of neighbouring lines per element (see the header). */
export function isDirect(lines: Lines): boolean {
  return lines.lineStride === 1 || lines.count === 1;
}

/** The columns a slab of `lines` can take: several only for direct loads. */
export function columnsOf(ctx: LowerCtx, lines: Lines): number {
  return isDirect(lines) ? Math.ceil(lines.count / ctx.geo.lanes) : 1;
}

/** The slabs covering every line, in DRAM order, of at most `cols` columns each. */
export function slabs(ctx: LowerCtx, lines: Lines, cols: number): Slab[] {
  const lanes = ctx.geo.lanes;
  const span = isDirect(lines) ? cols * lanes : Math.min(lanes, MAX_K_BLOCKS);
  const out: Slab[] = [];
  for (let block = 0; block < lines.blocks; block++) {
    for (let first = 0; first < lines.count; first += span) {
      const width = Math.min(span, lines.count - first);
      out.push({ block, first, width, cols: Math.ceil(width / lanes) });
    }
  }
  return out;
}

/** The most elements one `gather` of the slab can bring into `room` acc vectors. */
export function chunkOf(ctx: LowerCtx, lines: Lines, slab: Slab, room: number): number {
  const g = ctx.geo;
  const fit = Math.floor(room / slab.cols);
  return Math.min(VEC_MAX, fit, isDirect(lines) ? Infinity : Math.floor(g.inpVectors / slab.width));
}

/** DRAM address of element x of the slab's first line. */
function at(lines: Lines, slab: Slab, x: number): number {
  return lines.addr + slab.block * lines.blockStride + slab.first * lines.lineStride + x * lines.elemStride;
}

/**
 * Instructions bringing elements x0 … x0 + n − 1 of the slab's lines into acc as int32 codes:
 * element x of column g at acc + (x − x0)·cols + g. A transposed slab reads the selection blocks
 * at wgt 0 (`selectionLoad`) and uses inp from 0.
 */
export function gather(ctx: LowerCtx, lines: Lines, slab: Slab, x0: number, n: number, acc: number): { loads: Insn[]; compute: Insn[] } {
  const lanes = ctx.geo.lanes;
  if (isDirect(lines)) {
    return {
      loads: [ctx.load({ mem: "acc", sram: acc, dram: at(lines, slab, x0), ySize: n, xSize: slab.cols, yStride: lines.elemStride, xStride: lanes })],
      compute: [],
    };
  }
  const j = slab.width;
  return {
    loads: [ctx.load({ mem: "inp", dram: at(lines, slab, x0), ySize: n, xSize: j, yStride: lines.elemStride, xStride: lines.lineStride })],
    compute: [
      // The GEMM accumulates: the element vectors start at 0 (lanes past the slab's lines stay 0).
      ctx.vec({ fn: "mul", dst: acc, src: acc, cols: n, dstColStride: 1, srcColStride: 1, useImm: true, imm: 0 }),
      ctx.gemm({ acc, inp: 0, wgt: 0, rows: n, kBlocks: j, inpStride: j, inpKStride: 1, accStride: 1 }),
    ],
  };
}

/**
 * `fn` (max, add) of `rows` element vectors from `src` (row stride `cols`) into the `cols`
 * accumulators at `dst`, each step seeing the last: a running fold along the lines.
 */
export function foldRows(ctx: LowerCtx, fn: "max" | "min" | "add", dst: number, src: number, rows: number, cols: number): Vec {
  return ctx.vec({ fn, dst, src, src2: dst, rows, cols, dstColStride: 1, srcRowStride: cols, srcColStride: 1, src2ColStride: 1 });
}

/** DRAM addresses of the selection blocks, one constant per lowering. */
const SELECTIONS = new WeakMap<LowerCtx, number>();

/** The LOAD of the selection blocks E_0 … E_15 to wgt 0, which transposed slabs need in place. */
export function selectionLoad(ctx: LowerCtx): Load {
  const g = ctx.geo;
  const blocks = Math.min(g.lanes, MAX_K_BLOCKS);
  let dram = SELECTIONS.get(ctx);
  if (dram === undefined) {
    const bytes = new Uint8Array(blocks * g.blockBytes);
    // Block j, row-major [k][n]: B[0][j] = 1.
    for (let j = 0; j < blocks; j++) bytes[j * g.blockBytes + j] = 1;
    dram = ctx.constant(bytes);
    SELECTIONS.set(ctx, dram);
  }
  return ctx.load({ mem: "wgt", dram, xSize: blocks, xStride: g.blockBytes });
}

/** One LOAD of int32 vectors to acc at `sram`, vector i holding values[i] in every lane. */
export function splatLoad(ctx: LowerCtx, sram: number, values: readonly number[]): Load {
  const lanes = ctx.geo.lanes;
  const bytes = new Uint8Array(4 * lanes * values.length);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => {
    for (let j = 0; j < lanes; j++) view.setInt32(4 * (i * lanes + j), v, true);
  });
  return ctx.load({ mem: "acc", mode: "i32", sram, dram: ctx.constant(bytes), xSize: values.length, xStride: 4 * lanes });
}

/**
 * The STOREs of per-element results of a slab from out, where element x of column g is the int8
 * vector at byte (x·cols + g)·16, to the same positions of `lines` (the output's own lines):
 * direct, one store of rows; transposed, one store per line or per element, whichever is fewer.
 */
export function storeElements(ctx: LowerCtx, lines: Lines, slab: Slab): Store[] {
  const lanes = ctx.geo.lanes;
  const dram = at(lines, slab, 0);
  const n = lines.length;
  if (isDirect(lines)) {
    return [ctx.store({ dram, ySize: n, xSize: slab.width, yStride: lines.elemStride, srcStride: slab.cols * lanes })];
  }
  if (slab.width <= n) {
    return Array.from({ length: slab.width }, (_, j) =>
      ctx.store({ sram: j, dram: dram + j * lines.lineStride, ySize: n, xSize: 1, yStride: lines.elemStride, srcStride: lanes }));
  }
  return Array.from({ length: n }, (_, x) =>
    ctx.store({ sram: x * lanes, dram: dram + x * lines.elemStride, ySize: slab.width, xSize: 1, yStride: lines.lineStride, srcStride: 1 }));
}
