/**
 * Gemm: Y = alpha·A′·B′ + beta·C with A′ = transA ? Aᵀ : A, B′ likewise, and C optional (opset 11+)
 * and unidirectionally broadcast to [M, N]. C is written into Y first so the product accumulates
 * onto it in one pass.
 */
import type { DType } from "../dtype.js";
import type { Dim, TensorType } from "../graph.js";
import { broadcastDims, broadcastStrides, broadcastsTo } from "../kernels/broadcast.js";
import { finishResult, floatData, floatResult, sgemm, view } from "../kernels/gemm.js";
import { need, opError, type OpDef, type TypeCtx } from "../op.js";
import type { Tensor } from "../tensor.js";

const TYPES: ReadonlySet<DType> = new Set<DType>(["float32", "float64", "float16", "bfloat16", "int32", "int64", "uint32", "uint64"]);

function checkType(ctx: Parameters<typeof opError>[0], dtype: DType): void {
  if (!TYPES.has(dtype)) throw opError(ctx, `Gemm takes ${[...TYPES].join(", ")} tensors, got ${dtype}`);
}

export const Gemm: OpDef = {
  op: "Gemm",

  inferTypes(ctx: TypeCtx): TensorType[] {
    const [a, b, c] = ctx.inputs;
    if (!a || !b) throw opError(ctx, "Gemm needs inputs A and B");
    checkType(ctx, a.dtype);
    if (!a.shape || !b.shape) return [{ dtype: a.dtype, shape: null }];
    const [m, ka] = operandDims(ctx, a.shape, ctx.attrs.int("transA", 0) !== 0, "A");
    const [kb, n] = operandDims(ctx, b.shape, ctx.attrs.int("transB", 0) !== 0, "B");
    if (typeof ka === "number" && typeof kb === "number" && ka !== kb) {
      throw opError(ctx, `A′ has ${ka} columns but B′ has ${kb} rows`);
    }
    if (c?.shape && broadcastDims([[m, n], c.shape]) === undefined) {
      throw opError(ctx, `C of shape [${c.shape.join(", ")}] does not broadcast to [${m}, ${n}]`);
    }
    return [{ dtype: a.dtype, shape: [m, n] }];
  },

  run(inputs, ctx): Tensor[] {
    const a = need(inputs, 0, ctx);
    const b = need(inputs, 1, ctx);
    const c = inputs[2];
    const transA = ctx.attrs.int("transA", 0) !== 0;
    const transB = ctx.attrs.int("transB", 0) !== 0;
    const alpha = ctx.attrs.float("alpha", 1);
    const beta = ctx.attrs.float("beta", 1);
    const [m, k] = operandDims(ctx, a.shape, transA, "A") as [number, number];
    const [kb, n] = operandDims(ctx, b.shape, transB, "B") as [number, number];
    if (k !== kb) throw opError(ctx, `A′ is [${m}, ${k}] but B′ is [${kb}, ${n}]`);
    const y = floatResult(a.dtype, m * n);
    const withC = c !== undefined && beta !== 0;
    if (withC) {
      if (!broadcastsTo(c.shape, [m, n])) throw opError(ctx, `C of shape [${c.shape.join(", ")}] does not broadcast to [${m}, ${n}]`);
      const [rs, cs] = broadcastStrides(c.shape, [m, n]) as [number, number];
      const cd = floatData(c);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) y[i * n + j] = beta * cd[i * rs + j * cs]!;
    }
    sgemm(m, n, k, view(floatData(a), 0, a.shape[1]!, transA), view(floatData(b), 0, b.shape[1]!, transB), view(y, 0, n), {
      alpha,
      accumulate: withC,
    });
    return [finishResult(a.dtype, [m, n], y)];
  },
};

/** Rows and columns of A′ (or B′): the operand's dims, swapped when transposed. */
function operandDims(ctx: Parameters<typeof opError>[0], shape: readonly Dim[], trans: boolean, what: string): [Dim, Dim] {
  if (shape.length !== 2) throw opError(ctx, `${what} must be a matrix, got rank ${shape.length}`);
  return trans ? [shape[1]!, shape[0]!] : [shape[0]!, shape[1]!];
}
