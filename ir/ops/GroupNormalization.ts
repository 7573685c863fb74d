/**
 * GroupNormalization: the C channels of an (N x C x D1 … Dn) input are split into num_groups
 * groups, each normalized over its channels and spatial dims, then scaled and shifted. scale and
 * bias hold one value per channel (opset 21) or, in the deprecated opset 18 form, one per group.
 */
import { need, opError, type OpDef } from "../op.js";
import { fromFloat64 } from "../tensor.js";
import { channelAffine, channels, expectCount } from "../kernels/normalize.js";
import { invStdDev, moments, planRows, valuesOf } from "../kernels/reduce.js";

export const GroupNormalization: OpDef = {
  op: "GroupNormalization",
  inferTypes(ctx) {
    const x = ctx.inputs[0];
    if (!x) throw opError(ctx, "input 0 (X) is required");
    const groups = ctx.attrs.int("num_groups");
    const c = x.shape?.[1];
    if (typeof c === "number" && (groups <= 0 || c % groups !== 0)) {
      throw opError(ctx, `num_groups ${groups} must divide the ${c} channels`);
    }
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    const { n, c, s } = channels(x.shape, ctx);
    const groups = ctx.attrs.int("num_groups");
    if (groups <= 0 || c % groups !== 0) throw opError(ctx, `num_groups ${groups} must divide the ${c} channels`, "HW3002");
    const perGroup = c / groups;
    const count = ctx.opset < 21 && need(inputs, 1, ctx).data.length === groups ? groups : c;
    const scale = expectCount(need(inputs, 1, ctx), count, "scale", ctx);
    const bias = expectCount(need(inputs, 2, ctx), count, "bias", ctx);
    const xv = valuesOf(x);
    const { mean, variance } = moments(xv, planRows(n * groups, perGroup * s));
    const inv = invStdDev(variance, ctx.attrs.float("epsilon", 1e-5));
    // One affine step per (instance, channel): a = scale / std, b = bias - mean * a.
    const a = new Float64Array(n * c);
    const b = new Float64Array(n * c);
    for (let r = 0; r < n * c; r++) {
      const ch = r % c;
      const group = Math.floor(ch / perGroup);
      const g = ((r - ch) / c) * groups + group;
      const k = count === c ? ch : group;
      a[r] = scale[k]! * inv[g]!;
      b[r] = bias[k]! - mean[g]! * a[r]!;
    }
    return [fromFloat64(x.dtype, x.shape, channelAffine(xv, s, a, b))];
  },
};
