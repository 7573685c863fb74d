/**
 * Quantized Gemm with constant weights (docs/nna-isa.md "How the op families map"): Y[M, N] =
 * requantize(bias + (A − z_a)·B′), per output channel, with a following Relu fused into the
 * requantization clamp.
 *
 * Layout: A and Y are dense row-major int8 codes in DRAM; A's rows (all its axes but the last, as
 * a MatMul of a batched A reads them) are read as K/16 input vectors (`inpstride = kBlocks`,
 * `kstride = 1`). A may also be a Flatten of an nhwc feature map: its rows
 * are then the images' padded pixels, and B's rows are permuted to match (Reshape.ts `gemmRows`).
 * acc holds the layer's constants first — L bias vectors and L (M0, shift) pairs, L = acc vectors
 * per output row — and then the rows' accumulators at 3L, row stride L, so that channel 16v + j is
 * lane j of vector v in every region.
 *
 * Weights (pack.ts): per column, the all-zero K blocks are not stored and the GEMM masks skip
 * them (a sparse layer costs fewer array cycles and bytes), and few-level weights are stored as
 * codebook indices that `load.wgt mode=cb2|cb4` expands through tables in lut, when that loads
 * no slower.
 *
 * Tiling: weight columns (16 channels, 32 in int4 mode) in groups whose stored blocks fit the wgt
 * scratchpad (and whose tables fit lut), and within a group rows in tiles that fit inp, acc and
 * out — all rows at once when they fit (A is then loaded once for every group), else tiles of half
 * of each in alternate halves (double buffering); K is summed by GEMMs of at most 32 blocks each
 * into the same accumulators.
 */
import { HwacError } from "../../../ir/errors.js";
import type { Node } from "../../../ir/graph.js";
import { productParams } from "../../../ir/kernels/requant.js";
import { attrsOf } from "../../../ir/op.js";
import { numel } from "../../../ir/tensor.js";
import { MAX_K_BLOCKS, type Insn, VEC_MAX } from "../isa.js";
import type { Geometry } from "../config.js";
import type { LowerCtx } from "./context.js";
import { columnLanes, packParams, packWeights, storeBlocks, tableLoads, weightImage, weightLoads, type WeightImage } from "./pack.js";
import { fusedRelu } from "./Relu.js";
import { denseCopy, gemmRows } from "./Reshape.js";


function unsupported(node: Node, message: string): HwacError {
  return new HwacError("HW5042", `Gemm on the NNA: ${message}`, { node: node.name, op: node.op });
}

export function lowerGemm(node: Node, ctx: LowerCtx): void {
  const attrs = attrsOf(node);
  if (attrs.int("transA", 0) !== 0) throw unsupported(node, "transA = 1 is not supported (A must be [M, K] rows)");
  if (attrs.float("alpha", 1) !== 1 || attrs.float("beta", 1) !== 1) throw unsupported(node, "alpha and beta must be 1 (the quantizer folds them)");
  const transB = attrs.int("transB", 0) !== 0;
  const [aName, bName, cName] = node.inputs as [string, string, string | undefined];
  const w = ctx.graph.initializers.get(bName);
  if (!w) throw unsupported(node, `B ('${bName}') must be a constant`);
  const n = transB ? w.shape[0]! : w.shape[1]!;
  const bias = cName ? ctx.graph.initializers.get(cName) : undefined;
  if (cName && (!bias || bias.dtype !== "int32" || bias.data.length !== n || bias.shape.at(-1) !== n)) {
    throw unsupported(node, `C ('${cName}') must be a constant int32 bias of one value per output channel`);
  }
  const aType = ctx.type(aName);
  if (aType.dtype !== "int8") throw unsupported(node, `A must be int8 codes, got ${aType.dtype}`);
  if (w.dtype !== "int8" && w.dtype !== "int4") throw unsupported(node, `B must be int8 or int4 codes, got ${w.dtype}`);
  // A's leading axes are rows (a MatMul's batch); K is its last axis.
  const aShape = ctx.shape(aName, node);
  const k = aShape.at(-1)!;
  const m = numel(aShape.slice(0, -1));
  ctx.beginLayer(node);
  // A 2-D Flatten of a feature map stays pixel-major in DRAM: the rows read are its image rows, and B's rows follow them.
  const a = aShape.length > 2 ? denseCopy(ctx, node, aName) : ctx.buffer(aName, node);
  const aRows = gemmRows(a, m, k);
  if (!aRows) throw unsupported(node, `A ('${aName}') is held in a layout a Gemm cannot read as [${m}, ${k}] rows`);

  const relu = fusedRelu(ctx, node);
  const yName = relu ? relu.node.outputs[0]! : node.outputs[0]!;
  const yType = ctx.type(node.outputs[0]!);
  if (yType.dtype !== "int8") throw unsupported(node, `the output must be int8 codes, got ${yType.dtype}`);
  const p = productParams(aType, ctx.type(bName), yType, transB ? 0 : 1, n, `Gemm '${node.name}'`);
  if (p.bZero.some((z) => z !== 0)) throw unsupported(node, "B must be quantized symmetrically (zero point 0)");
  const lo = relu ? Math.max(p.requant.lo, relu.floor) : p.requant.lo;

  const g = ctx.geo;
  const int4 = w.dtype === "int4";
  const lanes = columnLanes(g, int4);
  const perCol = lanes / g.lanes;
  const kBlocks = Math.ceil(aRows.k / g.vecBytes);
  const cols = Math.ceil(n / lanes);
  const vecs = cols * perCol;
  const wd = w.data as Int8Array;
  const weight = transB ? (i: number, j: number) => wd[j * k + i]! : (i: number, j: number) => wd[i * n + j]!;
  const full = packWeights(g, { k: aRows.k, n, int4 }, (i, j) => {
    const from = aRows.column(i);
    return from < 0 ? 0 : weight(from, j);
  });
  const blocks = storeBlocks(g, full, kBlocks, kBlocks, MAX_K_BLOCKS);
  const cs = blocks.colStart;
  const groupLoads = (img: WeightImage, [c0, c1]: readonly [number, number]) => [...tableLoads(ctx, img, c0, c1), ...weightLoads(ctx, img, cs[c0]!, cs[c1]!, c0)];
  const image = weightImage(ctx, blocks, int4, (img) => columnGroups(g, img).flatMap((group) => groupLoads(img, group)));
  const pAddr = ctx.constant(packParams(g, vecs, bias?.data as Int32Array | undefined, p.requant));
  const y = ctx.activation(yName, m, n);

  const accBase = 3 * vecs;
  const rowBytes = g.lanes * vecs;
  /** Rows that fit `share` of inp, of acc past the constants, and of out. */
  const fit = (share: number) => Math.min(Math.floor((g.inpVectors * share) / kBlocks), Math.floor(((g.accVectors - accBase) * share) / vecs), Math.floor((g.outBytes * share) / rowBytes), VEC_MAX);
  const widest = Math.max(...cs.slice(1).map((s, c) => s - cs[c]!));
  if (widest > g.wgtBlocks || fit(1) < 1 || vecs > VEC_MAX) {
    throw unsupported(node, `a [${m}, ${k}] × [${k}, ${n}] product does not fit the scratchpads even one row and one weight column at a time`);
  }
  // Rows in one tile when they fit; otherwise tiles of half the room, in alternate halves of inp,
  // acc and out, so that a tile's rows load while the previous tile computes (sync.ts).
  const banked = m > fit(1) && fit(0.5) >= 1;
  const tile = m <= fit(1) ? m : banked ? fit(0.5) : fit(1);

  let first = true;
  let t = 0;
  for (const [c0, c1] of columnGroups(g, image)) {
    const [v0, nv] = [c0 * perCol, (c1 - c0) * perCol];
    const units = blocks.units.filter((u) => u.col >= c0 && u.col < c1);
    for (let r0 = 0; r0 < m; r0 += tile, t++) {
      const rows = Math.min(tile, m - r0);
      const bank = banked ? t % 2 : 0;
      const [inp, acc, out] = [bank * tile * kBlocks, accBase + bank * tile * vecs, bank * tile * rowBytes];
      const loads: Insn[] = [];
      if (first) loads.push(ctx.load({ mem: "acc", mode: "i32", dram: pAddr, xSize: 3 * vecs, xStride: 4 * g.lanes }));
      if (r0 === 0) loads.push(...groupLoads(image, [c0, c1]));
      // All rows in one tile: A is loaded once, for every column group.
      if (first || tile < m) loads.push(ctx.load({ mem: "inp", sram: inp, dram: a.addr + r0 * aRows.k, ySize: rows, xSize: kBlocks, yStride: aRows.k, xStride: g.vecBytes }));
      first = false;

      const compute: Insn[] = [
        // Each accumulator row starts as the bias (broadcast over rows: srcrow = 0).
        ctx.vec({ fn: "add", dst: acc + v0, src: v0, rows, cols: nv, dstRowStride: vecs, dstColStride: 1, srcColStride: 1, useImm: true }),
        ...units.map((u) => ctx.gemm({
          mode: int4 ? "i4" : "i8", acc: acc + u.col * perCol, inp: inp + u.kb0, wgt: u.at - cs[c0]!, rows,
          kBlocks: u.kBlocks, mask: u.mask, inpStride: kBlocks, inpKStride: 1, accStride: vecs, izp: p.aZero,
        })),
      ];
      compute.push(ctx.vec({
        fn: "requant", src: acc + v0, srcRowStride: vecs, srcColStride: 1, src2: vecs + 2 * v0, src2ColStride: 2, rows, cols: nv,
        imm: p.requant.zOut, clamp: true, lo, hi: p.requant.hi, dstMem: "out", dtype: "i8", dst: out + v0 * g.lanes, dstRowStride: rowBytes, dstColStride: g.lanes,
      }));
      const x0 = v0 * g.lanes;
      const store = ctx.store({ sram: out + x0, dram: y.addr + r0 * n + x0, ySize: rows, xSize: Math.min(n, (v0 + nv) * g.lanes) - x0, yStride: n, srcStride: rowBytes });
      ctx.step(loads, compute, store);
    }
  }
}

/** Consecutive weight columns [c0, c1) whose stored blocks fit wgt together and whose tables fit lut. */
function columnGroups(g: Geometry, img: WeightImage): [number, number][] {
  const cs = img.blocks.colStart;
  const cols = cs.length - 1;
  const lutCols = img.cb?.colEntries ? Math.floor(g.lutEntries / img.cb.colEntries) : cols;
  const out: [number, number][] = [];
  for (let c0 = 0; c0 < cols; ) {
    let c1 = c0 + 1;
    while (c1 < cols && c1 - c0 < lutCols && cs[c1 + 1]! - cs[c0]! <= g.wgtBlocks) c1++;
    out.push([c0, c1]);
    c0 = c1;
  }
  return out;
}
