/**
 * AveragePool: N-d average pooling with strides, dilations (opset 19+), pads or auto_pad,
 * ceil_mode and count_include_pad (whether padding counts toward the divisor).
 * Integer semantics: the int32 sum of x − z_x over each window, requantized by s_x/(count·s_y)
 * with the float op's divisor (`avgPoolInt`).
 */
import { isFloat } from "../dtype.js";
import type { TensorType } from "../graph.js";
import { forwardShape, forwardWindow, readPoolAttrs } from "../kernels/conv-geometry.js";
import { finishResult, floatData, floatResult, type IntArray } from "../kernels/gemm.js";
import { avgPool, avgPoolInt } from "../kernels/pool.js";
import { QUANT_DTYPES } from "../kernels/quantize.js";
import { need, opError, type OpDef, type TypeCtx } from "../op.js";
import { numel, tensor, type Tensor } from "../tensor.js";

export const AveragePool: OpDef = {
  op: "AveragePool",

  inferTypes(ctx: TypeCtx): TensorType[] {
    const x = ctx.inputs[0];
    if (!x) throw opError(ctx, "AveragePool needs input X");
    if (!isFloat(x.dtype) && !QUANT_DTYPES.has(x.dtype)) {
      throw opError(ctx, `AveragePool takes float tensors (or quantized codes), got ${x.dtype}`);
    }
    return [{ dtype: x.dtype, shape: x.shape && forwardShape(readPoolAttrs(ctx, x.shape.length), x.shape, x.shape[1]!) }];
  },

  run(inputs, ctx): Tensor[] {
    const x = need(inputs, 0, ctx);
    const win = forwardWindow(readPoolAttrs(ctx, x.shape.length), x.shape.slice(2));
    const shape = [x.shape[0]!, x.shape[1]!, ...win.outShape];
    const planes = x.shape[0]! * x.shape[1]!;
    const y = floatResult(x.dtype, planes * numel(win.outShape));
    avgPool(floatData(x), planes, win, y, ctx.attrs.int("count_include_pad", 0) !== 0);
    return [finishResult(x.dtype, shape, y)];
  },

  runInt(inputs, ctx): Tensor[] {
    const x = need(inputs, 0, ctx);
    const win = forwardWindow(readPoolAttrs(ctx, x.shape.length), x.shape.slice(2));
    const y = tensor(ctx.outTypes[0]!.dtype, [x.shape[0]!, x.shape[1]!, ...win.outShape]);
    const includePad = ctx.attrs.int("count_include_pad", 0) !== 0;
    avgPoolInt(x.data as IntArray, x.shape[0]! * x.shape[1]!, win, includePad, ctx.inTypes[0], ctx.outTypes[0], y.data as IntArray, "AveragePool");
    return [y];
  },
};
