/**
 * QLinearConv (opset 10): ConvInteger's exact int32 accumulators plus the int32 bias B, requantized
 * as ONNX's reference does, y = saturate(round_half_even(acc · (x_scale · w_scale / y_scale)) + y_zero_point),
 * with the multiplier computed in the scales' precision. w's scale and zero point are per tensor
 * or per output channel; x's and y's are per tensor.
 */
import { intRange, isFloat } from "../dtype.js";
import { QUANT_DTYPES, requantizeValue, requantMultiplier, roundTo, type IntArray } from "../kernels/quantize.js";
import { need, opError, type OpDef } from "../op.js";
import { getNumber, numel, shapeStr, tensor, type Tensor } from "../tensor.js";
import { Conv } from "./Conv.js";
import { channelLayout, convAccumulators } from "./ConvInteger.js";
import { checkIntOperand, floatShape } from "./MatMulInteger.js";

type Ctx = Parameters<typeof opError>[0];

function checkScalars(ctx: Ctx, name: string, scale: Tensor, zero: Tensor | undefined): void {
  if (!isFloat(scale.dtype)) throw opError(ctx, `${name}_scale must be a float tensor, got ${scale.dtype}`);
  if (numel(scale.shape) !== 1 || (zero && numel(zero.shape) !== 1)) throw opError(ctx, `${name}_scale and ${name}_zero_point must be scalars`);
}

export const QLinearConv: OpDef = {
  op: "QLinearConv",
  inferTypes(ctx) {
    const [x, , xZero, w, , wZero, , yZero] = ctx.inputs;
    if (!x || !w || !ctx.inputs[1] || !ctx.inputs[4] || !ctx.inputs[6]) throw opError(ctx, "inputs x, x_scale, w, w_scale and y_scale are required");
    checkIntOperand(ctx, "x", x.dtype, xZero?.dtype);
    checkIntOperand(ctx, "w", w.dtype, wZero?.dtype);
    const dtype = yZero?.dtype ?? x.dtype;
    if (!QUANT_DTYPES.has(dtype)) throw opError(ctx, `y must be one of ${[...QUANT_DTYPES].join(", ")}, got ${dtype}`);
    return [{ dtype, shape: floatShape(Conv, ctx, [x, w]) }];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    const xScale = need(inputs, 1, ctx);
    const w = need(inputs, 3, ctx);
    const wScale = need(inputs, 4, ctx);
    const yScale = need(inputs, 6, ctx);
    const [, , xZero, , , wZero, , yZero, bias] = inputs;
    checkIntOperand(ctx, "x", x.dtype, xZero?.dtype);
    checkIntOperand(ctx, "w", w.dtype, wZero?.dtype);
    checkScalars(ctx, "x", xScale, xZero);
    checkScalars(ctx, "y", yScale, yZero);
    if (!isFloat(wScale.dtype)) throw opError(ctx, `w_scale must be a float tensor, got ${wScale.dtype}`);
    channelLayout(ctx, "w_scale", w.shape, wScale.shape);
    if (wZero && numel(wZero.shape) !== 1 && shapeStr(wZero.shape) !== shapeStr(wScale.shape)) {
      throw opError(ctx, `w_zero_point ${shapeStr(wZero.shape)} must be a scalar or have the shape of w_scale ${shapeStr(wScale.shape)}`);
    }
    const dtype = yZero?.dtype ?? x.dtype;
    if (!QUANT_DTYPES.has(dtype)) throw opError(ctx, `y must be one of ${[...QUANT_DTYPES].join(", ")}, got ${dtype}`);

    const acc = convAccumulators(ctx, x, xZero, w, wZero, bias);
    const [n, m] = acc.shape as [number, number];
    const positions = numel(acc.shape.slice(2));
    const round = roundTo(xScale.dtype);
    const sx = getNumber(xScale, 0);
    const sy = getNumber(yScale, 0);
    const sw = wScale.data as Float32Array | Float64Array;
    const multiplier = new Float64Array(m);
    for (let c = 0; c < m; c++) multiplier[c] = requantMultiplier(sx, sw[sw.length === 1 ? 0 : c]!, sy, round);
    const zy = yZero ? getNumber(yZero, 0) : 0;
    const [lo, hi] = intRange(dtype);
    const out = tensor(dtype, acc.shape);
    const y = out.data as IntArray;
    const accs = acc.data as Int32Array;
    for (let i = 0, c = 0; i < n * m; i++, c = (c + 1) % m) {
      const mc = multiplier[c]!;
      for (let p = i * positions; p < (i + 1) * positions; p++) y[p] = requantizeValue(accs[p]!, mc, zy, lo, hi);
    }
    return [out];
  },
  definedOnCodes: true,
};
