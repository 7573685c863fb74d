/**
 * RMSNormalization (opset 23): `X / sqrt(mean(X^2) + epsilon) * scale`, the mean taken over the
 * dims from `axis` (default -1) on; scale broadcasts to X.
 */
import { need, opError, type OpDef } from "../op.js";
import { fromFloat64 } from "../tensor.js";
import { affineParam, normalizeRows, splitAxis, stashType } from "../kernels/normalize.js";
import { invStdDev, meanSquareDeviation, planRows, valuesOf } from "../kernels/reduce.js";

export const RMSNormalization: OpDef = {
  op: "RMSNormalization",
  inferTypes(ctx) {
    const x = ctx.inputs[0];
    if (!x) throw opError(ctx, "input 0 (X) is required");
    stashType(ctx);
    if (x.shape) splitAxis(x.shape.map(() => 1), ctx);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    const scale = need(inputs, 1, ctx);
    const { axis, rows, cols } = splitAxis(x.shape, ctx);
    const xv = valuesOf(x);
    const inv = invStdDev(meanSquareDeviation(xv, planRows(rows, cols), null), ctx.attrs.float("epsilon", 1e-5));
    const w = affineParam(scale, x.shape, axis, "scale", ctx);
    return [fromFloat64(x.dtype, x.shape, normalizeRows(xv, cols, null, inv, w, null))];
  },
};
