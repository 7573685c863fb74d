import { isFloat, isInteger } from "../dtype.js";
import { need, needType, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { fromFloat64, getNumber, type Tensor } from "../tensor.js";

/** Number of elements: ceil((limit - start) / delta), at least 0. */
function count(start: Tensor, limit: Tensor, delta: Tensor, ctx: TypeCtx | EvalCtx): number {
  const d = getNumber(delta, 0);
  if (d === 0) throw opError(ctx, "delta must not be 0");
  return Math.max(0, Math.ceil((getNumber(limit, 0) - getNumber(start, 0)) / d));
}

export const Range: OpDef = {
  op: "Range",
  inferTypes(ctx) {
    const dtype = needType(ctx, 0).dtype;
    if (!isFloat(dtype) && !isInteger(dtype)) throw opError(ctx, `Range does not take ${dtype} inputs`);
    const [start, limit, delta] = ctx.consts;
    return [{ dtype, shape: [start && limit && delta ? count(start, limit, delta, ctx) : "?"] }];
  },
  run(inputs, ctx) {
    const [start, limit, delta] = [need(inputs, 0, ctx), need(inputs, 1, ctx), need(inputs, 2, ctx)];
    const n = count(start, limit, delta, ctx);
    const [s, d] = [getNumber(start, 0), getNumber(delta, 0)];
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = s + i * d;
    return [fromFloat64(start.dtype, [n], values)];
  },
};
