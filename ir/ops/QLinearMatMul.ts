/**
 * QLinearMatMul (opsets 10, 21): MatMulInteger's exact int32 accumulators, requantized as ONNX's
 * reference does, y = saturate(round_half_even(acc · (a_scale · b_scale / y_scale)) + y_zero_point),
 * with the multiplier computed in the scales' precision (float16 scales give float16 multipliers,
 * and conformance outputs that differ from float32 ones). a's scale and zero point are per tensor
 * or per row, b's per tensor or per column, y's per tensor.
 */
import { intRange, isFloat, type DType } from "../dtype.js";
import { broadcastPlan } from "../kernels/broadcast.js";
import { QUANT_DTYPES, requantizeValue, requantMultiplier, roundTo, type IntArray } from "../kernels/quantize.js";
import { need, opError, type OpDef } from "../op.js";
import { getNumber, numel, shapeStr, tensor, type Tensor } from "../tensor.js";
import { MatMul } from "./MatMul.js";
import { checkIntOperand, floatShape, matmulAccumulators, matmulParamLayout } from "./MatMulInteger.js";

type Ctx = Parameters<typeof opError>[0];

function outputType(ctx: Ctx, a: DType, yZero: DType | undefined): DType {
  const t = yZero ?? a;
  if (!QUANT_DTYPES.has(t)) throw opError(ctx, `y must be one of ${[...QUANT_DTYPES].join(", ")}, got ${t}`);
  return t;
}

/** Checks one operand's scale and zero point: float scale, zero point of the scale's shape, and a legal layout. */
function checkParams(ctx: Ctx, name: string, operand: Tensor, scale: Tensor, zero: Tensor | undefined, side: "row" | "column"): void {
  if (!isFloat(scale.dtype)) throw opError(ctx, `${name}_scale must be a float tensor, got ${scale.dtype}`);
  if (zero && (numel(zero.shape) !== numel(scale.shape) || (numel(scale.shape) > 1 && shapeStr(zero.shape) !== shapeStr(scale.shape)))) {
    throw opError(ctx, `${name}_zero_point ${shapeStr(zero.shape)} must have the shape of ${name}_scale ${shapeStr(scale.shape)}`);
  }
  matmulParamLayout(ctx, `${name}_scale`, operand.shape, scale.shape, side);
}

export const QLinearMatMul: OpDef = {
  op: "QLinearMatMul",
  inferTypes(ctx) {
    const [a, , aZero, b, , bZero, , yZero] = ctx.inputs;
    if (!a || !b || !ctx.inputs[1] || !ctx.inputs[4] || !ctx.inputs[6]) throw opError(ctx, "inputs a, a_scale, b, b_scale and y_scale are required");
    checkIntOperand(ctx, "a", a.dtype, aZero?.dtype);
    checkIntOperand(ctx, "b", b.dtype, bZero?.dtype);
    return [{ dtype: outputType(ctx, a.dtype, yZero?.dtype), shape: floatShape(MatMul, ctx, [a, b]) }];
  },
  run(inputs, ctx) {
    const a = need(inputs, 0, ctx);
    const aScale = need(inputs, 1, ctx);
    const b = need(inputs, 3, ctx);
    const bScale = need(inputs, 4, ctx);
    const yScale = need(inputs, 6, ctx);
    const [, , aZero, , , bZero, , yZero] = inputs;
    checkIntOperand(ctx, "a", a.dtype, aZero?.dtype);
    checkIntOperand(ctx, "b", b.dtype, bZero?.dtype);
    checkParams(ctx, "a", a, aScale, aZero, "row");
    checkParams(ctx, "b", b, bScale, bZero, "column");
    if (numel(yScale.shape) !== 1 || (yZero && numel(yZero.shape) !== 1)) throw opError(ctx, "y_scale and y_zero_point must be scalars");
    const dtype = outputType(ctx, a.dtype, yZero?.dtype);

    const acc = matmulAccumulators(ctx, a, aZero, b, bZero);
    // Index the scales on the product with the axes of 1-D operands restored, a's per-row vector as a column.
    const full = [...acc.shape];
    if (b.shape.length === 1) full.push(1);
    if (a.shape.length === 1) full.splice(full.length - 1, 0, 1);
    const aShape = aScale.shape.length === 1 && numel(aScale.shape) > 1 ? [aScale.shape[0]!, 1] : aScale.shape;
    const [ai, bi] = elementIndices([aShape, bScale.shape], full);
    const sa = aScale.data as Float32Array | Float64Array;
    const sb = bScale.data as Float32Array | Float64Array;
    const sy = getNumber(yScale, 0);
    const zy = yZero ? getNumber(yZero, 0) : 0;
    const round = roundTo(aScale.dtype);
    const [lo, hi] = intRange(dtype);
    const out = tensor(dtype, acc.shape);
    const y = out.data as IntArray;
    const accs = acc.data as Int32Array;
    for (let i = 0; i < y.length; i++) {
      y[i] = requantizeValue(accs[i]!, requantMultiplier(sa[ai[i]!]!, sb[bi[i]!]!, sy, round), zy, lo, hi);
    }
    return [out];
  },
  definedOnCodes: true,
};

/** For each element of `out`, the index into each operand broadcast to it. */
function elementIndices(shapes: readonly (readonly number[])[], out: readonly number[]): Int32Array[] {
  const plan = broadcastPlan(shapes, out);
  const n = numel(out);
  return shapes.map((_, k) => {
    const idx = new Int32Array(n);
    const offs = plan.offsets[k]!;
    const step = plan.steps[k]!;
    for (let r = 0, i = 0; r < offs.length; r++) {
      for (let j = 0; j < plan.inner; j++, i++) idx[i] = offs[r]! + j * step;
    }
    return idx;
  });
}
