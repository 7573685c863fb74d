/**
 * Quantized ConvTranspose on the NNA, bit-exact with ir/ops/ConvTranspose.ts runInt: one or two
 * spatial axes, any kernel, strides, pads, output_padding, dilations, auto_pad and output_shape,
 * any group count, int8 or int4 weights, with or without bias, a following Relu fused.
 *
 * As a *sub-pixel convolution* of the input (Conv.ts `convolve`), not a convolution over an input
 * dilated by the stride: along an axis of stride s, output o = s·j + r (phase r < s) receives
 * x[j + e]·w[k] for every kernel tap k with r + p − k·d = s·e (p the begin pad of the forward
 * window ConvTranspose is the adjoint of). So each phase is a stride-1 convolution of x over the
 * same output grid j with the taps of its own residue, kernel flipped, and all phases together are
 * one convolution with s_h·s_w·pitch output channels: phase (r_h, r_w) in the channels from
 * (r_h·s_w + r_w)·pitch on, its weight W[c][o][k_h][k_w] at the offsets (e_h, e_w) its taps
 * reach, 0 at the other offsets of the union (all-zero blocks, which the GEMM masks skip: each
 * phase costs only its own taps' array cycles). Bias and per-channel multipliers repeat per phase.
 * The drain writes the phases of a tile's pixels into out interleaved as the output's nhwc rows lie
 * (one `vec.requant` per tile row and phase, `dstrow = s_w·pitch`), and one STORE writes those rows.
 * The integer sums are those of runInt (col2im adds the same products onto the bias), so the
 * requantized codes are equal. No zero is multiplied, nothing is scattered through DRAM.
 */
import type { Node } from "../../../ir/graph.js";
import { convKernel, readTransposeAttrs, transposeWindow, type Window } from "../../../ir/kernels/conv-geometry.js";
import { convParams } from "../../../ir/kernels/requant.js";
import { attrsOf } from "../../../ir/op.js";
import type { Multipliers } from "../../../ir/quant-params.js";
import type { Vec } from "../isa.js";
import { nhwcPitch } from "../program.js";
import type { LowerCtx, Plane } from "./context.js";
import { convolve, type Drain } from "./Conv.js";
import { unsupported } from "./elementwise.js";
import { fusedRelu } from "./Relu.js";

/** One spatial axis of the sub-pixel convolution. */
interface Axis {
  /** The stride: phases along the axis. */
  readonly s: number;
  /** Input and output sizes of the ConvTranspose. */
  readonly size: number;
  readonly out: number;
  /** Output positions per phase: the convolution's output size. */
  readonly grid: number;
  /** The input offsets e0, e0 + step, … of the convolution's taps. */
  readonly e0: number;
  readonly step: number;
  readonly taps: number;
  /** kernel[r·taps + t]: the ConvTranspose kernel tap phase r reads at convolution tap t, or −1. */
  readonly kernel: Int32Array;
}

const mod = (a: number, b: number) => ((a % b) + b) % b;
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Axis i of the window (its input is the ConvTranspose's output, its grid the ConvTranspose's input). */
function axis(win: Window, i: number): Axis {
  const [size, out, k, s, d, p] = [win.outShape[i]!, win.inShape[i]!, win.kernel[i]!, win.strides[i]!, win.dilations[i]!, win.padBegin[i]!];
  // Kernel tap kk serves phase r at input offset e when r + p − kk·d = s·e.
  const reads: { r: number; kk: number; e: number }[] = [];
  for (let r = 0; r < s; r++) for (let kk = 0; kk < k; kk++) if (mod(r + p - kk * d, s) === 0) reads.push({ r, kk, e: (r + p - kk * d) / s });
  const e0 = Math.min(...reads.map((t) => t.e));
  const step = reads.reduce((a, t) => gcd(a, t.e - e0), 0) || 1;
  const taps = (Math.max(...reads.map((t) => t.e)) - e0) / step + 1;
  const kernel = new Int32Array(s * taps).fill(-1);
  for (const { r, kk, e } of reads) kernel[r * taps + (e - e0) / step] = kk;
  return { s, size, out, grid: Math.ceil(out / s), e0, step, taps, kernel };
}

/** A 1-D map is one row: its height axis has one phase, one tap and one position. */
const ROW: Axis = { s: 1, size: 1, out: 1, grid: 1, e0: 0, step: 1, taps: 1, kernel: Int32Array.of(0) };

export function lowerConvTranspose(node: Node, ctx: LowerCtx): void {
  const [xName, wName, bName] = node.inputs as [string, string, string | undefined];
  const w = ctx.graph.initializers.get(wName);
  if (!w || (w.dtype !== "int8" && w.dtype !== "int4")) throw unsupported(node, `W ('${wName}') must be constant int8 or int4 codes`);
  const xShape = ctx.shape(xName, node);
  const [n, c] = [xShape[0]!, xShape[1]!];
  const attrs = attrsOf(node);
  const group = attrs.int("group", 1);
  const [cg, mg] = [c / group, w.shape[1]!];
  const m = mg * group;
  const bias = bName ? ctx.graph.initializers.get(bName) : undefined;
  if (bName && (!bias || bias.dtype !== "int32" || bias.data.length !== m)) throw unsupported(node, `B ('${bName}') must be a constant int32 bias of one value per output channel`);
  const [xType, yType] = [ctx.type(xName), ctx.type(node.outputs[0]!)];
  if (xType.dtype !== "int8" || yType.dtype !== "int8") throw unsupported(node, `X and Y must be int8 codes, got ${xType.dtype} and ${yType.dtype}`);
  const rank = xShape.length - 2;
  if (rank < 1 || rank > 2) throw unsupported(node, `${rank} spatial axes are not supported (1 or 2)`);
  const kernel = convKernel({ node, attrs }, w.shape, rank)!;
  const win = transposeWindow(readTransposeAttrs({ node, attrs }, rank, kernel), xShape.slice(2));
  const [ya, xa] = rank === 1 ? [ROW, axis(win, 0)] : [axis(win, 0), axis(win, 1)];
  const p = convParams(xType, ctx.type(wName), yType, 1, mg, `ConvTranspose '${node.name}'`);
  const relu = fusedRelu(ctx, node);

  // Output channel ph·pitch + o of the convolution is channel o of phase ph = r_h·s_w + r_w.
  const pitch = nhwcPitch(m);
  const phases = ya.s * xa.s;
  const channels = phases * pitch;
  const perPhase = <T extends Int32Array | Int8Array>(v: T, at: (o: number) => number): T => {
    for (let ph = 0; ph < phases; ph++) for (let o = 0; o < m; o++) v[ph * pitch + o] = at(o);
    return v;
  };
  const mul: Multipliers = p.requant.m0.length === 1 ? p.requant : {
    m0: perPhase(new Int32Array(channels), (o) => p.requant.m0[o % mg]!),
    shift: perPhase(new Int8Array(channels), (o) => p.requant.shift[o % mg]!),
  };
  const bd = bias?.data as Int32Array | undefined;
  const [kh, kw] = rank === 1 ? [1, kernel[0]!] : [kernel[0]!, kernel[1]!];
  const wd = w.data as Int8Array;
  const pl: Plane = {
    h: ya.size, w: xa.size, oh: ya.grid, ow: xa.grid, kh: ya.taps, kw: xa.taps, sh: 1, sw: 1,
    dh: ya.step, dw: xa.step, pt: -ya.e0, pl: -xa.e0,
  };
  convolve(ctx, {
    node, x: xName, pl, m: channels, int4: w.dtype === "int4", izp: p.aZero, mul,
    bias: bd && perPhase(new Int32Array(channels), (o) => bd[o]!),
    clamp: { zOut: p.requant.zOut, lo: relu ? Math.max(p.requant.lo, relu.floor) : p.requant.lo, hi: p.requant.hi },
    weight: (oc, ch, t) => {
      const [ph, o] = [Math.floor(oc / pitch), oc % pitch];
      const gi = Math.floor(o / mg);
      if (o >= m || Math.floor(ch / cg) !== gi) return 0;
      const ky = ya.kernel[Math.floor(ph / xa.s) * ya.taps + Math.floor(t / xa.taps)]!;
      const kx = xa.kernel[(ph % xa.s) * xa.taps + (t % xa.taps)]!;
      return ky < 0 || kx < 0 ? 0 : wd[((ch * mg + o - gi * mg) * kh + ky) * kw + kx]!;
    },
    drain: () => interleave(ctx, relu ? relu.node.outputs[0]! : node.outputs[0]!, n, m, ya, xa),
  });
}

/**
 * The drain of the sub-pixel convolution: tile row j_h, phase (r_h, r_w) and tile column j_w is
 * output pixel (s_h·j_h + r_h, s_w·j_w + r_w). out holds the tile's output rows as they lie in the
 * nhwc buffer (pitch bytes a pixel), written by one `vec.requant` per tile row and phase over the
 * phase's pixels that fall inside the output; one STORE writes the rows.
 */
function interleave(ctx: LowerCtx, name: string, n: number, m: number, ya: Axis, xa: Axis): Drain {
  const pitch = nhwcPitch(m);
  const yAddr = ctx.featureBuffer(name, n * ya.out * xa.out, m).addr;
  const pv = pitch / ctx.geo.lanes;
  return (tile, acc) => {
    const [y0, y1] = [tile.oy0 * ya.s, Math.min(ya.out, (tile.oy0 + tile.rows) * ya.s)];
    const [x0, x1] = [tile.ox0 * xa.s, Math.min(xa.out, (tile.ox0 + tile.cols) * xa.s)];
    const width = x1 - x0;
    const compute: Vec[] = [];
    // With one phase the tile's pixels lie in out as in acc: one instruction.
    if (ya.s * xa.s === 1) compute.push(acc.requant({ pixel: 0, vector: 0, rows: tile.rows * tile.cols, cols: pv, dst: 0, dstRowStride: pitch }));
    else {
      for (let jr = 0; jr < tile.rows; jr++) {
        for (let ry = 0; ry < ya.s; ry++) {
          const oy = (tile.oy0 + jr) * ya.s + ry;
          for (let rx = 0; rx < xa.s && oy < ya.out; rx++) {
            const count = Math.min(tile.cols, Math.ceil((xa.out - rx) / xa.s) - tile.ox0);
            if (count <= 0) continue;
            const vector = (ry * xa.s + rx) * pv;
            compute.push(acc.requant({ pixel: jr * tile.cols, vector, rows: count, cols: pv, dst: ((oy - y0) * width + rx) * pitch, dstRowStride: xa.s * pitch }));
          }
        }
      }
    }
    const rows = y1 - y0;
    const dram = yAddr + ((tile.img * ya.out + y0) * xa.out + x0) * pitch;
    // Whole rows (or one) are one run of pixels; parts of several rows are rows of the buffer.
    const store = rows === 1 || width === xa.out
      ? ctx.store({ sram: acc.out, dram, ySize: rows * width, xSize: pitch, yStride: pitch, srcStride: pitch })
      : ctx.store({ sram: acc.out, dram, ySize: rows, xSize: width * pitch, yStride: xa.out * pitch, srcStride: width * pitch });
    return { compute, stores: [store] };
  };
}
