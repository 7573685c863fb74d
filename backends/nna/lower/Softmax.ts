/**
 * Softmax on the NNA, bit for bit the integer reference (ir/kernels/softmax.ts `softmaxInt`): per
 * row, the max code, the Q0.15 exponentials T[max − q] from the input's table, their int32 sum,
 * the reciprocal of the sum times 1/s_out (reciprocal.ts), and one requantization per element.
 *
 * Rows go one per acc lane (lanes.ts): a row's elements are consecutive acc vectors, so with the
 * whole row in acc every step is lane-local —
 *   `vec.max` running over the row's vectors (the max), `vec.sub` max − q, `vec.lut8` T[max − q]
 *   (the 256-entry table is stored permuted, entry i = T[i ^ 128], because lut8 indexes by the low
 *   byte + 128), `vec.add` running (the sum), the reciprocal routine (≈ 250 instructions per group of
 *   16 rows), and `vec.requant` of every T by its row's pair to out.
 * Rows over the last axis (dense) or over the channels of an nhwc feature map are runs of bytes, so
 * they come transposed through the array; rows over an inner axis are read directly, 16 rows of
 * neighbouring positions per vector. Other nhwc layouts are copied to dense first.
 */
import { VEC_MAX } from "../isa.js";
import type { Node } from "../../../ir/graph.js";
import { softmaxIntParams } from "../../../ir/kernels/softmax.js";
import { attrsOf } from "../../../ir/op.js";
import { numel } from "../../../ir/tensor.js";
import type { Insn } from "../isa.js";
import { featureMap, type Buffer, type LowerCtx } from "./context.js";
import { codes, unsupported } from "./elementwise.js";
import { chunkOf, columnsOf, foldRows, gather, isDirect, selectionLoad, slabs, splatLoad, storeElements, type Lines } from "./lanes.js";
import { RECIPROCAL_SCRATCH, reciprocalConstants, reciprocalTimes } from "./reciprocal.js";
import { denseCopy } from "./Reshape.js";

/** Softmax's [outer, n, inner] view: rows of n elements, `inner` apart. */
interface View {
  readonly outer: number;
  readonly n: number;
  readonly inner: number;
}

/** The view of `shape`: opset 13 normalizes along `axis` (default −1), earlier opsets flatten at `axis` (default 1). */
function softmaxView(node: Node, shape: readonly number[], opset: number): View {
  const rank = shape.length;
  const flatten = opset < 13;
  const given = attrsOf(node).optInt("axis");
  const axis = given ?? (flatten ? 1 : -1);
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a > (flatten ? rank : rank - 1)) throw unsupported(node, `axis ${axis} is out of range for [${shape.join(", ")}]`);
  const outer = numel(shape.slice(0, a));
  return flatten ? { outer, n: numel(shape.slice(a)), inner: 1 } : { outer, n: shape[a]!, inner: numel(shape.slice(a + 1)) };
}

/** Where the rows lie in `b`, a buffer holding the value of `shape`; undefined when they need a dense copy. */
function rowLines(b: Buffer, shape: readonly number[], v: View): Lines | undefined {
  if (b.layout === "nhwc") {
    // Rows over the channels of a feature map: one per pixel, `pitch` bytes apart.
    const fm = featureMap(b, shape);
    if (!fm || v.outer !== fm.n || v.n !== fm.channels || v.inner !== fm.pixels) return undefined;
    return { addr: b.addr, blocks: 1, blockStride: 0, count: b.rows, lineStride: fm.pitch, length: v.n, elemStride: 1 };
  }
  if (v.inner === 1 && v.outer > 1) return { addr: b.addr, blocks: 1, blockStride: 0, count: v.outer, lineStride: v.n, length: v.n, elemStride: 1 };
  return { addr: b.addr, blocks: v.outer, blockStride: v.n * v.inner, count: v.inner, lineStride: 1, length: v.n, elemStride: v.inner };
}

/** Lowers a Softmax node; the model's opset decides the view of `axis` (see `softmaxView`). */
export function lowerSoftmax(node: Node, ctx: LowerCtx): void {
  const [xName, yName] = [node.inputs[0]!, node.outputs[0]!];
  codes(ctx, node, xName);
  codes(ctx, node, yName);
  const p = softmaxIntParams(ctx.type(xName), ctx.type(yName));
  const shape = ctx.shape(xName, node);
  const v = softmaxView(node, shape, ctx.opset);
  const g = ctx.geo;
  const lanes = g.lanes;
  const n = v.n;

  ctx.beginLayer(node);
  const given = ctx.buffer(xName, node);
  let lines = rowLines(given, shape, v);
  const x = lines ? given : denseCopy(ctx, node, xName);
  lines ??= rowLines(x, shape, v)!;
  const y = ctx.activationLike(yName, x);
  if (numel(shape) === 0) return;

  // acc: the reciprocal's constants, then per column the max, the sum, the pair, the scratch, and the row's vectors.
  const consts = reciprocalConstants(p.outMul);
  const perCol = 4 + RECIPROCAL_SCRATCH + n;
  const cols = Math.min(columnsOf(ctx, lines), Math.floor((g.accVectors - consts.length) / perCol), Math.floor(g.outBytes / (n * lanes)), VEC_MAX);
  if (!(cols >= 1) || n > VEC_MAX) throw unsupported(node, `rows of ${n} elements do not fit the scratchpads (a row stays in acc while it is normalized)`);
  const [max, sum, pair, scratch] = [consts.length, consts.length + cols, consts.length + 2 * cols, consts.length + 4 * cols];
  const data = scratch + RECIPROCAL_SCRATCH * cols;

  // Entry i = T[i ^ 128]: lut8 reads entry (a & 255) ^ 128 for a = max − q in [0, 255].
  const table = new Uint8Array(512);
  const view = new DataView(table.buffer);
  for (let i = 0; i < 256; i++) view.setInt16(2 * i, p.exp[i ^ 128]!, true);
  const setup: Insn[] = [splatLoad(ctx, 0, consts), ctx.load({ mem: "lut", mode: "i16", dram: ctx.constant(table), xSize: 256, xStride: 2 })];
  if (!isDirect(lines)) setup.push(selectionLoad(ctx));

  const out = { ...lines, addr: y.addr };
  for (const slab of slabs(ctx, lines, cols)) {
    const c = slab.cols;
    const chunk = chunkOf(ctx, lines, slab, n * c);
    for (let x0 = 0; x0 < n; x0 += chunk) {
      const count = Math.min(chunk, n - x0);
      const { loads, compute } = gather(ctx, lines, slab, x0, count, data + x0 * c);
      loads.unshift(...setup.splice(0));
      if (x0 + count < n) {
        ctx.step(loads, compute);
        continue;
      }
      // A fold of the row's vectors into one register per column: the first copied, the rest combined.
      const fold = (fn: "max" | "add", dst: number, src: number) => {
        compute.push(ctx.vec({ fn: "add", dst, src, cols: c, dstColStride: 1, srcColStride: 1, useImm: true }));
        if (n > 1) compute.push(foldRows(ctx, fn, dst, src + c, n - 1, c));
      };
      const rows = { rows: n, cols: c, dstRowStride: c, dstColStride: 1, srcRowStride: c, srcColStride: 1 };
      fold("max", max, data);
      compute.push(ctx.vec({ fn: "sub", dst: data, ...rows, src: max, srcRowStride: 0, src2: data, src2RowStride: c, src2ColStride: 1 }));
      compute.push(ctx.vec({ fn: "lut8", dst: data, src: data, ...rows }));
      fold("add", sum, data);
      compute.push(...reciprocalTimes(ctx, { cols: c, d: sum, scratch, consts: 0, pair }, p.outMul));
      compute.push(ctx.vec({
        fn: "requant", src: data, src2: pair, src2ColStride: 2, rows: n, cols: c, srcRowStride: c, srcColStride: 1,
        imm: p.zOut, clamp: true, lo: p.lo, hi: p.hi, dstMem: "out", dtype: "i8", dstRowStride: c * lanes, dstColStride: lanes,
      }));
      ctx.step(loads, compute, storeElements(ctx, out, slab));
    }
  }
}
