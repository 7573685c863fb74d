/**
 * QuantizeLinear (opsets 10–25): y = saturate(round_half_even(x / y_scale) + y_zero_point), per
 * tensor, per axis (opset 13) or per block (opset 21). Integer targets only; float8/float4 targets
 * are rejected (`saturate` only concerns those, so it is ignored).
 */
import { ONNX_DTYPE, ONNX_DTYPE_UNSUPPORTED, type DType } from "../dtype.js";
import type { Node } from "../graph.js";
import type { Attrs } from "../attrs.js";
import { dtypeFromCode, QUANT_DTYPES, quantizeTensor, quantLayout } from "../kernels/quantize.js";
import { need, opError, type OpDef } from "../op.js";

type Ctx = { node: Node; attrs: Attrs };

/** The output type: y_zero_point's type, else the output_dtype attribute, else uint8. */
function outputType(ctx: Ctx, zeroPoint: DType | undefined): DType {
  const code = ctx.attrs.int("output_dtype", 0);
  const named = code === 0 ? undefined : ONNX_DTYPE[code];
  const expected = `expected one of ${[...QUANT_DTYPES].join(", ")}`;
  if (code !== 0 && named === undefined) {
    throw opError(ctx, `quantization to ${ONNX_DTYPE_UNSUPPORTED[code] ?? `type ${code}`} is not supported; ${expected}`);
  }
  if (zeroPoint && named && named !== zeroPoint) {
    throw opError(ctx, `output_dtype ${named} does not match y_zero_point type ${zeroPoint}`);
  }
  const t = zeroPoint ?? named ?? "uint8";
  if (!QUANT_DTYPES.has(t)) throw opError(ctx, `quantization to ${t} is not supported; ${expected}`);
  return t;
}

export const QuantizeLinear: OpDef = {
  op: "QuantizeLinear",
  inferTypes(ctx) {
    const x = ctx.inputs[0];
    if (!x || !ctx.inputs[1]) throw opError(ctx, "inputs x and y_scale are required");
    return [{ dtype: outputType(ctx, ctx.inputs[2]?.dtype), shape: x.shape }];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    const scale = need(inputs, 1, ctx);
    const zeroPoint = inputs[2];
    const precision = ctx.attrs.int("precision", 0);
    return [
      quantizeTensor(x, scale, zeroPoint, {
        layout: quantLayout(x.shape, scale.shape, ctx.attrs.int("axis", 1), ctx.attrs.int("block_size", 0)),
        dtype: outputType(ctx, zeroPoint?.dtype),
        // ONNX divides in the scale's precision unless the precision attribute says otherwise.
        precision: precision === 0 ? scale.dtype : dtypeFromCode(precision, "precision"),
      }),
    ];
  },
  definedOnCodes: true,
};
