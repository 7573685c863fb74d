/**
 * ConvTranspose: the adjoint of Conv, N-d, with groups, strides, dilations, pads or auto_pad,
 * output_padding, output_shape and an optional bias. Per image and group the input is multiplied by
 * Wᵀ into a column matrix, which col2im scatters into the output: the reverse of Conv's lowering.
 */
import { isFloat } from "../dtype.js";
import type { TensorType } from "../graph.js";
import { convKernel, readTransposeAttrs, spatialRank, transposeShape, transposeWindow, windowPositions, type Window } from "../kernels/conv-geometry.js";
import { finishResult, floatData, floatResult, sgemm, view, type FloatArray } from "../kernels/gemm.js";
import { col2im } from "../kernels/im2col.js";
import { need, opError, type OpDef, type TypeCtx } from "../op.js";
import { numel, type Tensor } from "../tensor.js";

/** Largest column matrix built at once (elements); larger inputs are processed in chunks of positions. */
const COL_LIMIT = 1 << 22;

export const ConvTranspose: OpDef = {
  op: "ConvTranspose",

  inferTypes(ctx: TypeCtx): TensorType[] {
    const [x, w] = ctx.inputs;
    if (!x || !w) throw opError(ctx, "ConvTranspose needs inputs X and W");
    if (!isFloat(x.dtype)) throw opError(ctx, `ConvTranspose takes float tensors, got ${x.dtype}`);
    if (!x.shape) return [{ dtype: x.dtype, shape: null }];
    const rank = spatialRank(ctx, x.shape.length);
    const group = ctx.attrs.int("group", 1);
    const perGroup = w.shape?.[1];
    const m = typeof perGroup === "number" ? perGroup * group : "?";
    const kernel = convKernel(ctx, w.shape, rank);
    if (!kernel) return [{ dtype: x.dtype, shape: [x.shape[0]!, m, ...x.shape.slice(2).map(() => "?")] }];
    return [{ dtype: x.dtype, shape: transposeShape(readTransposeAttrs(ctx, rank, kernel), x.shape, m) }];
  },

  run(inputs, ctx): Tensor[] {
    const x = need(inputs, 0, ctx);
    const w = need(inputs, 1, ctx);
    const bias = inputs[2];
    const rank = spatialRank(ctx, x.shape.length);
    const kernel = convKernel(ctx, w.shape, rank)!;
    const [n, c] = x.shape as [number, number];
    const group = ctx.attrs.int("group", 1);
    if (group < 1 || c % group !== 0 || w.shape[0] !== c) {
      throw opError(ctx, `X has ${c} channels and W is [${w.shape.join(", ")}]: W must be [${c}, M/group, …] with ${c} divisible by group ${group}`);
    }
    const m = w.shape[1]! * group;
    if (bias && (bias.shape.length !== 1 || bias.shape[0] !== m)) throw opError(ctx, `B must have shape [${m}], got [${bias.shape.join(", ")}]`);
    const win = transposeWindow(readTransposeAttrs(ctx, rank, kernel), x.shape.slice(2));
    const outSize = numel(win.inShape);
    const y = floatResult(x.dtype, n * m * outSize);
    transposed(floatData(x), n, c, floatData(w), m, group, bias && floatData(bias), win, y);
    return [finishResult(x.dtype, [n, m, ...win.inShape], y)];
  },
};

/** `win` is the forward window from Y to X: its input is this op's output, its grid this op's input. */
function transposed(x: FloatArray, n: number, c: number, w: FloatArray, m: number, group: number, bias: FloatArray | undefined, win: Window, y: FloatArray): void {
  const positions = windowPositions(win);
  const outSize = numel(win.inShape);
  const cg = c / group;
  const mg = m / group;
  const rows = mg * numel(win.kernel);
  if (bias) for (let i = 0; i < n * m; i++) y.fill(bias[i % m]!, i * outSize, (i + 1) * outSize);
  const chunk = Math.max(1, Math.min(positions, Math.floor(COL_LIMIT / rows)));
  const col = x instanceof Float32Array ? new Float32Array(rows * chunk) : new Float64Array(rows * chunk);
  for (let img = 0; img < n; img++) {
    for (let g = 0; g < group; g++) {
      // W's group block is [cg, rows] row-major; the product needs its transpose, [rows, cg].
      const a = view(w, g * cg * rows, rows, true);
      const xOff = (img * c + g * cg) * positions;
      const yOff = (img * m + g * mg) * outSize;
      for (let p0 = 0; p0 < positions; p0 += chunk) {
        const np = Math.min(chunk, positions - p0);
        sgemm(rows, np, cg, a, view(x, xOff + p0, positions), view(col, 0, np));
        col2im(col, mg, win, y, yOff, p0, np);
      }
    }
  }
}
