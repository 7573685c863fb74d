/**
 * MatMul on the NNA (ir/ops/MatMul.ts `runInt`: (A − z_a)·(B − z_b) in int32, requantized per
 * column of B's quantization).
 *
 * With a constant 2-D B (a layer's weight, per channel along N, zero point 0) it is exactly a Gemm
 * without bias over A's rows (its leading axes folded), so Gemm.ts lowers it (A dense or a Flatten
 * of a feature map, a following Relu fused).
 *
 * With B an activation (docs/nna-isa.md "MatMul of two activations"; per tensor, any zero point),
 * B is first restaged into weight blocks: its rows go to acc (one vector per 16 columns), a copy
 * writes them to out in block order — block (column c, K block kb) row k%16 is at
 * c·KB·256 + 16·k, linear in k, so one VEC places every row — and a STORE writes the image to a
 * DRAM scratch area, where `load.wgt` finds it laid out as Gemm.ts lays out constant weights. Rows
 * past K are filled with z_b, so that (b − z_b) = 0 meets whatever A's padding lanes hold. The
 * GEMMs then subtract both zero points in the array (`izp = z_a`, `wzp = z_b`) into accumulators
 * that start at 0, and one `vec.requant` by the per-tensor pair writes the output rows. Batched
 * operands with equal batch axes take one restaging and product per batch; a B without batch
 * axes serves A's batch as more rows.
 */
import type { Node } from "../../../ir/graph.js";
import { productParams } from "../../../ir/kernels/requant.js";
import { numel } from "../../../ir/tensor.js";
import { MAX_K_BLOCKS, type Insn, VEC_MAX } from "../isa.js";
import type { Buffer, LowerCtx } from "./context.js";
import { codes, unsupported } from "./elementwise.js";
import { lowerGemm } from "./Gemm.js";
import { splatLoad } from "./lanes.js";
import { fusedRelu } from "./Relu.js";
import { denseCopy } from "./Reshape.js";

/** acc vectors of the constants: the requant pair (m0, shift), then z_b in every lane. */
const PAIR = 0;
const ZB = 2;
const CONSTS = 3;

/** The product's dimensions: `batches` products of [rows, k] × [k, n]. */
interface Dims {
  readonly batches: number;
  readonly rows: number;
  readonly k: number;
  readonly n: number;
  /** K blocks per weight column, and weight columns. */
  readonly kb: number;
  readonly cols: number;
}

export function lowerMatMul(node: Node, ctx: LowerCtx): void {
  const [aName, bName] = node.inputs as [string, string];
  const aShape = ctx.shape(aName, node);
  const w = ctx.graph.initializers.get(bName);
  if (w) {
    if (w.shape.length !== 2) throw unsupported(node, `with a constant B, B must be 2-D (got rank ${w.shape.length})`);
    return lowerGemm(node, ctx);
  }
  if (ctx.graph.initializers.has(aName)) throw unsupported(node, "a constant A times an activation B is not supported");
  const bShape = ctx.shape(bName, node);
  if (aShape.length < 2 || bShape.length < 2) throw unsupported(node, `both operands must have rank ≥ 2 (got ${aShape.length} and ${bShape.length})`);
  const [aBatch, bBatch] = [aShape.slice(0, -2), bShape.slice(0, -2)];
  const shared = numel(bBatch) === 1;
  if (!shared && aBatch.join() !== bBatch.join()) throw unsupported(node, `batch axes [${aBatch}] and [${bBatch}] must be equal (or B has none)`);
  const [k, n] = [bShape.at(-2)!, bShape.at(-1)!];
  const g = ctx.geo;
  const kb = Math.ceil(k / g.vecBytes);
  const dims: Dims = { batches: shared ? 1 : numel(bBatch), rows: (shared ? numel(aBatch) : 1) * aShape.at(-2)!, k, n, kb, cols: Math.ceil(n / g.lanes) };
  lowerProduct(node, ctx, dims);
}

function lowerProduct(node: Node, ctx: LowerCtx, d: Dims): void {
  const [aName, bName, yName] = [node.inputs[0]!, node.inputs[1]!, node.outputs[0]!];
  [aName, bName, yName].forEach((v) => codes(ctx, node, v));
  const p = productParams(ctx.type(aName), ctx.type(bName), ctx.type(yName), ctx.shape(bName, node).length - 1, d.n, `MatMul '${node.name}'`);
  const relu = fusedRelu(ctx, node);
  const lo = relu ? Math.max(p.requant.lo, relu.floor) : p.requant.lo;
  const g = ctx.geo;
  if (d.kb > g.wgtBlocks || d.kb > g.inpVectors || g.accVectors - CONSTS < g.vecBytes || g.outBytes < g.blockBytes) {
    throw unsupported(node, `K = ${d.k} does not fit the scratchpads (a row of A in inp, a weight column in wgt)`);
  }

  ctx.beginLayer(node);
  const [a, b] = [denseCopy(ctx, node, aName), denseCopy(ctx, node, bName)];
  const y = ctx.activation(relu ? relu.node.outputs[0]! : yName, d.batches * d.rows, d.n);
  const scratch = ctx.alloc(d.cols * d.kb * g.blockBytes);
  const setup: Insn[] = [splatLoad(ctx, 0, [p.requant.m0[0]!, p.requant.shift[0]!, p.bZero[0]!])];
  for (let t = 0; t < d.batches; t++) {
    restage(ctx, d, b.addr + t * d.k * d.n, scratch, setup);
    product(ctx, d, { a, y, t, scratch, izp: p.aZero, wzp: p.bZero[0]!, zOut: p.requant.zOut, lo, hi: p.requant.hi }, setup);
  }
}

/** Steps writing B [k, n] at `from` into weight blocks at `scratch` (see the header), in tiles that fit acc and out. */
function restage(ctx: LowerCtx, d: Dims, from: number, scratch: number, setup: Insn[]): void {
  const g = ctx.geo;
  const [bk, lanes, block] = [g.vecBytes, g.lanes, g.blockBytes];
  const room = g.accVectors - CONSTS;
  const kbStep = Math.min(d.kb, Math.floor(room / bk), Math.floor(g.outBytes / block), Math.floor(VEC_MAX / bk));
  const colStep = Math.min(d.cols, Math.floor(room / (bk * kbStep)), Math.floor(g.outBytes / (block * kbStep)), VEC_MAX);
  for (let kb0 = 0; kb0 < d.kb; kb0 += kbStep) {
    const kbs = Math.min(kbStep, d.kb - kb0);
    const [k0, k1] = [kb0 * bk, Math.min(d.k, (kb0 + kbs) * bk)];
    for (let c0 = 0; c0 < d.cols; c0 += colStep) {
      const cs = Math.min(colStep, d.cols - c0);
      const span = kbs * block;
      const toOut = { dstMem: "out" as const, dtype: "i8" as const, dstRowStride: lanes, dstColStride: span, cols: cs };
      const compute: Insn[] = [ctx.vec({ fn: "add", src: CONSTS, useImm: true, rows: k1 - k0, srcRowStride: cs, srcColStride: 1, ...toOut })];
      // Rows past K: z_b, so that they contribute (b − z_b) = 0.
      if (k0 + kbs * bk > k1) compute.push(ctx.vec({ fn: "add", src: ZB, useImm: true, dst: (k1 - k0) * lanes, rows: k0 + kbs * bk - k1, ...toOut }));
      ctx.step(
        [...setup.splice(0), ctx.load({ mem: "acc", sram: CONSTS, dram: from + k0 * d.n + c0 * lanes, ySize: k1 - k0, xSize: cs, yStride: d.n, xStride: lanes })],
        compute,
        ctx.store({ dram: scratch + (c0 * d.kb + kb0) * block, ySize: cs, xSize: span, yStride: d.kb * block, srcStride: span }),
      );
    }
  }
}

/** Where one batch's product reads and writes, and its requantization. */
interface Product {
  readonly a: Buffer;
  readonly y: Buffer;
  readonly t: number;
  readonly scratch: number;
  readonly izp: number;
  readonly wzp: number;
  readonly zOut: number;
  readonly lo: number;
  readonly hi: number;
}

/** Steps of batch t's product: weight columns in groups that fit wgt, rows in tiles that fit inp, acc and out. */
function product(ctx: LowerCtx, d: Dims, p: Product, setup: Insn[]): void {
  const g = ctx.geo;
  const lanes = g.lanes;
  const groupCols = Math.min(d.cols, Math.floor(g.wgtBlocks / d.kb), Math.floor(g.outBytes / lanes), g.accVectors - CONSTS, VEC_MAX);
  const tile = Math.min(d.rows, Math.floor(g.inpVectors / d.kb), Math.floor((g.accVectors - CONSTS) / groupCols), Math.floor(g.outBytes / (groupCols * lanes)), VEC_MAX);
  const row0 = p.t * d.rows;
  for (let c0 = 0; c0 < d.cols; c0 += groupCols) {
    const nv = Math.min(groupCols, d.cols - c0);
    for (let r0 = 0; r0 < d.rows; r0 += tile) {
      const rows = Math.min(tile, d.rows - r0);
      const loads: Insn[] = [...setup.splice(0)];
      if (r0 === 0) loads.push(ctx.load({ mem: "wgt", dram: p.scratch + c0 * d.kb * g.blockBytes, xSize: nv * d.kb, xStride: g.blockBytes }));
      loads.push(ctx.load({ mem: "inp", dram: p.a.addr + (row0 + r0) * d.k, ySize: rows, xSize: d.kb, yStride: d.k, xStride: g.vecBytes }));
      const compute: Insn[] = [ctx.vec({ fn: "mul", dst: CONSTS, src: CONSTS, useImm: true, imm: 0, rows, cols: nv, dstRowStride: nv, dstColStride: 1, srcRowStride: nv, srcColStride: 1 })];
      for (let c = 0; c < nv; c++) {
        for (let kb = 0; kb < d.kb; kb += MAX_K_BLOCKS) {
          compute.push(ctx.gemm({
            acc: CONSTS + c, inp: kb, wgt: c * d.kb + kb, rows, kBlocks: Math.min(MAX_K_BLOCKS, d.kb - kb),
            inpStride: d.kb, inpKStride: 1, accStride: nv, izp: p.izp, wzp: p.wzp,
          }));
        }
      }
      compute.push(ctx.vec({
        fn: "requant", src: CONSTS, srcRowStride: nv, srcColStride: 1, src2: PAIR, rows, cols: nv, imm: p.zOut, clamp: true, lo: p.lo, hi: p.hi,
        dstMem: "out", dtype: "i8", dstRowStride: nv * lanes, dstColStride: lanes,
      }));
      const x0 = c0 * lanes;
      ctx.step(loads, compute, ctx.store({ dram: p.y.addr + (row0 + r0) * d.n + x0, ySize: rows, xSize: Math.min(d.n, x0 + nv * lanes) - x0, yStride: d.n, srcStride: nv * lanes }));
    }
  }
}
