/**
 * Quantized Conv on the NNA, bit-exact with ir/ops/Conv.ts runInt: acc[o] = B[o] + Σ (x − z_x)·w
 * in int32, requantized per output channel, with a following Relu fused into the clamp. One or two
 * spatial axes (a 1-D convolution is one row), any kernel, strides, pads and dilations, any group
 * count, int8 or int4 weights.
 *
 * im2col by DMA (docs/nna-isa.md "Conv"). The input is read as *sources*: rows of input vectors one
 * pixel apart. An nhwc buffer has one source per 16-channel block (lane j is a channel); a dense
 * NCHW input with at most DIRECT_CHANNELS channels has one source per channel, read in place
 * (lane 0 is the channel, the other lanes are the next pixels, met by zero weights). For a tile
 * of output pixels, kernel tap t and source s fill K block kb = t·S + s with one 2-D load over the
 * tile's rows and columns, strided by the convolution's strides; taps that fall outside the input
 * are padded with z_x, which the array's zero-point subtraction turns into exact zeros. The
 * accumulators start as the bias, each weight column adds one GEMM per 32 K blocks, and the
 * requantized pixels go to the output's nhwc buffer.
 *
 * Weights (pack.ts): per output column (16 channels, 32 in int4 mode) only the K blocks that are
 * not all zero are stored, in kb order, and the GEMM masks skip the others, so grouped and
 * depthwise convolutions (block-diagonal weights) and padded channels cost no array cycles.
 * Few-level weights are stored as codebook indices, expanded by `load.wgt mode=cb2|cb4` through
 * tables that the first tile loads into lut, when that loads no slower. When the blocks do not
 * fit the wgt scratchpad at once they are loaded piece by piece within each tile (steps without a
 * store), the tile's im2col staying in inp.
 *
 * `convolve` runs any such convolution from explicit weights, window and requantization, with the
 * tile's results drained by the caller's instructions: ConvTranspose.ts runs its sub-pixel
 * convolution through it.
 */
import type { Node } from "../../../ir/graph.js";
import { convKernel, forwardWindow, readWindowAttrs } from "../../../ir/kernels/conv-geometry.js";
import { convParams, type Requant } from "../../../ir/kernels/requant.js";
import { attrsOf } from "../../../ir/op.js";
import type { Multipliers } from "../../../ir/quant-params.js";
import { MAX_K_BLOCKS, type Insn, type Load, type Store, type Vec, VEC_MAX } from "../isa.js";
import { nhwcPitch } from "../program.js";
import { featureMap, nhwcLanes, plane, tiles, TRIAL_UNITS, type LowerCtx, type Plane, type Stage, type Step, type Tile } from "./context.js";
import { unsupported } from "./elementwise.js";
import { columnLanes, packParams, packWeights, storeBlocks, tableLoads, weightImage, weightLoads, type Unit, type WeightImage } from "./pack.js";
import { nhwcCopy } from "./Reshape.js";
import { fusedRelu } from "./Relu.js";

/**
 * A dense input with at most this many channels is read in place, one K block per channel and
 * tap; more are copied to nhwc first (docs/nna-isa.md "Conv" has the measurements).
 */
export const DIRECT_CHANNELS = 1;
/** LOAD's pad fields are 8 bits wide. */
const PAD_MAX = 255;

/** Rows of input vectors one pixel apart (see the header). */
interface Sources {
  readonly count: number;
  readonly addr: number;
  /** Bytes from one source to the next. */
  readonly step: number;
  /** Bytes between neighbouring pixels of a row. */
  readonly pixel: number;
  /** Bytes between images. */
  readonly image: number;
  /** The input channel lane j of source s carries, or −1. */
  channel(s: number, j: number): number;
}

function sources(ctx: LowerCtx, node: Node, name: string, lanes: number): Sources {
  const shape = ctx.shape(name, node);
  const c = shape[1]!;
  const pixels = shape.slice(2).reduce((a, b) => a * b, 1);
  const x = ctx.buffer(name, node);
  if (x.layout === "dense" && c <= DIRECT_CHANNELS) {
    return { count: c, addr: x.addr, step: pixels, pixel: 1, image: c * pixels, channel: (s, j) => (j === 0 ? s : -1) };
  }
  const b = x.layout === "nhwc" ? x : nhwcCopy(ctx, node, name);
  if (!featureMap(b, shape)) throw unsupported(node, `'${name}' is not held as a feature map`);
  return {
    count: b.cols / lanes, addr: b.addr, step: lanes, pixel: b.cols, image: pixels * b.cols,
    channel: (s, j) => (s * lanes + j < c ? s * lanes + j : -1),
  };
}

/** The [first, end) of the `count` outputs from o0 whose tap coordinate (o0 + r)·stride + shift lies in [0, size). */
function inside(o0: number, count: number, stride: number, shift: number, size: number): [number, number] {
  const at = (bound: number) => Math.min(count, Math.max(0, Math.ceil((bound - shift - o0 * stride) / stride)));
  const first = at(0);
  return [first, Math.max(first, at(size))];
}

/** Consecutive units whose blocks fit the wgt scratchpad together, and where their blocks start in the stored ones. */
interface Piece {
  readonly units: Unit[];
  readonly offset: number;
  /** Grows while `pieces` fills the piece. */
  blocks: number;
}

/** The units in pieces that fit `capacity` blocks (one piece, possibly empty, when all do). */
function pieces(units: readonly Unit[], capacity: number): Piece[] {
  const out: Piece[] = [{ units: [], offset: 0, blocks: 0 }];
  for (const u of units) {
    let last = out.at(-1)!;
    if (last.blocks + u.blocks > capacity) out.push((last = { units: [], offset: last.offset + last.blocks, blocks: 0 }));
    last.units.push(u);
    last.blocks += u.blocks;
  }
  return out;
}

/** What a drain sees of a tile's accumulators in acc. */
export interface TileAcc {
  /** Acc vectors per output pixel: channel L·v + j of tile pixel p is lane j of vector p·vecs + v (L lanes a vector). */
  readonly vecs: number;
  /** The first byte of out the drain may use (its requantizations' `dst` and its stores' `sram` count from here). */
  readonly out: number;
  /**
   * The `vec.requant` (clamped, fused Relu included) of `rows` tile pixels from `pixel` on, `cols`
   * channel vectors from `vector` on, to int8 codes in out at byte `dst` past `out`, `dstRowStride`
   * bytes per pixel and L per vector.
   */
  requant(f: { readonly pixel: number; readonly vector: number; readonly rows: number; readonly cols: number; readonly dst: number; readonly dstRowStride: number }): Vec;
}

/** The instructions that take a finished tile from acc to DRAM. */
export type Drain = (tile: Tile, acc: TileAcc) => { readonly compute: Vec[]; readonly stores: Store[] };

/** A convolution as the array runs it, whatever op it comes from. */
export interface ConvSpec {
  readonly node: Node;
  /** The input: an [N, C, spatial…] value, read from its nhwc buffer (or in place, see `sources`). */
  readonly x: string;
  readonly pl: Plane;
  /** Output channels of the GEMMs. */
  readonly m: number;
  readonly int4: boolean;
  /** The weight code of output channel o, input channel c and kernel tap t (row-major over kh × kw): 0 when c does not feed o. */
  weight(o: number, c: number, t: number): number;
  /** One int32 per output channel, or none. */
  readonly bias: ArrayLike<number> | undefined;
  /** One multiplier, or one per output channel. */
  readonly mul: Multipliers;
  readonly izp: number;
  readonly clamp: Pick<Requant, "zOut" | "lo" | "hi">;
  /** The drain of every tile; called once, after the constants are placed. */
  drain(): Drain;
}

/** What every tile of one convolution needs: its input, constants, scratchpad layout and tiling. */
interface Conv {
  readonly spec: ConvSpec;
  readonly src: Sources;
  readonly lanes: number;
  readonly taps: number;
  /** Acc vectors per output pixel (the bias and multiplier vectors come first: 3·vecs). */
  readonly vecs: number;
  readonly perCol: number;
  readonly units: readonly Unit[];
  readonly parts: readonly Piece[];
  readonly weights: WeightImage;
  readonly pAddr: number;
  readonly drain: Drain;
}

export function lowerConv(node: Node, ctx: LowerCtx): void {
  const [xName, wName, bName] = node.inputs as [string, string, string | undefined];
  const w = ctx.graph.initializers.get(wName);
  if (!w || (w.dtype !== "int8" && w.dtype !== "int4")) throw unsupported(node, `W ('${wName}') must be constant int8 or int4 codes`);
  const m = w.shape[0]!;
  const bias = bName ? ctx.graph.initializers.get(bName) : undefined;
  if (bName && (!bias || bias.dtype !== "int32" || bias.data.length !== m)) throw unsupported(node, `B ('${bName}') must be a constant int32 bias of one value per output channel`);
  const [xType, yType] = [ctx.type(xName), ctx.type(node.outputs[0]!)];
  if (xType.dtype !== "int8" || yType.dtype !== "int8") throw unsupported(node, `X and Y must be int8 codes, got ${xType.dtype} and ${yType.dtype}`);
  const xShape = ctx.shape(xName, node);
  const attrs = attrsOf(node);
  const rank = xShape.length - 2;
  const kernel = convKernel({ node, attrs }, w.shape, rank)!;
  const pl = plane(forwardWindow(readWindowAttrs({ node, attrs }, rank, kernel), xShape.slice(2)));
  if (!pl) throw unsupported(node, `${rank} spatial axes are not supported (1 or 2)`);
  const [n, c] = [xShape[0]!, xShape[1]!];
  const group = attrs.int("group", 1);
  const p = convParams(xType, ctx.type(wName), yType, 0, m, `Conv '${node.name}'`);
  const relu = fusedRelu(ctx, node);
  const taps = pl.kh * pl.kw;
  const [cg, mg] = [c / group, m / group];
  const wd = w.data as Int8Array;
  convolve(ctx, {
    node, x: xName, pl, m, int4: w.dtype === "int4", bias: bias?.data as Int32Array | undefined, mul: p.requant, izp: p.aZero,
    clamp: { zOut: p.requant.zOut, lo: relu ? Math.max(p.requant.lo, relu.floor) : p.requant.lo, hi: p.requant.hi },
    weight: (o, ch, t) => {
      const gi = Math.floor(o / mg);
      return Math.floor(ch / cg) === gi ? wd[(o * cg + ch - gi * cg) * taps + t]! : 0;
    },
    drain: () => nhwcDrain(ctx, relu ? relu.node.outputs[0]! : node.outputs[0]!, n, pl, m),
  });
}

/** A tile's pixels requantized side by side in out and stored as one run of the output's nhwc buffer `name`. */
function nhwcDrain(ctx: LowerCtx, name: string, n: number, pl: Plane, m: number): Drain {
  const pitch = nhwcPitch(m);
  const yAddr = ctx.featureBuffer(name, n * pl.oh * pl.ow, m).addr;
  const lanes = ctx.geo.lanes;
  return (tile, acc) => {
    const tp = tile.rows * tile.cols;
    const rowBytes = acc.vecs * lanes;
    return {
      compute: [acc.requant({ pixel: 0, vector: 0, rows: tp, cols: acc.vecs, dst: 0, dstRowStride: rowBytes })],
      stores: [ctx.store({ sram: acc.out, dram: yAddr + ((tile.img * pl.oh + tile.oy0) * pl.ow + tile.ox0) * pitch, ySize: tp, xSize: pitch, yStride: pitch, srcStride: rowBytes })],
    };
  };
}

/** Lowers the convolution `spec` (see the header) as a layer of its node. */
export function convolve(ctx: LowerCtx, spec: ConvSpec): void {
  const { node, pl, m, int4 } = spec;
  const lanes = nhwcLanes(ctx.geo);
  if (lanes === undefined) throw unsupported(node, "feature maps need an array with blockIn = blockOut dividing 16");
  const n = ctx.shape(spec.x, node)[0]!;
  ctx.beginLayer(node);
  const src = sources(ctx, node, spec.x, lanes);
  const g = ctx.geo;
  const taps = pl.kh * pl.kw;
  // K row kb·lanes + j is tap ⌊kb / S⌋ of source kb mod S's lane j.
  const kBlocks = taps * src.count;
  const full = packWeights(g, { k: kBlocks * g.vecBytes, n: m, int4 }, (k, o) => {
    const kb = Math.floor(k / lanes);
    const ch = src.channel(kb % src.count, k % lanes);
    return ch < 0 ? 0 : spec.weight(o, ch, Math.floor(kb / src.count));
  });
  // GEMMs per column and tap, so that a tap's GEMMs can start as soon as its loads land.
  const blocks = storeBlocks(g, full, kBlocks, src.count, Math.min(MAX_K_BLOCKS, g.wgtBlocks));
  const parts = pieces(blocks.units, g.wgtBlocks);
  // The tables of every column stay in lut for the whole layer; each piece is loaded once per tile.
  const cols = blocks.colStart.length - 1;
  const weights = weightImage(ctx, blocks, int4, (img) => [...tableLoads(ctx, img, 0, cols), ...parts.flatMap((part) => weightLoads(ctx, img, part.offset, part.offset + part.blocks, 0))]);
  const perCol = columnLanes(g, int4) / lanes;
  const vecs = Math.max(Math.ceil(m / (perCol * lanes)) * perCol, nhwcPitch(m) / lanes);
  const conv: Conv = {
    spec, src, lanes, taps, vecs, perCol, units: blocks.units, parts, weights,
    pAddr: ctx.constant(packParams(g, vecs, spec.bias, spec.mul)),
    drain: spec.drain(),
  };

  // Output pixels per tile: im2col in `share` of inp, accumulators in `share` of acc past the constants, pixels in `share` of out.
  const fit = (share: number) => Math.min(Math.floor((g.inpVectors * share) / kBlocks), Math.floor(((g.accVectors - 3 * vecs) * share) / vecs), Math.floor((g.outBytes * share) / (vecs * lanes)), VEC_MAX);
  if (fit(1) < 1) throw unsupported(node, `one output pixel (${kBlocks} K blocks, ${m} channels) does not fit the scratchpads`);
  const tiling = (tile: number) => {
    const [tr, tc] = tile >= pl.ow ? [Math.min(pl.oh, Math.floor(tile / pl.ow)), pl.ow] : [1, tile];
    return tiles(n, pl, tr, tc);
  };
  // A layer of several tiles may take tiles of half the room, in alternate halves of inp, acc and
  // out: the next tile's im2col then loads while the array works on this one, and its store drains
  // while the next computes (sync.ts). Half tiles pay each load's setup twice as often, so the
  // cycle model decides, on the first few tiles of each plan.
  const plan = (banked: boolean) => {
    const room = fit(banked ? 0.5 : 1);
    const list = tiling(room);
    const steps = (k: number) => list.slice(0, k).flatMap((t, i) => tileSteps(ctx, conv, t, i === 0, banked ? (i % 2) * room : 0));
    return { list, steps };
  };
  const serial = plan(false);
  const banked = serial.list.length > 1 && fit(0.5) >= 1 ? plan(true) : undefined;
  const cost = (p: typeof serial) => {
    const k = Math.min(p.list.length, TRIAL_UNITS);
    return ctx.projectCycles(p.steps(k), k, p.list.length);
  };
  const chosen = banked && cost(banked) < cost(serial) ? banked : serial;
  for (const s of chosen.steps(chosen.list.length)) ctx.stages(s.stages, s.stores);
}

/**
 * One tile: bias into the accumulators, the GEMMs of every tap and column, then the drain's
 * requantization into out and its stores. The constants are loaded with the first tile, and so
 * are the weights when they all fit wgt; then each tap is a stage whose GEMMs start as soon as its
 * loads land. Otherwise the weight pieces are loaded in turn, one step each. The tile's im2col,
 * accumulators and out bytes start `at` pixels into their regions (its half, double-buffered).
 */
function tileSteps(ctx: LowerCtx, cv: Conv, tile: Tile, first: boolean, at: number): Step[] {
  const { spec, lanes, vecs } = cv;
  const tp = tile.rows * tile.cols;
  const inpBase = at * cv.src.count * cv.taps;
  const accBase = 3 * vecs + at * vecs;
  const params = [
    ctx.load({ mem: "acc", mode: "i32", dram: cv.pAddr, xSize: 3 * vecs, xStride: 4 * lanes }),
    ...tableLoads(ctx, cv.weights, 0, cv.weights.blocks.colStart.length - 1),
  ];
  const weights = (part: Piece) => weightLoads(ctx, cv.weights, part.offset, part.offset + part.blocks, 0);
  const gemm = (u: Unit, part: Piece) => ctx.gemm({
    mode: spec.int4 ? "i4" : "i8", acc: accBase + u.col * cv.perCol, inp: inpBase + u.kb0 * tp, wgt: u.at - part.offset, rows: tp,
    kBlocks: u.kBlocks, mask: u.mask, inpStride: 1, inpKStride: tp, accStride: vecs, izp: spec.izp,
  });
  // Each accumulator row starts as the bias (broadcast over rows: srcrow = 0).
  const init = ctx.vec({ fn: "add", dst: accBase, rows: tp, cols: vecs, dstRowStride: vecs, dstColStride: 1, srcColStride: 1, useImm: true });
  const { zOut, lo, hi } = spec.clamp;
  const drained = cv.drain(tile, {
    vecs,
    out: at * vecs * lanes,
    requant: (f) => ctx.vec({
      fn: "requant", src: accBase + f.pixel * vecs + f.vector, srcRowStride: vecs, srcColStride: 1, src2: vecs + 2 * f.vector, src2ColStride: 2,
      rows: f.rows, cols: f.cols, imm: zOut, clamp: true, lo, hi, dstMem: "out", dtype: "i8", dst: at * vecs * lanes + f.dst, dstRowStride: f.dstRowStride, dstColStride: lanes,
    }),
  });
  const tapLoads = (t: number) => im2col(ctx, spec.node, cv.src, spec.pl, tile, t, spec.izp, inpBase);

  if (cv.parts.length > 1) {
    return cv.parts.map((part, i) => {
      const loads = [...(first && i === 0 ? params : []), ...(i === 0 ? Array.from({ length: cv.taps }, (_, t) => tapLoads(t)).flat() : []), ...weights(part)];
      const compute = [...(i === 0 ? [init] : []), ...part.units.map((u) => gemm(u, part))];
      const last = i === cv.parts.length - 1;
      return { stages: [{ loads, compute: last ? [...compute, ...drained.compute] : compute }], stores: last ? drained.stores : [] };
    });
  }
  const part = cv.parts[0]!;
  const stages: Stage[] = [];
  let loads: Insn[] = first ? [...params, ...weights(part)] : [];
  let compute: Insn[] = [init];
  for (let t = 0; t < cv.taps; t++) {
    loads.push(...tapLoads(t));
    compute.push(...part.units.filter((u) => Math.floor(u.kb0 / cv.src.count) === t).map((u) => gemm(u, part)));
    if (t === cv.taps - 1) compute.push(...drained.compute);
    // A tap whose weights are all zero joins the next stage.
    if (compute.length > 0) {
      stages.push({ loads, compute });
      [loads, compute] = [[], []];
    }
  }
  return [{ stages, stores: drained.stores }];
}

/** The loads of kernel tap t's K blocks of a tile: block t·S + s at inp base + (t·S + s)·P (P = the tile's pixels, row-major). */
function im2col(ctx: LowerCtx, node: Node, src: Sources, pl: Plane, tile: Tile, t: number, zx: number, base: number): Load[] {
  const [kh, kw] = [Math.floor(t / pl.kw), t % pl.kw];
  const [r0, r1] = inside(tile.oy0, tile.rows, pl.sh, kh * pl.dh - pl.pt, pl.h);
  const [c0, c1] = inside(tile.ox0, tile.cols, pl.sw, kw * pl.dw - pl.pl, pl.w);
  const pads = [r0, tile.rows - r1, c0, tile.cols - c1];
  if (pads.some((v) => v > PAD_MAX)) throw unsupported(node, `a tap reaches more than ${PAD_MAX} rows or columns into the padding`);
  const empty = r0 === r1 || c0 === c1;
  const iy = (tile.oy0 + r0) * pl.sh + kh * pl.dh - pl.pt;
  const ix = (tile.ox0 + c0) * pl.sw + kw * pl.dw - pl.pl;
  const tp = tile.rows * tile.cols;
  return Array.from({ length: src.count }, (_, s) => ctx.load({
    mem: "inp", sram: base + (t * src.count + s) * tp,
    dram: empty ? src.addr : src.addr + tile.img * src.image + s * src.step + (iy * pl.w + ix) * src.pixel,
    ySize: r1 - r0, xSize: c1 - c0, yStride: pl.sh * pl.w * src.pixel, xStride: pl.sw * src.pixel,
    padTop: pads[0], padBottom: pads[1], padLeft: pads[2], padRight: pads[3], padValue: zx,
  }));
}
