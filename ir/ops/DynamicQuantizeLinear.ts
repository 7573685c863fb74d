/**
 * DynamicQuantizeLinear (opset 11): uint8 quantization with parameters from the data.
 * The range [min(x), max(x)] is widened to include 0 so that 0 stays exact; scale = range / 255
 * (1 when x is all zeros), zero point = round_half_even(clamp(−min / scale, 0, 255)). Every step is
 * float32 arithmetic, as in ONNX's function body. NaN elements do not widen the range.
 */
import { perTensorLayout, quantizeTensor } from "../kernels/quantize.js";
import { roundHalfEven } from "../numeric.js";
import { need, opError, type OpDef } from "../op.js";
import { numel, scalar } from "../tensor.js";

export const DynamicQuantizeLinear: OpDef = {
  op: "DynamicQuantizeLinear",
  inferTypes(ctx) {
    const x = ctx.inputs[0];
    if (!x) throw opError(ctx, "input x is required");
    if (x.dtype !== "float32") throw opError(ctx, `x must be float32, got ${x.dtype}`);
    return [
      { dtype: "uint8", shape: x.shape },
      { dtype: "float32", shape: [] },
      { dtype: "uint8", shape: [] },
    ];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    if (x.dtype !== "float32") throw opError(ctx, `x must be float32, got ${x.dtype}`);
    const xs = x.data as Float32Array;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < xs.length; i++) {
      const v = xs[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const s = hi === lo ? 1 : Math.fround(Math.fround(hi - lo) / 255);
    const zp = roundHalfEven(Math.min(255, Math.max(0, -Math.fround(lo / s))));
    const scale = scalar("float32", s);
    const zeroPoint = scalar("uint8", zp);
    const y = quantizeTensor(x, scale, zeroPoint, { layout: perTensorLayout(numel(x.shape)), dtype: "uint8", precision: "float32" });
    return [y, scale, zeroPoint];
  },
  definedOnCodes: true,
};
