/**
 * BatchNormalization: `y = (x - mean) / sqrt(var + epsilon) * scale + B` per channel of an
 * (N x C x D1 … Dn) input. In inference mode mean and var are the inputs; with training_mode
 * (opset 14+) they are the batch's statistics over every axis but the channel's, and the extra
 * outputs are the running statistics `input * momentum + batch * (1 - momentum)`.
 * Before opset 9, spatial = 0 gives one parameter per (channel, position): shape C x D1 … Dn.
 * Opsets before 7 also had training outputs selected by is_test = 0; as onnxruntime does, hwac
 * evaluates those nodes in inference mode.
 * Integer semantics (inference only): the per-channel affine as a signed multiplier and an int32
 * offset per channel (`channelAffineIntParams`), derived from the float scale, B, mean and var.
 */
import type { TensorType } from "../graph.js";
import { need, opError, type EvalCtx, type OpDef } from "../op.js";
import { fromFloat64, tensor, type Tensor } from "../tensor.js";
import { batchNormAffine, channelAffine, channelAffineInt, channelAffineIntParams, channels, expectCount } from "../kernels/normalize.js";
import type { IntArray } from "../kernels/quantize.js";
import { moments, planReduction, valuesOf, type Values } from "../kernels/reduce.js";

export const BatchNormalization: OpDef = {
  op: "BatchNormalization",
  inferTypes(ctx) {
    const x = ctx.inputs[0];
    if (!x) throw opError(ctx, "input 0 (X) is required");
    const y: TensorType = { dtype: x.dtype, shape: x.shape };
    if (!training(ctx)) return [y];
    const stat = (t: TensorType | undefined): TensorType => ({ dtype: t?.dtype ?? x.dtype, shape: t?.shape ?? null });
    return [y, stat(ctx.inputs[3]), stat(ctx.inputs[4])];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    const { inner, scale, bias, mean: inMean, variance: inVar } = params(inputs, ctx);
    const xv = valuesOf(x);
    const notChannel = [...x.shape.keys()].filter((a) => a !== 1);
    const batch = training(ctx) ? moments(xv, planReduction(x.shape, notChannel)) : null;
    const mean = batch?.mean ?? inMean;
    const variance = batch?.variance ?? inVar;
    const { a, b } = batchNormAffine(scale, bias, mean, variance, ctx.attrs.float("epsilon", 1e-5));
    const y = fromFloat64(x.dtype, x.shape, channelAffine(xv, inner, a, b));
    if (!batch) return [y];
    const momentum = ctx.attrs.float("momentum", 0.9);
    const running = (t: Tensor, input: Values, current: Float64Array): Tensor =>
      fromFloat64(t.dtype, t.shape, current.map((v, k) => input[k]! * momentum + v * (1 - momentum)));
    return [y, running(inputs[3]!, inMean, batch.mean), running(inputs[4]!, inVar, batch.variance)];
  },
  runInt(inputs, ctx) {
    if (training(ctx)) throw opError(ctx, "training-mode BatchNormalization has no integer semantics", "HW4050");
    if (ctx.inTypes.slice(1).some((t) => t?.quant)) {
      throw opError(ctx, "scale, B, mean and var must stay float: the integer affine is derived from them", "HW4052");
    }
    const x = need(inputs, 0, ctx);
    const { inner, scale, bias, mean, variance } = params(inputs, ctx);
    const { a, b } = batchNormAffine(scale, bias, mean, variance, ctx.attrs.float("epsilon", 1e-5));
    const y = tensor(ctx.outTypes[0]!.dtype, x.shape);
    channelAffineInt(valuesOf(x), inner, channelAffineIntParams(a, b, ctx.inTypes[0], ctx.outTypes[0]!), y.data as IntArray);
    return [y];
  },
};

/** The per-channel inputs and the run of elements each applies to (one element when spatial = 0). */
function params(inputs: readonly (Tensor | undefined)[], ctx: Pick<EvalCtx, "node" | "opset" | "attrs">) {
  const { c, s } = channels(need(inputs, 0, ctx).shape, ctx);
  const perActivation = ctx.opset < 9 && ctx.attrs.int("spatial", 1) === 0;
  const count = perActivation ? c * s : c;
  const param = (i: number, what: string): Values => expectCount(need(inputs, i, ctx), count, what, ctx);
  return { inner: perActivation ? 1 : s, scale: param(1, "scale"), bias: param(2, "B"), mean: param(3, "mean"), variance: param(4, "var") };
}

function training(ctx: Pick<EvalCtx, "opset" | "attrs">): boolean {
  return ctx.opset >= 14 && ctx.attrs.int("training_mode", 0) !== 0;
}
