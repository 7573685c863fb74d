/**
 * Conv: N-d convolution with groups (depthwise when group = C), strides, dilations, pads or
 * auto_pad, and an optional bias; kernel_shape defaults to W's spatial dims.
 * Lowered to GEMM per image and group, Y[g] = W[g] · im2col(X[g]); a 1×1, stride-1, unpadded
 * convolution multiplies X directly, and a depthwise one (one input and one output channel per
 * group) sums shifted input rows instead.
 */
import { isFloat } from "../dtype.js";
import type { TensorType } from "../graph.js";
import { convKernel, forwardShape, forwardWindow, readWindowAttrs, spatialRank, windowPositions, type Window } from "../kernels/conv-geometry.js";
import { finishResult, floatData, floatResult, sgemm, view, type FloatArray } from "../kernels/gemm.js";
import { im2col, windowDot } from "../kernels/im2col.js";
import { need, opError, type OpDef, type TypeCtx } from "../op.js";
import { numel, type Tensor } from "../tensor.js";

/** Largest im2col matrix built at once (elements); longer outputs are processed in column chunks. */
const COL_LIMIT = 1 << 22;

export const Conv: OpDef = {
  op: "Conv",

  inferTypes(ctx: TypeCtx): TensorType[] {
    const [x, w] = ctx.inputs;
    if (!x || !w) throw opError(ctx, "Conv needs inputs X and W");
    if (!isFloat(x.dtype)) throw opError(ctx, `Conv takes float tensors, got ${x.dtype}`);
    if (!x.shape) return [{ dtype: x.dtype, shape: null }];
    const rank = spatialRank(ctx, x.shape.length);
    const m = w.shape?.[0] ?? "?";
    const kernel = convKernel(ctx, w.shape, rank);
    if (!kernel) return [{ dtype: x.dtype, shape: [x.shape[0]!, m, ...x.shape.slice(2).map(() => "?")] }];
    return [{ dtype: x.dtype, shape: forwardShape(readWindowAttrs(ctx, rank, kernel), x.shape, m) }];
  },

  run(inputs, ctx): Tensor[] {
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
    const y = floatResult(x.dtype, n * m * windowPositions(win));
    convolve(floatData(x), n, c, floatData(w), m, group, bias && floatData(bias), win, y);
    return [finishResult(x.dtype, [n, m, ...win.outShape], y)];
  },
};

function convolve(x: FloatArray, n: number, c: number, w: FloatArray, m: number, group: number, bias: FloatArray | undefined, win: Window, y: FloatArray): void {
  const positions = windowPositions(win);
  const inSize = numel(win.inShape);
  const cg = c / group;
  const mg = m / group;
  const kg = cg * numel(win.kernel);
  if (bias) for (let i = 0; i < n * m; i++) y.fill(bias[i % m]!, i * positions, (i + 1) * positions);
  if (cg === 1 && mg === 1) {
    for (let i = 0; i < n * m; i++) windowDot(x, i * inSize, win, w, (i % m) * kg, y, i * positions);
    return;
  }
  const direct = win.kernel.every((k, i) => k === 1 && win.strides[i] === 1 && win.padBegin[i] === 0 && win.padEnd[i] === 0);
  const chunk = direct ? positions : Math.max(1, Math.min(positions, Math.floor(COL_LIMIT / kg)));
  const col = direct ? undefined : x instanceof Float32Array ? new Float32Array(kg * chunk) : new Float64Array(kg * chunk);
  for (let img = 0; img < n; img++) {
    for (let g = 0; g < group; g++) {
      const xOff = (img * c + g * cg) * inSize;
      const yOff = (img * m + g * mg) * positions;
      const a = view(w, g * mg * kg, kg);
      for (let p0 = 0; p0 < positions; p0 += chunk) {
        const np = Math.min(chunk, positions - p0);
        if (col) im2col(x, xOff, cg, win, col, p0, np);
        const b = col ? view(col, 0, np) : view(x, xOff, inSize);
        sgemm(mg, np, kg, a, b, view(y, yOff + p0, positions), { accumulate: bias !== undefined });
      }
    }
  }
}
