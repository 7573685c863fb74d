/**
 * ConvInteger (opset 10): Conv of integers, Y = conv(x − x_zero_point, w − w_zero_point) in int32,
 * with x's zero point per tensor and w's per tensor or per output channel. Padding reads x's zero
 * point (a centered 0). The centered operands go through the float Conv in float64, exact for the
 * reasons MatMulInteger gives, so window arithmetic, groups and the GEMM lowering are Conv's.
 */
import { perAxisLayout, perTensorLayout, centered, type ParamLayout } from "../kernels/quantize.js";
import { need, opError, type EvalCtx, type OpDef } from "../op.js";
import { numel, shapeStr, tensor, type Tensor } from "../tensor.js";
import { Conv } from "./Conv.js";
import { checkIntOperand, floatShape } from "./MatMulInteger.js";

type Ctx = Parameters<typeof opError>[0];

/** Which scale or zero point each element of W uses: one for the tensor, or one per output channel. */
export function channelLayout(ctx: Ctx, name: string, w: readonly number[], param: readonly number[]): ParamLayout {
  if (numel(param) === 1) return perTensorLayout(numel(w));
  if (param.length !== 1 || param[0] !== w[0]) {
    throw opError(ctx, `${name} must be a scalar or have one entry per output channel, [${w[0]}]; got ${shapeStr(param)}`);
  }
  return perAxisLayout(w, 0);
}

/** The int32 accumulators Σ (x − x_zero)·(w − w_zero) (+ bias) of the convolution, shaped [N, M, spatial…]. */
export function convAccumulators(ctx: EvalCtx, x: Tensor, xZero: Tensor | undefined, w: Tensor, wZero: Tensor | undefined, bias?: Tensor): Tensor {
  if (xZero && numel(xZero.shape) !== 1) throw opError(ctx, `x_zero_point must be a scalar, got ${shapeStr(xZero.shape)}`);
  if (bias && bias.dtype !== "int32") throw opError(ctx, `B must be int32, got ${bias.dtype}`);
  const wLayout = wZero ? channelLayout(ctx, "w_zero_point", w.shape, wZero.shape) : perTensorLayout(numel(w.shape));
  const [y] = Conv.run(
    [
      tensor("float64", x.shape, centered(x, xZero, perTensorLayout(numel(x.shape)))),
      tensor("float64", w.shape, centered(w, wZero, wLayout)),
      bias && tensor("float64", bias.shape, Float64Array.from(bias.data as Int32Array)),
    ],
    ctx,
  );
  return tensor("int32", y!.shape, Int32Array.from(y!.data as Float64Array));
}

export const ConvInteger: OpDef = {
  op: "ConvInteger",
  inferTypes(ctx) {
    const [x, w, xZero, wZero] = ctx.inputs;
    if (!x || !w) throw opError(ctx, "inputs x and w are required");
    checkIntOperand(ctx, "x", x.dtype, xZero?.dtype);
    checkIntOperand(ctx, "w", w.dtype, wZero?.dtype);
    return [{ dtype: "int32", shape: floatShape(Conv, ctx, [x, w]) }];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    const w = need(inputs, 1, ctx);
    const [, , xZero, wZero] = inputs;
    checkIntOperand(ctx, "x", x.dtype, xZero?.dtype);
    checkIntOperand(ctx, "w", w.dtype, wZero?.dtype);
    return [convAccumulators(ctx, x, xZero, w, wZero)];
  },
  definedOnCodes: true,
};
