/**
 * ConvTranspose: the adjoint of Conv, N-d, with groups, strides, dilations, pads or auto_pad,
 * output_padding, output_shape and an optional bias. Per image and group the input is multiplied by
 * Wᵀ into a column matrix, which col2im scatters into the output: the reverse of Conv's lowering.
 *
 * Integer semantics (docs/numerics-linear.md): the same lowering with int32 columns,
 * col = Wᵀ·(x − z_x), scattered onto the int32 bias, then requantized per output channel. W is
 * [C, M/group, k…] and quantized along axis 1, so output channel o uses the scale s_w[o mod M/group].
 */
import { isFloat } from "../dtype.js";
import type { TensorType } from "../graph.js";
import { convKernel, readTransposeAttrs, spatialRank, transposeShape, transposeWindow, windowPositions, type Window } from "../kernels/conv-geometry.js";
import { finishResult, floatData, floatProduct, floatResult, intProduct, view, type IntArray, type NumArray, type Product } from "../kernels/gemm.js";
import { col2im, fillChannels } from "../kernels/im2col.js";
import { igemmWasm } from "../kernels/wasm/gemm.js";
import { QUANT_DTYPES } from "../kernels/quantize.js";
import { convParams, requantizeChannels } from "../kernels/requant.js";
import { need, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { numel, tensor, type Tensor } from "../tensor.js";

/** Largest column matrix built at once (elements); larger inputs are processed in chunks of positions. */
const COL_LIMIT = 1 << 22;

export const ConvTranspose: OpDef = {
  op: "ConvTranspose",

  inferTypes(ctx: TypeCtx): TensorType[] {
    const [x, w] = ctx.inputs;
    if (!x || !w) throw opError(ctx, "ConvTranspose needs inputs X and W");
    if (!isFloat(x.dtype) && !QUANT_DTYPES.has(x.dtype)) {
      throw opError(ctx, `ConvTranspose takes float tensors (or quantized codes), got ${x.dtype}`);
    }
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
    const g = geometry(inputs, ctx);
    const { x, w, bias, n, m, win } = g;
    const outSize = numel(win.inShape);
    const y = floatResult(x.dtype, n * m * outSize);
    if (bias) fillChannels(y, floatData(bias), outSize);
    const xd = floatData(x);
    const newCol = (len: number) => (xd instanceof Float32Array ? new Float32Array(len) : new Float64Array(len));
    transposed(xd, g, floatData(w), y, newCol, floatProduct());
    return [finishResult(x.dtype, [n, m, ...win.inShape], y)];
  },

  runInt(inputs, ctx): Tensor[] {
    const g = geometry(inputs, ctx);
    const { x, w, bias, n, m, group, win } = g;
    if (bias && bias.dtype !== "int32") throw opError(ctx, `a quantized ConvTranspose's B must be int32 codes, got ${bias.dtype}`, "HW4071");
    const p = convParams(ctx.inTypes[0], ctx.inTypes[1], ctx.outTypes[0], 1, m / group, "ConvTranspose");
    const outSize = numel(win.inShape);
    const acc = new Int32Array(n * m * outSize);
    if (bias) fillChannels(acc, bias.data as Int32Array, outSize);
    transposed(x.data as IntArray, g, w.data as IntArray, acc, (len) => new Int32Array(len), intProduct({ bZero: p.aZero }, igemmWasm));
    const y = tensor(ctx.outTypes[0]!.dtype, [n, m, ...win.inShape]);
    // Channel o = image·M + o' modulo M/group picks s_w[o' mod M/group].
    requantizeChannels(acc, y.data as IntArray, p.requant, outSize);
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
  /** The forward window from Y to X: its input is this op's output, its grid this op's input. */
  win: Window;
}

function geometry(inputs: readonly (Tensor | undefined)[], ctx: EvalCtx): Geometry {
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
  return { x, w, bias, n, c, m, group, win };
}

/** y += the scatter of Wᵀ·x, for the float op or the integer one (the product subtracts z_x). */
function transposed(x: NumArray, g: Geometry, w: NumArray, y: NumArray, newCol: (length: number) => NumArray, product: Product): void {
  const { n, c, m, group, win } = g;
  const positions = windowPositions(win);
  const outSize = numel(win.inShape);
  const cg = c / group;
  const mg = m / group;
  const rows = mg * numel(win.kernel);
  const chunk = Math.max(1, Math.min(positions, Math.floor(COL_LIMIT / rows)));
  const col = newCol(rows * chunk);
  for (let img = 0; img < n; img++) {
    for (let gr = 0; gr < group; gr++) {
      // W's group block is [cg, rows] row-major; the product needs its transpose, [rows, cg].
      const a = view(w, gr * cg * rows, rows, true);
      const xOff = (img * c + gr * cg) * positions;
      const yOff = (img * m + gr * mg) * outSize;
      for (let p0 = 0; p0 < positions; p0 += chunk) {
        const np = Math.min(chunk, positions - p0);
        product(rows, np, cg, a, view(x, xOff + p0, positions), view(col, 0, np));
        col2im(col, mg, win, y, yOff, p0, np);
      }
    }
  }
}
