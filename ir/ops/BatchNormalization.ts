/**
 * BatchNormalization: `y = (x - mean) / sqrt(var + epsilon) * scale + B` per channel of an
 * (N x C x D1 … Dn) input. In inference mode mean and var are the inputs; with training_mode
 * (opset 14+) they are the batch's statistics over every axis but the channel's, and the extra
 * outputs are the running statistics `input * momentum + batch * (1 - momentum)`.
 * Before opset 9, spatial = 0 gives one parameter per (channel, position): shape C x D1 … Dn.
 * Opsets before 7 also had training outputs selected by is_test = 0; as onnxruntime does, hwac
 * evaluates those nodes in inference mode.
 */
import type { TensorType } from "../graph.js";
import { need, opError, type EvalCtx, type OpDef } from "../op.js";
import { fromFloat64, type Tensor } from "../tensor.js";
import { channelAffine, channels, expectCount } from "../kernels/normalize.js";
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
    const { c, s } = channels(x.shape, ctx);
    const perActivation = ctx.opset < 9 && ctx.attrs.int("spatial", 1) === 0;
    const count = perActivation ? c * s : c;
    const param = (i: number, what: string): Values => expectCount(need(inputs, i, ctx), count, what, ctx);
    const [scale, bias, inMean, inVar] = [param(1, "scale"), param(2, "B"), param(3, "mean"), param(4, "var")];
    const xv = valuesOf(x);
    const notChannel = [...x.shape.keys()].filter((a) => a !== 1);
    const batch = training(ctx) ? moments(xv, planReduction(x.shape, notChannel)) : null;
    const mean = batch?.mean ?? inMean;
    const variance = batch?.variance ?? inVar;
    const eps = ctx.attrs.float("epsilon", 1e-5);
    const a = new Float64Array(count);
    const b = new Float64Array(count);
    for (let k = 0; k < count; k++) {
      a[k] = scale[k]! / Math.sqrt(variance[k]! + eps);
      b[k] = bias[k]! - mean[k]! * a[k]!;
    }
    const y = fromFloat64(x.dtype, x.shape, channelAffine(xv, perActivation ? 1 : s, a, b));
    if (!batch) return [y];
    const momentum = ctx.attrs.float("momentum", 0.9);
    const running = (t: Tensor, input: Values, current: Float64Array): Tensor =>
      fromFloat64(t.dtype, t.shape, current.map((v, k) => input[k]! * momentum + v * (1 - momentum)));
    return [y, running(inputs[3]!, inMean, batch.mean), running(inputs[4]!, inVar, batch.variance)];
  },
};

function training(ctx: Pick<EvalCtx, "opset" | "attrs">): boolean {
  return ctx.opset >= 14 && ctx.attrs.int("training_mode", 0) !== 0;
}
