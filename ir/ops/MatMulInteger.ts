/**
 * MatMulInteger (opset 10): numpy matmul of integers, Y = (A − a_zero_point)·(B − b_zero_point) in
 * int32. Zero points are per tensor, or per row of A / per column of B: a vector, or
 * [...batch, M, 1] / [...batch, 1, N] matching the operand's batch dims.
 *
 * The centered operands go through the float MatMul in float64, so batching and broadcasting are
 * MatMul's. That is exact: centered values of ≤16-bit types are below 2^16 in magnitude, so every
 * partial sum stays below 2^53 for reductions shorter than 2^21, and converting the sums to int32
 * wraps them modulo 2^32 exactly as int32 accumulation does.
 */
import { bitWidth, isInteger, type DType } from "../dtype.js";
import type { Dim, TensorType } from "../graph.js";
import { blockedLayout, centered, perAxisLayout, perTensorLayout, type ParamLayout } from "../kernels/quantize.js";
import { need, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { numel, shapeStr, tensor, type Tensor } from "../tensor.js";
import { MatMul } from "./MatMul.js";

type Ctx = Parameters<typeof opError>[0];

/** Checks an integer operand and its zero point's type: integers of at most 16 bits, which the float64 paths multiply exactly. */
export function checkIntOperand(ctx: Ctx, name: string, d: DType, zeroPoint?: DType): void {
  if (!isInteger(d) || bitWidth(d) > 16) {
    throw opError(ctx, `${name} must be an integer type of at most 16 bits (int8, uint8, …), got ${d}`);
  }
  if (zeroPoint !== undefined && zeroPoint !== d) throw opError(ctx, `${name}'s zero point must be ${d} like ${name}, got ${zeroPoint}`);
}

/**
 * Which scale or zero point each element of a matmul operand uses: one for the tensor, or one per
 * row of A (`side` "row") / per column of B ("column").
 */
export function matmulParamLayout(ctx: Ctx, name: string, operand: readonly number[], param: readonly number[], side: "row" | "column"): ParamLayout {
  if (numel(param) === 1) return perTensorLayout(numel(operand));
  const r = operand.length;
  const lane = side === "row" ? r - 2 : r - 1;
  const depth = side === "row" ? r - 1 : r - 2;
  if (r >= 2) {
    if (param.length === 1 && param[0] === operand[lane]) return perAxisLayout(operand, lane);
    const full = operand.map((d, i) => (i === depth ? 1 : d));
    if (full.length === param.length && full.every((d, i) => d === param[i])) return blockedLayout(operand, depth, operand[depth]!);
  }
  const forms = r >= 2 ? ` or one per ${side}: [${operand[lane]}] or ${shapeStr(operand.map((d, i) => (i === depth ? 1 : d)))}` : "";
  throw opError(ctx, `${name} must be a scalar${forms}; got ${shapeStr(param)} for an operand of shape ${shapeStr(operand)}`);
}

/**
 * The output shape `def`'s type rule gives for float64 inputs of these shapes: an integer matmul or
 * convolution has the shape of its float counterpart.
 */
export function floatShape(def: OpDef, ctx: TypeCtx, inputs: readonly TensorType[]): readonly Dim[] | null {
  const floatCtx: TypeCtx = {
    node: ctx.node,
    attrs: ctx.attrs,
    opset: ctx.opset,
    inputs: inputs.map((t) => ({ dtype: "float64", shape: t.shape })),
    consts: [],
    inferSubgraph: (g) => ctx.inferSubgraph(g),
  };
  return def.inferTypes(floatCtx)[0]!.shape;
}

/** The int32 accumulators Σ (a − a_zero)·(b − b_zero) of A·B, shaped as MatMul shapes the product. */
export function matmulAccumulators(ctx: EvalCtx, a: Tensor, aZero: Tensor | undefined, b: Tensor, bZero: Tensor | undefined): Tensor {
  const centeredOperand = (t: Tensor, zero: Tensor | undefined, name: string, side: "row" | "column"): Tensor => {
    const layout = zero ? matmulParamLayout(ctx, name, t.shape, zero.shape, side) : perTensorLayout(numel(t.shape));
    return tensor("float64", t.shape, centered(t, zero, layout));
  };
  const [y] = MatMul.run([centeredOperand(a, aZero, "a_zero_point", "row"), centeredOperand(b, bZero, "b_zero_point", "column")], ctx);
  return tensor("int32", y!.shape, Int32Array.from(y!.data as Float64Array));
}

export const MatMulInteger: OpDef = {
  op: "MatMulInteger",
  inferTypes(ctx) {
    const [a, b, aZero, bZero] = ctx.inputs;
    if (!a || !b) throw opError(ctx, "inputs A and B are required");
    checkIntOperand(ctx, "A", a.dtype, aZero?.dtype);
    checkIntOperand(ctx, "B", b.dtype, bZero?.dtype);
    return [{ dtype: "int32", shape: floatShape(MatMul, ctx, [a, b]) }];
  },
  run(inputs, ctx) {
    const a = need(inputs, 0, ctx);
    const b = need(inputs, 1, ctx);
    const [, , aZero, bZero] = inputs;
    checkIntOperand(ctx, "A", a.dtype, aZero?.dtype);
    checkIntOperand(ctx, "B", b.dtype, bZero?.dtype);
    return [matmulAccumulators(ctx, a, aZero, b, bZero)];
  },
  definedOnCodes: true,
};
