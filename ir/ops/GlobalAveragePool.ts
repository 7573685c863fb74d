/**
 * GlobalAveragePool: the mean over all spatial axes, keeping them as size-1 axes.
 * Integer semantics: AveragePool's over one window covering the input (`avgPoolInt`).
 */
import { isFloat } from "../dtype.js";
import type { TensorType } from "../graph.js";
import { globalShape, globalWindow, spatialRank } from "../kernels/conv-geometry.js";
import { finishResult, floatData, floatResult, type IntArray } from "../kernels/gemm.js";
import { avgPool, avgPoolInt } from "../kernels/pool.js";
import { QUANT_DTYPES } from "../kernels/quantize.js";
import { need, opError, type OpDef, type TypeCtx } from "../op.js";
import { tensor, type Tensor } from "../tensor.js";

export const GlobalAveragePool: OpDef = {
  op: "GlobalAveragePool",

  inferTypes(ctx: TypeCtx): TensorType[] {
    const x = ctx.inputs[0];
    if (!x) throw opError(ctx, "GlobalAveragePool needs input X");
    if (!isFloat(x.dtype) && !QUANT_DTYPES.has(x.dtype)) {
      throw opError(ctx, `GlobalAveragePool takes float tensors (or quantized codes), got ${x.dtype}`);
    }
    if (x.shape) spatialRank(ctx, x.shape.length);
    return [{ dtype: x.dtype, shape: x.shape && globalShape(x.shape) }];
  },

  run(inputs, ctx): Tensor[] {
    const x = need(inputs, 0, ctx);
    spatialRank(ctx, x.shape.length);
    const planes = x.shape[0]! * x.shape[1]!;
    const y = floatResult(x.dtype, planes);
    avgPool(floatData(x), planes, globalWindow(x.shape.slice(2)), y, false);
    return [finishResult(x.dtype, globalShape(x.shape), y)];
  },

  runInt(inputs, ctx): Tensor[] {
    const x = need(inputs, 0, ctx);
    spatialRank(ctx, x.shape.length);
    const y = tensor(ctx.outTypes[0]!.dtype, globalShape(x.shape));
    avgPoolInt(x.data as IntArray, x.shape[0]! * x.shape[1]!, globalWindow(x.shape.slice(2)), false, ctx.inTypes[0], ctx.outTypes[0], y.data as IntArray, "GlobalAveragePool");
    return [y];
  },
};
