/**
 * ReduceMax, ReduceMin, ReduceMean and ReduceSum on the NNA, bit for bit ir/kernels/reduce.ts
 * `reduceInt`: an int32 fold of the codes, then one requantization — of max − z_in (min − z_in) by
 * s_in/s_out (nothing when input and output share a type, as the quantizer makes them), or of
 * Σ q − count·z_in by s_in/(count·s_out) for the mean and s_in/s_out for the sum.
 *
 * The input (dense; an nhwc buffer is copied to dense first) is viewed as [O, R, I]: the reduced
 * axes must form one run once size-1 axes are dropped. Each of the O·I outputs is a line of R
 * elements in one acc lane (lanes.ts): read directly, 16 neighbouring outputs per vector, when
 * I > 1 (or a single output), else (a max) transposed through the array. The vector unit folds a chunk's
 * vectors into one accumulator per column (`vec.max` / `vec.min` / `vec.add` running, the first
 * copied, for the sums minus the constant count·z_in), chunks of long lines carrying the accumulators over steps,
 * and the last chunk requantizes to out and stores the outputs, which are neighbouring bytes.
 *
 * A mean or sum over the innermost axes (I = 1, several outputs) needs no transposition: the array sums.
 * Line j is read as whole input vectors and the block S_j (ones in column j; for a last, partial
 * vector only its first R mod 16 rows, so the next line's bytes meet zeros) adds their elements,
 * minus z_in each (`izp`), into lane j of one accumulator: one array cycle per 16 elements.
 */
import type { Node } from "../../../ir/graph.js";
import type { QType } from "../../../ir/kernels/int-elementwise.js";
import { normAxes } from "../../../ir/kernels/layout.js";
import { quantizeMultiplier, type FixedMultiplier } from "../../../ir/numeric.js";
import { attrsOf } from "../../../ir/op.js";
import { numel, toNumbers } from "../../../ir/tensor.js";
import { MAX_K_BLOCKS, type Insn, type Vec, VEC_MAX } from "../isa.js";
import type { LowerCtx } from "./context.js";
import { codes, unsupported } from "./elementwise.js";
import { chunkOf, columnsOf, foldRows, gather, isDirect, selectionLoad, slabs, splatLoad, type Lines } from "./lanes.js";
import { denseCopy } from "./Reshape.js";

export type ReduceKind = "max" | "min" | "mean" | "sum";

/** Elements a slab should take per chunk at least before more columns are worth it. */
const MIN_CHUNK = 64;

/** The reduced axes: the `axes` attribute or constant input; none given means all (noop_with_empty_axes is refused). */
function reducedAxes(node: Node, ctx: LowerCtx, rank: number): number[] {
  const attrs = attrsOf(node);
  const input = node.inputs[1];
  let axes = attrs.optInts("axes");
  if (!axes && input) {
    const c = ctx.graph.initializers.get(input);
    if (!c) throw unsupported(node, `axes ('${input}') must be a constant`);
    axes = toNumbers(c);
  }
  if (axes?.length) return normAxes(axes, rank, { node });
  if (attrs.int("noop_with_empty_axes", 0) !== 0) throw unsupported(node, "noop_with_empty_axes with no axes (a rescale, not a reduction) is not supported");
  return Array.from({ length: rank }, (_, a) => a);
}

/** [O, R, I] of a reduction of `shape` over `axes`, or undefined when the reduced axes are not one run. */
function foldView(shape: readonly number[], axes: readonly number[]): { o: number; r: number; i: number } | undefined {
  const dims = shape.map((size, a) => ({ size, reduced: axes.includes(a) })).filter((d) => d.size !== 1);
  const first = dims.findIndex((d) => d.reduced);
  if (first < 0) return { o: 1, r: 1, i: numel(shape) };
  const end = dims.findIndex((d, k) => k > first && !d.reduced);
  const last = end < 0 ? dims.length : end;
  if (dims.slice(last).some((d) => d.reduced)) return undefined;
  const size = (from: number, to: number) => dims.slice(from, to).reduce((p, d) => p * d.size, 1);
  return { o: size(0, first), r: size(first, last), i: size(last, dims.length) };
}

export function lowerReduce(node: Node, ctx: LowerCtx, kind: ReduceKind): void {
  const [xName, yName] = [node.inputs[0]!, node.outputs[0]!];
  const [a, b] = [codes(ctx, node, xName), codes(ctx, node, yName)];
  const shape = ctx.shape(xName, node);
  const axes = reducedAxes(node, ctx, shape.length);
  const view = foldView(shape, axes);
  if (!view) throw unsupported(node, `axes [${axes.join(", ")}] of [${shape.join(", ")}] are not one run of axes (ignoring axes of size 1)`);
  if (numel(shape) === 0) throw unsupported(node, "an empty input is not supported");
  const { o, r, i } = view;

  // The reference's parameters: the multiplier, and for the mean the fold's offset count·z_in.
  // Sums (and means) fold q − z_in, the extremes the codes themselves (ir/kernels/reduce.ts reduceInt).
  const additive = kind === "mean" || kind === "sum";
  const m = quantizeMultiplier(kind === "mean" ? a.scale / (r * b.scale) : a.scale / b.scale);
  const identity = !additive && m.m0 === 2 ** 30 && m.shift === 1 && a.zp === b.zp;
  const consts = additive ? [Math.imul(r, a.zp), m.m0, m.shift] : identity ? [] : [m.m0, m.shift];
  const pairAt = additive ? 1 : 0;

  ctx.beginLayer(node);
  const x = denseCopy(ctx, node, xName);
  const y = ctx.activation(yName, o, i);
  const lines: Lines = i > 1 || o === 1
    ? { addr: x.addr, blocks: o, blockStride: r * i, count: i, lineStride: 1, length: r, elemStride: i }
    : { addr: x.addr, blocks: 1, blockStride: 0, count: o, lineStride: r, length: r, elemStride: 1 };
  if (additive && !isDirect(lines) && sumBlocks(ctx, r) <= ctx.geo.wgtBlocks) return sumRows(ctx, lines, y.addr, m, a.zp, b);

  const g = ctx.geo;
  const room = g.accVectors - consts.length;
  const cols = Math.min(columnsOf(ctx, lines), Math.max(1, Math.floor(room / (1 + Math.min(r, MIN_CHUNK)))), Math.floor(g.outBytes / g.lanes), VEC_MAX);
  const [acc, data] = [consts.length, consts.length + cols];
  const setup: Insn[] = consts.length > 0 ? [splatLoad(ctx, 0, consts)] : [];
  if (!isDirect(lines)) setup.push(selectionLoad(ctx));
  const fn = kind === "max" ? "max" : kind === "min" ? "min" : "add";

  for (const slab of slabs(ctx, lines, cols)) {
    const c = slab.cols;
    const chunk = chunkOf(ctx, lines, slab, room - cols);
    if (chunk < 1) throw unsupported(node, "the scratchpads are too small for one element per output");
    for (let x0 = 0; x0 < r; x0 += chunk) {
      const n = Math.min(chunk, r - x0);
      const { loads, compute } = gather(ctx, lines, slab, x0, n, data);
      loads.unshift(...setup.splice(0));
      const cols1 = { cols: c, dstColStride: 1, srcColStride: 1 };
      // The first chunk starts the accumulators from its first element (minus count·z_in for sums).
      const from = x0 === 0 ? 1 : 0;
      if (x0 === 0) {
        compute.push(additive
          ? ctx.vec({ fn: "sub", dst: acc, src: data, src2: 0, ...cols1 })
          : ctx.vec({ fn: "add", dst: acc, src: data, useImm: true, ...cols1 }));
      }
      if (n > from) {
        compute.push(foldRows(ctx, fn, acc, data + from * c, n - from, c));
      }
      if (x0 + n < r) {
        ctx.step(loads, compute);
        continue;
      }
      compute.push(...finish(ctx, additive, identity, acc, c, pairAt, a.zp, b));
      ctx.step(loads, compute, ctx.store({ dram: y.addr + slab.block * lines.count + slab.first, xSize: slab.width }));
    }
  }
}

/** The accumulators to int8 outputs in out: copied (an extreme of one type), or requantized (an extreme less z_in first). */
function finish(ctx: LowerCtx, additive: boolean, identity: boolean, acc: number, cols: number, pairAt: number, zIn: number, b: QType): Vec[] {
  const to = { cols, srcColStride: 1, dstMem: "out" as const, dtype: "i8" as const, dstColStride: ctx.geo.lanes };
  if (identity) return [ctx.vec({ fn: "add", src: acc, useImm: true, ...to })];
  const centre = !additive && zIn !== 0 ? [ctx.vec({ fn: "sub", dst: acc, src: acc, useImm: true, imm: zIn, cols, dstColStride: 1, srcColStride: 1 })] : [];
  return [...centre, ctx.vec({ fn: "requant", src: acc, src2: pairAt, imm: b.zp, clamp: true, lo: b.lo, hi: b.hi, ...to })];
}

/** The summing blocks a mean over runs of r bytes needs in wgt: S_j per lane of a slab, twice with a partial last vector. */
function sumBlocks(ctx: LowerCtx, r: number): number {
  return (r % ctx.geo.vecBytes > 0 ? 2 : 1) * Math.min(ctx.geo.lanes, MAX_K_BLOCKS);
}

/** The mean over runs of R bytes, lines r bytes apart, summed by the array (see the header); outputs from `y`. */
function sumRows(ctx: LowerCtx, lines: Lines, y: number, m: FixedMultiplier, zIn: number, b: QType): void {
  const g = ctx.geo;
  const [bi, lanes, size] = [g.vecBytes, g.lanes, g.blockBytes];
  const r = lines.length;
  const [full, tail, blocks] = [Math.floor(r / bi), r % bi, Math.ceil(r / bi)];
  // wgt: S_j for the w lanes a slab takes, over whole vectors, then (at w) over the first `tail` rows.
  const w = Math.min(lanes, MAX_K_BLOCKS);
  const weights = new Uint8Array(sumBlocks(ctx, r) * size);
  for (let j = 0; j < w; j++) {
    for (let k = 0; k < bi; k++) {
      weights[j * size + k * lanes + j] = 1;
      if (k < tail) weights[(w + j) * size + k * lanes + j] = 1;
    }
  }
  const acc = 2;
  const setup: Insn[] = [splatLoad(ctx, 0, [m.m0, m.shift]), ctx.load({ mem: "wgt", dram: ctx.constant(weights), xSize: weights.length / size, xStride: size })];
  const chunk = Math.floor(g.inpVectors / w);
  for (const slab of slabs(ctx, lines, 1)) {
    const j = slab.width;
    for (let b0 = 0; b0 < blocks; b0 += chunk) {
      const nb = Math.min(chunk, blocks - b0);
      const sums = { acc, rows: 1, kBlocks: j, inpStride: 1, inpKStride: nb, accStride: 0, izp: zIn };
      const compute: Insn[] = b0 > 0 ? [] : [ctx.vec({ fn: "mul", dst: acc, src: acc, useImm: true, imm: 0 })];
      const whole = Math.min(nb, full - b0);
      if (whole > 0) compute.push(ctx.gemm({ ...sums, rows: whole }));
      const last = b0 + nb === blocks;
      if (last && tail > 0) compute.push(ctx.gemm({ ...sums, inp: nb - 1, wgt: w }));
      const loads = [...setup.splice(0), ctx.load({ mem: "inp", dram: lines.addr + slab.first * lines.lineStride + b0 * bi, ySize: j, xSize: nb, yStride: lines.lineStride, xStride: bi })];
      if (!last) {
        ctx.step(loads, compute);
        continue;
      }
      compute.push(ctx.vec({ fn: "requant", src: acc, src2: 0, imm: b.zp, clamp: true, lo: b.lo, hi: b.hi, dstMem: "out", dtype: "i8" }));
      ctx.step(loads, compute, ctx.store({ dram: y + slab.first, xSize: j }));
    }
  }
}
