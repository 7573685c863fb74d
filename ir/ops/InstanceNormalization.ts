/**
 * InstanceNormalization: each (instance, channel) slice of an (N x C x D1 … Dn) input is
 * normalized over its spatial dims, then scaled and shifted per channel.
 * Integer semantics: `normalizeRowsInt` over (instance, channel) rows, γ and β per channel as
 * `quantizeNormAffine` types them.
 */
import { need, opError, type OpDef } from "../op.js";
import { fromFloat64, tensor } from "../tensor.js";
import { channelAffine, channels, expectCount, normalizeRowsInt, normIntParams } from "../kernels/normalize.js";
import type { IntArray } from "../kernels/quantize.js";
import { invStdDev, moments, planRows, valuesOf } from "../kernels/reduce.js";

export const InstanceNormalization: OpDef = {
  op: "InstanceNormalization",
  inferTypes(ctx) {
    const x = ctx.inputs[0];
    if (!x) throw opError(ctx, "input 0 (input) is required");
    if (x.shape && x.shape.length < 2) throw opError(ctx, `expects an input of rank >= 2 (N x C x D1 … Dn), got rank ${x.shape.length}`);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    const { n, c, s } = channels(x.shape, ctx);
    const scale = expectCount(need(inputs, 1, ctx), c, "scale", ctx);
    const bias = expectCount(need(inputs, 2, ctx), c, "B", ctx);
    const xv = valuesOf(x);
    const { mean, variance } = moments(xv, planRows(n * c, s));
    const inv = invStdDev(variance, ctx.attrs.float("epsilon", 1e-5));
    // One affine step per (instance, channel): a = scale / std, b = B - mean * a.
    for (let r = 0; r < mean.length; r++) {
      inv[r]! *= scale[r % c]!;
      mean[r] = bias[r % c]! - mean[r]! * inv[r]!;
    }
    return [fromFloat64(x.dtype, x.shape, channelAffine(xv, s, inv, mean))];
  },
  runInt(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    const { n, c, s } = channels(x.shape, ctx);
    const scale = expectCount(need(inputs, 1, ctx), c, "scale", ctx);
    const bias = expectCount(need(inputs, 2, ctx), c, "B", ctx);
    const p = normIntParams(s, ctx.attrs.float("epsilon", 1e-5), ctx.inTypes[0], ctx.inTypes[1], ctx.inTypes[2], ctx.outTypes[0]!);
    const y = tensor(ctx.outTypes[0]!.dtype, x.shape);
    normalizeRowsInt(valuesOf(x), n * c, s, p, scale, bias, true, y.data as IntArray);
    return [y];
  },
};
