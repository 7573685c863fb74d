/**
 * AveragePool on the NNA, and the window reduction it shares with MaxPool and GlobalAveragePool
 * (docs/nna-isa.md "MaxPool", "AveragePool"), on nhwc feature maps of one or two spatial axes.
 *
 * For a tile of output pixels the input region under its windows is loaded into acc at once
 * (mode i8, one vector per pixel and 16-channel block), the positions outside the input padded;
 * the vector unit then reduces each window with 2-D strides into one accumulator vector per
 * output pixel and channel block: one instruction per kernel tap over the tile's pixels, or one
 * per pixel over its window (each step seeing the last), whichever takes fewer instructions.
 * Regions too large for acc are split across steps by kernel rows, and a kernel row too large by
 * kernel columns, the accumulators carrying over (each tap is still read exactly once).
 *
 * Integer semantics (ir/kernels/pool.ts): MaxPool pads with −128, the lowest code, so padding
 * never wins (a window wholly in the padding gives −128, as the reference's empty window).
 * AveragePool pads with z_x and starts the sums at −T·z_x (T kernel taps), which makes each
 * accumulator Σ (x − z_x) over the taps inside the input, exactly `avgPoolInt`'s; it is requantized
 * by s_x/(count·s_y), the count being the window's divisor with or without pads, so border pixels
 * take other multipliers: one vec.requant per rectangle of output pixels with one divisor.
 */
import { VEC_MAX } from "../isa.js";
import { HwacError } from "../../../ir/errors.js";
import type { Node } from "../../../ir/graph.js";
import { forwardWindow, readPoolAttrs, type Window } from "../../../ir/kernels/conv-geometry.js";
import { windowCounts } from "../../../ir/kernels/pool.js";
import { avgPoolParams, type PoolParams } from "../../../ir/kernels/requant.js";
import { attrsOf } from "../../../ir/op.js";
import { perTensor } from "../../../ir/quant-params.js";
import type { Insn, Vec } from "../isa.js";
import { featureMap, nhwcLanes, plane, tiles, TRIAL_UNITS, type LowerCtx, type Plane, type Step, type Tile } from "./context.js";
import { nhwcCopy } from "./Reshape.js";

/** LOAD's pad fields are 8 bits wide. */
const PAD_MAX = 255;
/** MaxPool's padding: the lowest int8 code. */
const MAX_PAD = -128;

function unsupported(node: Node, message: string): HwacError {
  return new HwacError("HW5042", `${node.op} on the NNA: ${message}`, { node: node.name, op: node.op });
}

/** The reduction a pool performs: the max of codes, or the average (with or without pads in the divisor). */
export type PoolKind = { readonly op: "max" } | { readonly op: "avg"; readonly includePad: boolean };

/** A pool's window over the spatial axes of its input `X`, from kernel_shape, strides, pads, dilations, ceil_mode. */
export function poolWindow(ctx: LowerCtx, node: Node): Window {
  const shape = ctx.shape(node.inputs[0]!, node);
  return forwardWindow(readPoolAttrs({ node, attrs: attrsOf(node) }, shape.length), shape.slice(2));
}

/** How the output tile, region and accumulators of one step are sized (see `tiling`). */
interface Tiling {
  readonly rows: number;
  readonly cols: number;
  /** Kernel rows and columns per step. */
  readonly kRows: number;
  readonly kCols: number;
}

/** The input region (rows, cols) under `rows` × `cols` output pixels' windows of `kRows` × `kCols` taps. */
function region(pl: Plane, rows: number, cols: number, kRows: number, kCols: number): [number, number] {
  return [(rows - 1) * pl.sh + (kRows - 1) * pl.dh + 1, (cols - 1) * pl.sw + (kCols - 1) * pl.dw + 1];
}

/**
 * The largest step: whole output rows if one fits (region and accumulators in `room` acc vectors,
 * the results in out), else part of one row, else one pixel with its window split by kernel rows,
 * else by kernel columns of one row.
 */
function tiling(pl: Plane, blocks: number, pitch: number, room: number, outBytes: number): Tiling | undefined {
  const fits = (rows: number, cols: number, kRows: number, kCols: number) => {
    const [rh, rw] = region(pl, rows, cols, kRows, kCols);
    return rows * cols * blocks + rh * rw * blocks <= room && rows * cols * pitch <= outBytes && rows * cols <= VEC_MAX;
  };
  const largest = (limit: number, ok: (k: number) => boolean) => {
    let k = 0;
    while (k < limit && ok(k + 1)) k++;
    return k;
  };
  const rows = largest(pl.oh, (r) => fits(r, pl.ow, pl.kh, pl.kw));
  if (rows > 0) return { rows, cols: pl.ow, kRows: pl.kh, kCols: pl.kw };
  const cols = largest(pl.ow, (c) => fits(1, c, pl.kh, pl.kw));
  if (cols > 0) return { rows: 1, cols, kRows: pl.kh, kCols: pl.kw };
  const kRows = largest(pl.kh, (k) => fits(1, 1, k, pl.kw));
  if (kRows > 0) return { rows: 1, cols: 1, kRows, kCols: pl.kw };
  const kCols = largest(pl.kw, (k) => fits(1, 1, 1, k));
  return kCols > 0 ? { rows: 1, cols: 1, kRows: 1, kCols } : undefined;
}

/** [begin, end) runs of i < count over which `key(i, j)` does not change for any j < width. */
function runs(count: number, width: number, key: (i: number, j: number) => number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < count; i++) {
    let same = i > 0;
    for (let j = 0; same && j < width; j++) same = key(i - 1, j) === key(i, j);
    if (same) out[out.length - 1]![1] = i + 1;
    else out.push([i, i + 1]);
  }
  return out;
}

/** What every step of one pool needs: its maps, constants and tiling. */
interface Pool {
  readonly node: Node;
  readonly op: "max" | "add";
  readonly pl: Plane;
  readonly lanes: number;
  /** 16-channel blocks per pixel, and bytes per pixel. */
  readonly blocks: number;
  readonly pitch: number;
  readonly xAddr: number;
  readonly yAddr: number;
  readonly pAddr: number;
  /** The acc vectors of the constants; the accumulators follow them. */
  readonly accD: number;
  readonly padValue: number;
  readonly avg: PoolParams | undefined;
}

/** The constants, little-endian: the start vector, then per divisor the multiplier pair (all lanes equal). */
function poolConstants(lanes: number, start: number, avg: PoolParams | undefined): Uint8Array {
  const pairs = avg ? avg.counts.length : 0;
  const bytes = new Uint8Array((1 + 2 * pairs) * lanes * 4);
  const view = new DataView(bytes.buffer);
  const fill = (vector: number, v: number) => {
    for (let j = 0; j < lanes; j++) view.setInt32((vector * lanes + j) * 4, v, true);
  };
  fill(0, start);
  for (let k = 0; k < pairs; k++) {
    fill(1 + 2 * k, avg!.requant.m0[k]!);
    fill(2 + 2 * k, avg!.requant.shift[k]!);
  }
  return bytes;
}

/** Lowers a pool reading feature map X (input 0) over `win` into output 0. */
export function lowerPool(node: Node, ctx: LowerCtx, kind: PoolKind, win: Window): void {
  const [xName, yName] = [node.inputs[0]!, node.outputs[0]!];
  const lanes = nhwcLanes(ctx.geo);
  if (lanes === undefined) throw unsupported(node, "feature maps need an array with blockIn = blockOut dividing 16");
  if (node.outputs.length > 1 && node.outputs[1] !== "") throw unsupported(node, "the Indices output is not supported");
  const [xType, yType] = [ctx.type(xName), ctx.type(yName)];
  if (xType.dtype !== "int8" || yType.dtype !== "int8") throw unsupported(node, `X and Y must be int8 codes, got ${xType.dtype} and ${yType.dtype}`);
  const pl = plane(win);
  if (!pl) throw unsupported(node, `${win.inShape.length} spatial axes are not supported (1 or 2)`);
  const xShape = ctx.shape(xName, node);
  const [qx, qy] = [perTensor(xType, `${node.op}'s input`), perTensor(yType, `${node.op}'s output`)];
  const avg = kind.op === "avg" ? avgPoolParams(xType, yType, windowCounts(win, kind.includePad), `${node.op} '${node.name}'`) : undefined;
  if (!avg && (qx.scale !== qy.scale || qx.zp !== qy.zp)) throw unsupported(node, "X and Y must share one quantization");
  // Averages start at −T·z_x (T taps, each padded or read as x): the sums become Σ (x − z_x) over the taps inside.
  const start = avg ? -pl.kh * pl.kw * qx.zp : MAX_PAD;
  const pAddr = ctx.constant(poolConstants(lanes, start, avg));

  ctx.beginLayer(node);
  const given = ctx.buffer(xName, node);
  const x = given.layout === "nhwc" ? given : nhwcCopy(ctx, node, xName);
  if (!featureMap(x, xShape)) throw unsupported(node, `'${xName}' is not held as a feature map`);
  const [n, c] = [xShape[0]!, xShape[1]!];
  const blocks = x.cols / lanes;
  const accD = 1 + 2 * (avg ? avg.counts.length : 0);
  const room = ctx.geo.accVectors - accD;
  const whole = tiling(pl, blocks, x.cols, room, ctx.geo.outBytes);
  if (!whole) throw unsupported(node, `one pixel of ${blocks} channel blocks and its accumulators do not fit the acc scratchpad`);
  const pool: Pool = {
    node, op: avg ? "add" : "max", pl, lanes, blocks, pitch: x.cols, xAddr: x.addr, pAddr, accD, avg,
    yAddr: ctx.featureBuffer(yName, n * pl.oh * pl.ow, c).addr, padValue: avg ? qx.zp : MAX_PAD,
  };
  // Several tiles may take half the room each, in alternate halves of acc and out, so that a tile's
  // region loads while the previous tile reduces (sync.ts); the cycle model decides whether the
  // extra load setups pay, on the first tiles of each plan.
  const plan = (t: Tiling, banked: boolean) => {
    const list = tiles(n, pl, t.rows, t.cols);
    const steps = (count: number) => list.slice(0, count).flatMap((tile, i) => {
      const bank = banked ? i % 2 : 0;
      const at = { acc: bank * Math.floor(room / 2), out: bank * Math.floor(ctx.geo.outBytes / 2) };
      const out: Step[] = [];
      for (let kh0 = 0; kh0 < pl.kh; kh0 += t.kRows) {
        for (let kw0 = 0; kw0 < pl.kw; kw0 += t.kCols) out.push(poolStep(ctx, pool, t, tile, kh0, kw0, i === 0, at));
      }
      return out;
    });
    return { list, steps };
  };
  const serial = plan(whole, false);
  const half = serial.list.length > 1 ? tiling(pl, blocks, x.cols, Math.floor(room / 2), Math.floor(ctx.geo.outBytes / 2)) : undefined;
  const banked = half ? plan(half, true) : undefined;
  const cost = (p: typeof serial) => {
    const k = Math.min(p.list.length, TRIAL_UNITS);
    return ctx.projectCycles(p.steps(k), k, p.list.length);
  };
  const chosen = banked && cost(banked) < cost(serial) ? banked : serial;
  for (const st of chosen.steps(chosen.list.length)) ctx.stages(st.stages, st.stores);
}

/**
 * One step of a tile: its input region for the taps from kernel row kh0 and column kw0 on (one
 * load, padded), the reduction of those taps of every window, and after the last taps the results
 * to out and DRAM. Its accumulators (acc0) and region start `at.acc` vectors past the constants, its
 * results `at.out` bytes into out (a half, double-buffered).
 */
function poolStep(ctx: LowerCtx, pool: Pool, t: Tiling, tile: Tile, kh0: number, kw0: number, first: boolean, at: { acc: number; out: number }): Step {
  const { pl, blocks, pitch } = pool;
  const acc0 = pool.accD + at.acc;
  const { rows, cols } = tile;
  const tp = rows * cols;
  const kRows = Math.min(t.kRows, pl.kh - kh0);
  const kCols = Math.min(t.kCols, pl.kw - kw0);
  const accR = acc0 + tp * blocks;
  const [rh, rw] = region(pl, rows, cols, kRows, kCols);
  const iy0 = tile.oy0 * pl.sh - pl.pt + kh0 * pl.dh;
  const ix0 = tile.ox0 * pl.sw - pl.pl + kw0 * pl.dw;
  const top = Math.min(rh, Math.max(0, -iy0));
  const bottom = rh - Math.max(top, Math.min(rh, pl.h - iy0));
  const left = Math.min(rw, Math.max(0, -ix0));
  const right = rw - Math.max(left, Math.min(rw, pl.w - ix0));
  if ([top, bottom, left * blocks, right * blocks].some((v) => v > PAD_MAX)) throw unsupported(pool.node, `a window reaches more than ${PAD_MAX} vectors into the padding`);
  const [ys, xs] = [rh - top - bottom, rw - left - right];
  const loads: Insn[] = first ? [ctx.load({ mem: "acc", mode: "i32", dram: pool.pAddr, xSize: pool.accD, xStride: 4 * pool.lanes })] : [];
  loads.push(ctx.load({
    mem: "acc", mode: "i8", sram: accR,
    dram: ys > 0 && xs > 0 ? pool.xAddr + ((tile.img * pl.h + iy0 + top) * pl.w + ix0 + left) * pitch : pool.xAddr,
    ySize: ys, xSize: xs * blocks, yStride: pl.w * pitch, xStride: pool.lanes,
    padTop: top, padBottom: bottom, padLeft: left * blocks, padRight: right * blocks, padValue: pool.padValue,
  }));

  // The accumulators (pixel-major, a vector per block) start from the constant vector.
  const compute: Insn[] = kh0 > 0 || kw0 > 0 ? [] : [ctx.vec({ fn: "add", dst: acc0, rows: tp, cols: blocks, dstRowStride: blocks, dstColStride: 1, useImm: true })];
  const rowStride = rw * blocks;
  const reduce = (dst: number, src: number, r: number, cc: number, strides: Partial<Vec>): Vec =>
    ctx.vec({ fn: pool.op, dst, src2: dst, src, rows: r, cols: cc, ...strides });
  for (let s = 0; s < blocks; s++) {
    if (kRows * kCols <= tp) {
      // Per tap: one instruction over the tile's pixels.
      for (let kh = 0; kh < kRows; kh++) {
        for (let kw = 0; kw < kCols; kw++) {
          compute.push(reduce(acc0 + s, accR + (kh * pl.dh * rw + kw * pl.dw) * blocks + s, rows, cols, {
            srcRowStride: pl.sh * rowStride, srcColStride: pl.sw * blocks,
            dstRowStride: cols * blocks, dstColStride: blocks, src2RowStride: cols * blocks, src2ColStride: blocks,
          }));
        }
      }
    } else {
      // Per pixel: one instruction over its window, into one accumulator (strides 0).
      for (let r = 0; r < rows; r++) {
        for (let cc = 0; cc < cols; cc++) {
          compute.push(reduce(acc0 + (r * cols + cc) * blocks + s, accR + (r * pl.sh * rw + cc * pl.sw) * blocks + s, kRows, kCols, {
            srcRowStride: pl.dh * rowStride, srcColStride: pl.dw * blocks,
          }));
        }
      }
    }
  }
  if (kh0 + kRows < pl.kh || kw0 + kCols < pl.kw) return { stages: [{ loads, compute }], stores: [] };
  compute.push(...finish(ctx, pool, tile, acc0, at.out));
  const store = ctx.store({ sram: at.out, dram: pool.yAddr + ((tile.img * pl.oh + tile.oy0) * pl.ow + tile.ox0) * pitch, ySize: tp, xSize: pitch, yStride: pitch, srcStride: pitch });
  return { stages: [{ loads, compute }], stores: [store] };
}

/**
 * The tile's accumulators to out as int8 pixels: a copy for MaxPool; for the averages one requant
 * per channel block and rectangle of output pixels that share a divisor (runs of equal rows × runs
 * of equal columns of the per-position multiplier index).
 */
function finish(ctx: LowerCtx, pool: Pool, tile: Tile, acc0: number, outAt: number): Vec[] {
  const { blocks, pitch, lanes } = pool;
  const { rows, cols } = tile;
  if (!pool.avg) {
    return [ctx.vec({
      fn: "add", useImm: true, src: acc0, rows: rows * cols, cols: blocks, srcRowStride: blocks, srcColStride: 1,
      dstMem: "out", dtype: "i8", dst: outAt, dstRowStride: pitch, dstColStride: lanes,
    })];
  }
  const { index, requant } = pool.avg;
  const at = (r: number, c: number) => index[(tile.oy0 + r) * pool.pl.ow + tile.ox0 + c]!;
  const out: Vec[] = [];
  for (const [r0, r1] of runs(rows, cols, at)) {
    for (const [c0, c1] of runs(cols, rows, (c, r) => at(r, c))) {
      const m = r0 * cols + c0;
      for (let s = 0; s < blocks; s++) {
        out.push(ctx.vec({
          fn: "requant", src: acc0 + m * blocks + s, srcRowStride: cols * blocks, srcColStride: blocks, src2: 1 + 2 * at(r0, c0),
          rows: r1 - r0, cols: c1 - c0, imm: requant.zOut, clamp: true, lo: requant.lo, hi: requant.hi,
          dstMem: "out", dtype: "i8", dst: outAt + m * pitch + s * lanes, dstRowStride: cols * pitch, dstColStride: pitch,
        }));
      }
    }
  }
  return out;
}

export function lowerAveragePool(node: Node, ctx: LowerCtx): void {
  const includePad = attrsOf(node).int("count_include_pad", 0) !== 0;
  lowerPool(node, ctx, { op: "avg", includePad }, poolWindow(ctx, node));
}
