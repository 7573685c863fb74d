/**
 * DequantizeLinear (opsets 10–25): y = (x − x_zero_point) · x_scale, per tensor, per axis
 * (opset 13) or per block (opset 21), from any integer type including int32 (whose zero point is
 * 0) and unpacked int4/uint4. The output has the scale's type unless output_dtype (opset 23) names one.
 */
import type { DType } from "../dtype.js";
import type { Node } from "../graph.js";
import type { Attrs } from "../attrs.js";
import { dequantizeTensor, dtypeFromCode, quantLayout } from "../kernels/quantize.js";
import { need, opError, type OpDef } from "../op.js";

const FLOAT_OUT: ReadonlySet<DType> = new Set<DType>(["float32", "float16", "bfloat16"]);

function outputType(ctx: { node: Node; attrs: Attrs }, scale: DType): DType {
  const code = ctx.attrs.int("output_dtype", 0);
  const t = code === 0 ? scale : dtypeFromCode(code, "output_dtype");
  if (!FLOAT_OUT.has(t)) throw opError(ctx, `dequantized output must be float32, float16 or bfloat16, got ${t}`);
  return t;
}

function checkInput(ctx: { node: Node }, x: DType, zeroPoint: DType | undefined): void {
  if (zeroPoint && zeroPoint !== x) throw opError(ctx, `x_zero_point must have x's type ${x}, got ${zeroPoint}`);
}

export const DequantizeLinear: OpDef = {
  op: "DequantizeLinear",
  inferTypes(ctx) {
    const [x, scale, zeroPoint] = ctx.inputs;
    if (!x || !scale) throw opError(ctx, "inputs x and x_scale are required");
    checkInput(ctx, x.dtype, zeroPoint?.dtype);
    return [{ dtype: outputType(ctx, scale.dtype), shape: x.shape }];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    const scale = need(inputs, 1, ctx);
    const zeroPoint = inputs[2];
    checkInput(ctx, x.dtype, zeroPoint?.dtype);
    const layout = quantLayout(x.shape, scale.shape, ctx.attrs.int("axis", 1), ctx.attrs.int("block_size", 0));
    return [dequantizeTensor(x, scale, zeroPoint, layout, outputType(ctx, scale.dtype))];
  },
  definedOnCodes: true,
};
