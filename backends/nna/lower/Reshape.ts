/**
 * Reshape, Flatten, Squeeze and Unsqueeze on int8 codes, and the copies between the two activation
 * layouts (context.ts `Layout`) that they and the convolution and pooling lowerings need.
 *
 * A reshape emits no instructions when the bytes need not move: a dense value is the same bytes
 * under any shape; an nhwc buffer keeps standing for its feature map under a shape that keeps N
 * and C (Squeeze/Unsqueeze of spatial axes, a 1-D map as one row), and for a Flatten to
 * [N, C·spatial] (a Gemm reading it permutes its weights instead, Gemm.ts); an nhwc map of one
 * pixel per image whose channels fill whole 16-byte vectors is already dense. Any other reshape
 * of an nhwc buffer copies it to dense order first.
 *
 * The copies transpose through the DMA: STORE writes a column of single bytes with any DRAM
 * stride, so each channel of a tile of pixels is one store (the vector unit cannot move a value
 * across lanes, and a lane is a channel in nhwc but a pixel in dense order).
 */
import { VEC_MAX } from "../isa.js";
import { HwacError } from "../../../ir/errors.js";
import type { Node } from "../../../ir/graph.js";
import type { Insn, Store } from "../isa.js";
import { featureMap, type Buffer, type LowerCtx } from "./context.js";


function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Whether an nhwc buffer of `n` images can stand for a value of `shape` without moving bytes: its
 * feature map, or a Flatten of it to [N, C·spatial].
 */
function holds(b: Buffer, n: number, shape: readonly number[]): boolean {
  if (shape[0] !== n) return false;
  return featureMap(b, shape) !== undefined || (shape.length === 2 && shape[1] === b.channels! * (b.rows / n));
}

export function lowerReshape(node: Node, ctx: LowerCtx): void {
  const [xName, yName] = [node.inputs[0]!, node.outputs[0]!];
  const x = ctx.buffer(xName, node);
  const shape = ctx.shape(yName, node);
  const n = ctx.shape(xName, node)[0]!;
  const inPlace = x.layout === "dense" || (x.rows === n && x.cols === x.channels);
  if (!inPlace && holds(x, n, shape)) return ctx.alias(yName, x);
  if (!inPlace) ctx.beginLayer(node);
  const dense = denseCopy(ctx, node, xName);
  ctx.alias(yName, { ...dense, rows: product(shape.slice(0, -1)), cols: shape.at(-1) ?? 1 });
}

/**
 * How a Gemm reads the rows of A, an [m, k] value, from buffer `a`: a dense buffer's rows are A's;
 * an nhwc buffer holding a Flatten of a feature map has image rows of spatial·pitch bytes whose
 * byte p·pitch + c is A's column c·spatial + p (padding lanes: none, −1). Undefined when `a` holds
 * something else.
 */
export function gemmRows(a: Buffer, m: number, k: number): { k: number; column(i: number): number } | undefined {
  if (a.layout === "dense") return { k, column: (i) => i };
  const [c, pitch, pixels] = [a.channels!, a.cols, a.rows / m];
  if (!Number.isInteger(pixels) || c * pixels !== k) return undefined;
  return { k: pixels * pitch, column: (i) => (i % pitch < c ? (i % pitch) * pixels + Math.floor(i / pitch) : -1) };
}

/**
 * The dense (row-major) bytes of value `name`: its buffer when its bytes are already in that
 * order (a dense buffer, or an nhwc one of one pixel per image without padding lanes), else a copy
 * made once and shared. The copy's instructions belong to the layer open when it is first needed.
 */
export function denseCopy(ctx: LowerCtx, node: Node, name: string): Buffer {
  const x = ctx.buffer(name, node);
  if (x.layout === "dense") return x;
  const n = ctx.shape(name, node)[0]!;
  const c = x.channels!;
  if (x.rows === n && x.cols === c) return { addr: x.addr, rows: n, cols: c, layout: "dense" };
  const known = ctx.copies.get(name);
  if (known) return known;
  const g = ctx.geo;
  const pixels = x.rows / n;
  const vectors = x.cols / g.lanes;
  const y = ctx.activation(undefined, n * c, pixels);
  // A tile of pixels of one image: its vectors in acc, then out (pixel-major as in DRAM).
  const tile = Math.min(pixels, Math.floor(g.accVectors / vectors), Math.floor(g.outBytes / x.cols), VEC_MAX);
  if (tile < 1) throw unsupported(node, `a pixel of ${c} channels does not fit the scratchpads`);
  for (let img = 0; img < n; img++) {
    for (let p0 = 0; p0 < pixels; p0 += tile) {
      const tp = Math.min(tile, pixels - p0);
      const stores: Store[] = [];
      for (let ch = 0; ch < c; ch++) {
        stores.push(ctx.store({ sram: ch, dram: y.addr + (img * c + ch) * pixels + p0, ySize: tp, xSize: 1, yStride: 1, srcStride: x.cols }));
      }
      ctx.step(
        [ctx.load({ mem: "acc", mode: "i8", dram: x.addr + (img * pixels + p0) * x.cols, xSize: tp * vectors, xStride: g.lanes })],
        [copyToOut(ctx, tp, vectors, vectors, 1, x.cols, g.lanes)],
        stores,
      );
    }
  }
  ctx.copies.set(name, y);
  return y;
}

/**
 * An nhwc copy of a dense [N, C, spatial…] value `name` (made once and shared): per tile of pixels
 * the channels' rows are loaded into acc (one vector per 16 pixels), copied to out, and each
 * channel stored as a column of bytes at the nhwc pitch.
 */
export function nhwcCopy(ctx: LowerCtx, node: Node, name: string): Buffer {
  const known = ctx.copies.get(name);
  if (known) return known;
  const x = ctx.buffer(name, node);
  const shape = ctx.shape(name, node);
  const [n, c] = [shape[0]!, shape[1]!];
  const pixels = product(shape.slice(2));
  const g = ctx.geo;
  const y = ctx.featureBuffer(undefined, n * pixels, c);
  // Channel chunks × vectors of pixels: cc·v acc vectors and as many out vectors per step.
  const cc = Math.min(c, g.accVectors, Math.floor(g.outBytes / g.lanes), VEC_MAX);
  const v = Math.min(Math.ceil(pixels / g.lanes), Math.floor(g.accVectors / cc), Math.floor(g.outBytes / (cc * g.lanes)), VEC_MAX);
  if (cc < 1 || v < 1) throw unsupported(node, `the scratchpads are too small to reorder '${name}'`);
  const tile = v * g.lanes;
  for (let img = 0; img < n; img++) {
    for (let p0 = 0; p0 < pixels; p0 += tile) {
      const tp = Math.min(tile, pixels - p0);
      // Whole vectors of the tile's pixels: the last one reads at most 15 bytes past them.
      const vt = Math.ceil(tp / g.lanes);
      for (let c0 = 0; c0 < c; c0 += cc) {
        const rows = Math.min(cc, c - c0);
        const stores: Store[] = [];
        for (let ch = 0; ch < rows; ch++) {
          stores.push(ctx.store({ sram: ch * vt * g.lanes, dram: y.addr + (img * pixels + p0) * y.cols + c0 + ch, ySize: tp, xSize: 1, yStride: y.cols, srcStride: 1 }));
        }
        ctx.step(
          [ctx.load({ mem: "acc", mode: "i8", dram: x.addr + (img * c + c0) * pixels + p0, ySize: rows, xSize: vt, yStride: pixels, xStride: g.lanes })],
          [copyToOut(ctx, rows, vt, vt, 1, vt * g.lanes, g.lanes)],
          stores,
        );
      }
    }
  }
  ctx.copies.set(name, y);
  return y;
}

/** Copies acc vectors (rows × cols from vector 0) to out as int8 lanes. */
function copyToOut(ctx: LowerCtx, rows: number, cols: number, srcRow: number, srcCol: number, dstRow: number, dstCol: number): Insn {
  return ctx.vec({
    fn: "add", useImm: true, rows, cols, srcRowStride: srcRow, srcColStride: srcCol,
    dstMem: "out", dtype: "i8", dstRowStride: dstRow, dstColStride: dstCol,
  });
}

export function unsupported(node: Node, message: string): HwacError {
  return new HwacError("HW5042", `${node.op} on the NNA: ${message}`, { node: node.name, op: node.op });
}
