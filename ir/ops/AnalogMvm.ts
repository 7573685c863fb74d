/**
 * hwac::AnalogMvm: a group-1 Conv, or a matmul by a constant [N, K] weight, as an analog
 * in-memory-computing chip computes it (SPEC.md §4, docs/numerics-aimc.md). The AIMC target puts
 * one of these in place of every quantized layer that goes onto crossbars, so the integer
 * reference of its graph models the chip's converters.
 *
 * Conv mode (kernel_shape present): X [batch, C, spatial…], W [M, C, k…] → Y [batch, M, out…].
 * Matmul mode: X [..., K], W [N, K] → Y [..., N].
 *
 * Integer semantics: the K inputs of every output position are split into row blocks; per block,
 * a DAC turns x − z_x into codes of ±qD over the block's input range, the crossbar sums W·d exactly,
 * an ADC turns the sum into a code of ±qA, and a fixed-point multiplier scales that code into int32
 * units of s_x·s_w[n]. The blocks' partial sums add to the bias in ascending block order, and the
 * total is requantized as the replaced Conv/Gemm would requantize its accumulator.
 * Float semantics: the ideal layer (float Conv or X·Wᵀ, plus B).
 */
import { intRange } from "../dtype.js";
import type { Dim, TensorType } from "../graph.js";
import { AnalogBlocks, AnalogMatmul, analogAttrs, checkWeights, positionChunk } from "../kernels/analog.js";
import { convKernel, forwardShape, forwardWindow, readWindowAttrs, spatialRank, windowPositions, type Window } from "../kernels/conv-geometry.js";
import { finishResult, floatData, floatResult, sgemm, view, type IntArray } from "../kernels/gemm.js";
import { fillChannels, im2col } from "../kernels/im2col.js";
import { QUANT_DTYPES } from "../kernels/quantize.js";
import { convParams, requantizeChannels } from "../kernels/requant.js";
import { need, needType, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { perTensor } from "../quant-params.js";
import { numel, tensor, type Tensor } from "../tensor.js";
import { Conv } from "./Conv.js";

type Ctx = Pick<EvalCtx, "node" | "attrs">;

function isConv(ctx: Ctx): boolean {
  return ctx.attrs.has("kernel_shape");
}

function product(dims: readonly Dim[]): Dim {
  return dims.every((d) => typeof d === "number") ? numel(dims as number[]) : "?";
}

/** Checks X and W against the node's mode; returns K and Y's shape ("?" where unknown). */
function shapes(ctx: Ctx, x: readonly Dim[], w: readonly Dim[]): { k: Dim; out: Dim[] } {
  if (isConv(ctx)) {
    const group = ctx.attrs.int("group", 1);
    if (group !== 1) throw opError(ctx, `only group-1 convolutions map onto crossbars, got group ${group}`);
    const autoPad = ctx.attrs.string("auto_pad", "NOTSET") || "NOTSET";
    if (autoPad !== "NOTSET") throw opError(ctx, `pads must be explicit, got auto_pad ${autoPad}`);
    const rank = spatialRank(ctx, x.length);
    const kernel = convKernel(ctx, w, rank)!;
    if (typeof x[1] === "number" && typeof w[1] === "number" && x[1] !== w[1]) {
      throw opError(ctx, `X has ${x[1]} channels but W is [${w.join(", ")}]: W must be [M, ${x[1]}, …]`);
    }
    return { k: product(w.slice(1)), out: forwardShape(readWindowAttrs(ctx, rank, kernel), x, w[0]!) };
  }
  if (w.length !== 2) throw opError(ctx, `in matmul mode W must be [N, K], got rank ${w.length}`);
  if (x.length === 0) throw opError(ctx, "in matmul mode X must be [..., K], got a scalar");
  const k = x[x.length - 1]!;
  if (typeof k === "number" && typeof w[1] === "number" && k !== w[1]) {
    throw opError(ctx, `X has K = ${k} inputs but W is [${w.join(", ")}]: W must be [N, ${k}]`);
  }
  return { k: w[1]!, out: [...x.slice(0, -1), w[0]!] };
}

export const AnalogMvm: OpDef = {
  op: "AnalogMvm",
  domain: "hwac",

  inferTypes(ctx: TypeCtx): TensorType[] {
    const x = needType(ctx, 0);
    const w = needType(ctx, 1);
    if (!x.shape || !w.shape) {
      analogAttrs(ctx, undefined);
      return [{ dtype: x.dtype, shape: null }];
    }
    const { k, out } = shapes(ctx, x.shape, w.shape);
    analogAttrs(ctx, k);
    const b = ctx.inputs[2]?.shape;
    if (b && (b.length !== 1 || (typeof b[0] === "number" && typeof w.shape[0] === "number" && b[0] !== w.shape[0]))) {
      throw opError(ctx, `B must have shape [${w.shape[0]}], got [${b.join(", ")}]`);
    }
    // In a quantized graph the declared (quantized) output type is used; the rule only sets the shape.
    return [{ dtype: x.dtype, shape: out }];
  },

  run(inputs, ctx): Tensor[] {
    const l = layout(inputs, ctx);
    analogAttrs(ctx, l.k);
    if (l.win) return Conv.run(inputs, ctx);
    const y = floatResult(l.x.dtype, l.positions * l.n);
    if (l.bias) fillChannels(y, floatData(l.bias), 1);
    sgemm(l.positions, l.n, l.k, view(floatData(l.x), 0, l.k), view(floatData(l.w), 0, l.k, true), view(y, 0, l.n), {
      accumulate: l.bias !== undefined,
    });
    return [finishResult(l.x.dtype, l.outShape, y)];
  },

  runInt(inputs, ctx): Tensor[] {
    const l = layout(inputs, ctx);
    const a = analogAttrs(ctx, l.k);
    if (!QUANT_DTYPES.has(l.x.dtype)) throw opError(ctx, `X must hold quantized codes (${[...QUANT_DTYPES].join(", ")}), got ${l.x.dtype}`, "HW4001");
    if (l.bias && l.bias.dtype !== "int32") throw opError(ctx, `B must be int32 codes, got ${l.bias.dtype}`, "HW4071");
    checkWeights(ctx, l.w, a.qW);
    const q = convParams(ctx.inTypes[0], ctx.inTypes[1], ctx.outTypes[0], 0, l.n, "AnalogMvm");
    const sx = perTensor(ctx.inTypes[0], "AnalogMvm's input").scale;
    const inner = l.win ? l.positions : 1;
    const total = new Int32Array(l.images * l.n * l.positions);
    if (l.bias) fillChannels(total, l.bias.data as Int32Array, inner);
    const [lo, hi] = intRange(l.x.dtype);
    accumulateBlocks(l, new AnalogBlocks(ctx, a, sx, q.aZero, lo, hi), total);
    const y = tensor(ctx.outTypes[0]!.dtype, l.outShape);
    requantizeChannels(total, y.data as IntArray, q.requant, inner);
    return [y];
  },
};

/** The node's operands and how its output positions are laid out. */
interface Layout {
  readonly x: Tensor;
  readonly w: Tensor;
  readonly bias: Tensor | undefined;
  /** Inputs per output (W's row length) and outputs per position. */
  readonly k: number;
  readonly n: number;
  /** Conv: the batch and the output grid; matmul: one image whose positions are X's rows. */
  readonly images: number;
  readonly positions: number;
  /** Conv mode's window; undefined in matmul mode. */
  readonly win: Window | undefined;
  readonly outShape: readonly number[];
}

function layout(inputs: readonly (Tensor | undefined)[], ctx: EvalCtx): Layout {
  const x = need(inputs, 0, ctx);
  const w = need(inputs, 1, ctx);
  const bias = inputs[2];
  const s = shapes(ctx, x.shape, w.shape);
  const k = s.k as number;
  const n = w.shape[0]!;
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== n)) throw opError(ctx, `B must have shape [${n}], got [${bias.shape.join(", ")}]`);
  const outShape = s.out as number[];
  if (!isConv(ctx)) return { x, w, bias, k, n, images: 1, positions: numel(x.shape.slice(0, -1)), win: undefined, outShape };
  const rank = x.shape.length - 2;
  const win = forwardWindow(readWindowAttrs(ctx, rank, convKernel(ctx, w.shape, rank)!), x.shape.slice(2));
  return { x, w, bias, k, n, images: x.shape[0]!, positions: windowPositions(win), win, outShape };
}

/**
 * Steps 1–5 over every image and chunk of positions into `total` ([images, N, positions] in conv
 * mode, [positions, N] in matmul mode): conv mode reads each chunk's windows through im2col
 * (padding reads z_x, whose DAC code is 0), matmul mode X's rows.
 */
function accumulateBlocks(l: Layout, blocks: AnalogBlocks, total: Int32Array): void {
  const { k, n, images, positions, win } = l;
  const wd = l.w.data as Int8Array;
  const xd = l.x.data as IntArray;
  const chunk = positionChunk(positions, k, n);
  if (!win) {
    new AnalogMatmul(blocks, wd, n, chunk).add(xd, positions, total);
    return;
  }
  const codes = blocks.codeBuffer(chunk);
  const raw = new (xd.constructor as new (len: number) => IntArray)(k * chunk);
  const acc = new Int32Array(n * chunk);
  const channels = l.x.shape[1]!;
  const read = { pad: blocks.zx, offset: 0 };
  for (let img = 0; img < images; img++) {
    for (let p0 = 0; p0 < positions; p0 += chunk) {
      const np = Math.min(chunk, positions - p0);
      im2col(xd, img * channels * numel(win.inShape), channels, win, raw, p0, np, read);
      blocks.columnCodes(raw, np, codes);
      blocks.addBlocks(wd, n, codes, np, acc, total, img * n * positions + p0, positions, 1);
    }
  }
}
