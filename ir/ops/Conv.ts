/**
 * Conv: N-d convolution with groups (depthwise when group = C), strides, dilations, pads or
 * auto_pad, and an optional bias; kernel_shape defaults to W's spatial dims.
 * Lowered to GEMM per image and group, Y[g] = W[g] · im2col(X[g]); a 1×1, stride-1, unpadded
 * convolution multiplies X directly, and a depthwise one (one input and one output channel per
 * group) sums shifted input rows instead.
 *
 * Integer semantics (docs/numerics-linear.md): acc[c] = B[c] + Σ (x − z_x)·w in int32, computed
 * by the same lowering on codes read as x − o (o = 128 moves uint8 codes into int8, for the int8
 * GEMM kernel; else 0) with the padding reading z_x; the accumulator starts at
 * B[c] − (z_x − o)·Σ w[c] (`foldZeroPoint`), equal modulo 2^32. Then requantized per channel.
 */
import { isFloat } from "../dtype.js";
import type { TensorType } from "../graph.js";
import { convKernel, forwardShape, forwardWindow, readWindowAttrs, spatialRank, windowPositions, type Window } from "../kernels/conv-geometry.js";
import { finishResult, floatData, floatProduct, floatResult, intProduct, view, type IntArray, type NumArray, type Product } from "../kernels/gemm.js";
import { fillChannels, im2col, PLAIN, windowDot, type Reading } from "../kernels/im2col.js";
import { igemmWasm } from "../kernels/wasm/gemm.js";
import { QUANT_DTYPES } from "../kernels/quantize.js";
import { convParams, foldZeroPoint, requantizeChannels } from "../kernels/requant.js";
import { need, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { numel, tensor, type Tensor } from "../tensor.js";

/** Largest im2col matrix built at once (elements); longer outputs are processed in column chunks. */
const COL_LIMIT = 1 << 22;

export const Conv: OpDef = {
  op: "Conv",

  inferTypes(ctx: TypeCtx): TensorType[] {
    const [x, w] = ctx.inputs;
    if (!x || !w) throw opError(ctx, "Conv needs inputs X and W");
    if (!isFloat(x.dtype) && !QUANT_DTYPES.has(x.dtype)) throw opError(ctx, `Conv takes float tensors (or quantized codes), got ${x.dtype}`);
    if (!x.shape) return [{ dtype: x.dtype, shape: null }];
    const rank = spatialRank(ctx, x.shape.length);
    const m = w.shape?.[0] ?? "?";
    const kernel = convKernel(ctx, w.shape, rank);
    if (!kernel) return [{ dtype: x.dtype, shape: [x.shape[0]!, m, ...x.shape.slice(2).map(() => "?")] }];
    return [{ dtype: x.dtype, shape: forwardShape(readWindowAttrs(ctx, rank, kernel), x.shape, m) }];
  },

  run(inputs, ctx): Tensor[] {
    const g = geometry(inputs, ctx);
    const { x, w, bias, n, m, win } = g;
    const positions = windowPositions(win);
    const y = floatResult(x.dtype, n * m * positions);
    if (bias) fillChannels(y, floatData(bias), positions);
    convolve(floatData(x), g, floatData(w), y, PLAIN, floatProduct({ accumulate: bias !== undefined }));
    return [finishResult(x.dtype, [n, m, ...win.outShape], y)];
  },

  runInt(inputs, ctx): Tensor[] {
    const g = geometry(inputs, ctx);
    const { x, w, bias, n, m, win } = g;
    if (bias && bias.dtype !== "int32") throw opError(ctx, `a quantized Conv's B must be int32 codes, got ${bias.dtype}`, "HW4071");
    const p = convParams(ctx.inTypes[0], ctx.inTypes[1], ctx.outTypes[0], 0, m, "Conv");
    const positions = windowPositions(win);
    const acc = new Int32Array(n * m * positions);
    const wd = w.data as IntArray;
    const xd = x.data as IntArray;
    const read: Reading = { pad: p.aZero, offset: xd instanceof Uint8Array ? 128 : 0 };
    fillChannels(acc, foldZeroPoint(wd, m, numel(w.shape) / m, p.aZero - read.offset, bias?.data as Int32Array | undefined), positions);
    convolve(xd, g, wd, acc, read, intProduct({ accumulate: true }, igemmWasm));
    const y = tensor(ctx.outTypes[0]!.dtype, [n, m, ...win.outShape]);
    requantizeChannels(acc, y.data as IntArray, p.requant, positions);
    return [y];
  },
};

interface Geometry {
  x: Tensor;
  w: Tensor;
  bias: Tensor | undefined;
  n: number;
  c: number;
  m: number;
  group: number;
  win: Window;
}

function geometry(inputs: readonly (Tensor | undefined)[], ctx: EvalCtx): Geometry {
  const x = need(inputs, 0, ctx);
  const w = need(inputs, 1, ctx);
  const bias = inputs[2];
  const rank = spatialRank(ctx, x.shape.length);
  const kernel = convKernel(ctx, w.shape, rank)!;
  const [n, c] = x.shape as [number, number];
  const m = w.shape[0]!;
  const group = ctx.attrs.int("group", 1);
  if (group < 1 || c % group !== 0 || m % group !== 0 || w.shape[1]! * group !== c) {
    throw opError(ctx, `X has ${c} channels and W is [${w.shape.join(", ")}]: with group ${group}, W must be [M, ${c / group}, …] with M divisible by ${group}`);
  }
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== m)) throw opError(ctx, `B must have shape [${m}], got [${bias.shape.join(", ")}]`);
  const win = forwardWindow(readWindowAttrs(ctx, rank, kernel), x.shape.slice(2));
  return { x, w, bias, n, c, m, group, win };
}

/** An empty column matrix for x read through `read`: x's element type, int8 for shifted uint8 codes. */
function columns(x: NumArray, read: Reading, length: number): NumArray {
  return read.offset ? new Int8Array(length) : new (x.constructor as new (n: number) => NumArray)(length);
}

/** y += W ∗ (x as `read` reads it), for the float op or the integer one. */
function convolve(x: NumArray, g: Geometry, w: NumArray, y: NumArray, read: Reading, product: Product): void {
  const { n, c, m, group, win } = g;
  const positions = windowPositions(win);
  const inSize = numel(win.inShape);
  const cg = c / group;
  const mg = m / group;
  const kg = cg * numel(win.kernel);
  if (cg === 1 && mg === 1) {
    for (let i = 0; i < n * m; i++) windowDot(x, i * inSize, win, w, (i % m) * kg, y, i * positions, read);
    return;
  }
  // A 1×1, stride-1, unpadded window reads X itself as the matrix, unless its codes must be shifted.
  const direct = read.offset === 0 && win.kernel.every((k, i) => k === 1 && win.strides[i] === 1 && win.padBegin[i] === 0 && win.padEnd[i] === 0);
  const chunk = direct ? positions : Math.max(1, Math.min(positions, Math.floor(COL_LIMIT / kg)));
  const col = direct ? undefined : columns(x, read, kg * chunk);
  for (let img = 0; img < n; img++) {
    for (let gr = 0; gr < group; gr++) {
      const xOff = (img * c + gr * cg) * inSize;
      const yOff = (img * m + gr * mg) * positions;
      const a = view(w, gr * mg * kg, kg);
      for (let p0 = 0; p0 < positions; p0 += chunk) {
        const np = Math.min(chunk, positions - p0);
        if (col) im2col(x, xOff, cg, win, col, p0, np, read);
        const b = col ? view(col, 0, np) : view(x, xOff, inSize);
        product(mg, np, kg, a, b, view(y, yOff + p0, positions));
      }
    }
  }
}
