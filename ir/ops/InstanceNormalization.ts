/**
 * InstanceNormalization: each (instance, channel) slice of an (N x C x D1 … Dn) input is
 * normalized over its spatial dims, then scaled and shifted per channel.
 */
import { need, opError, type OpDef } from "../op.js";
import { fromFloat64 } from "../tensor.js";
import { channelAffine, channels, expectCount } from "../kernels/normalize.js";
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
};
