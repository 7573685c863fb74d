/**
 * MaxPool: N-d max pooling with strides, dilations, pads or auto_pad and ceil_mode, on float and
 * 8-bit tensors. The optional Indices output holds the flat index into X (batch and channel
 * included) of each maximum, with spatial axes numbered column-major when storage_order = 1.
 * Quantized: the same max over codes (input and output share one quantization, and the max of
 * codes is the code of the max), with padding as the type's lowest code.
 */
import { intRange, isFloat, type DType } from "../dtype.js";
import type { TensorType } from "../graph.js";
import { forwardShape, forwardWindow, readPoolAttrs } from "../kernels/conv-geometry.js";
import { maxPool, type PoolArray } from "../kernels/pool.js";
import { need, opError, type OpDef, type TypeCtx } from "../op.js";
import { numel, tensor, type Tensor } from "../tensor.js";

/** ONNX's types, plus the code types of quantized graphs. */
const TYPES: ReadonlySet<DType> = new Set<DType>(["float32", "float64", "float16", "bfloat16", "int8", "uint8", "int4", "uint4", "int16", "uint16"]);

export const MaxPool: OpDef = {
  op: "MaxPool",
  quantTransparent: true,

  inferTypes(ctx: TypeCtx): TensorType[] {
    const x = ctx.inputs[0];
    if (!x) throw opError(ctx, "MaxPool needs input X");
    if (!TYPES.has(x.dtype)) throw opError(ctx, `MaxPool takes ${[...TYPES].join(", ")} tensors, got ${x.dtype}`);
    const shape = x.shape && forwardShape(readPoolAttrs(ctx, x.shape.length), x.shape, x.shape[1]!);
    const types: TensorType[] = [{ dtype: x.dtype, shape }, { dtype: "int64", shape }];
    return types.slice(0, Math.max(1, ctx.node.outputs.length));
  },

  run(inputs, ctx): Tensor[] {
    const x = need(inputs, 0, ctx);
    if (!TYPES.has(x.dtype)) throw opError(ctx, `MaxPool takes ${[...TYPES].join(", ")} tensors, got ${x.dtype}`);
    const win = forwardWindow(readPoolAttrs(ctx, x.shape.length), x.shape.slice(2));
    const shape = [x.shape[0]!, x.shape[1]!, ...win.outShape];
    const y = tensor(x.dtype, shape);
    const indices = (ctx.node.outputs[1] ?? "") !== "" ? new BigInt64Array(numel(shape)) : undefined;
    maxPool(x.data as PoolArray, x.shape[0]! * x.shape[1]!, win, y.data as PoolArray, {
      indices,
      columnMajor: ctx.attrs.int("storage_order", 0) === 1,
      empty: isFloat(x.dtype) ? -Infinity : intRange(x.dtype)[0],
    });
    return indices ? [y, tensor("int64", shape, indices)] : [y];
  },
};
