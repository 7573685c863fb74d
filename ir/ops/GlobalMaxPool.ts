/**
 * GlobalMaxPool: the max over all spatial axes, keeping them as size-1 axes. Quantized: the same
 * max over codes (input and output share one quantization).
 */
import { isFloat } from "../dtype.js";
import type { TensorType } from "../graph.js";
import { globalShape, globalWindow, spatialRank } from "../kernels/conv-geometry.js";
import { maxPool, type PoolArray } from "../kernels/pool.js";
import { QUANT_DTYPES } from "../kernels/quantize.js";
import { need, opError, type OpDef, type TypeCtx } from "../op.js";
import { tensor, type Tensor } from "../tensor.js";

export const GlobalMaxPool: OpDef = {
  op: "GlobalMaxPool",
  quantTransparent: true,

  inferTypes(ctx: TypeCtx): TensorType[] {
    const x = ctx.inputs[0];
    if (!x) throw opError(ctx, "GlobalMaxPool needs input X");
    if (!isFloat(x.dtype) && !QUANT_DTYPES.has(x.dtype)) {
      throw opError(ctx, `GlobalMaxPool takes float tensors (or quantized codes), got ${x.dtype}`);
    }
    if (x.shape) spatialRank(ctx, x.shape.length);
    return [{ dtype: x.dtype, shape: x.shape && globalShape(x.shape) }];
  },

  run(inputs, ctx): Tensor[] {
    const x = need(inputs, 0, ctx);
    spatialRank(ctx, x.shape.length);
    const y = tensor(x.dtype, globalShape(x.shape));
    maxPool(x.data as PoolArray, x.shape[0]! * x.shape[1]!, globalWindow(x.shape.slice(2)), y.data as PoolArray);
    return [y];
  },
};
