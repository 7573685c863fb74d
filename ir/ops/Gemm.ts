/**
 * Gemm: Y = alpha·A′·B′ + beta·C with A′ = transA ? Aᵀ : A, B′ likewise, and C optional (opset 11+)
 * and unidirectionally broadcast to [M, N]. C is written into Y first so the product accumulates
 * onto it in one pass.
 *
 * Integer semantics (docs/numerics-linear.md): acc = C + (A′ − z_a)·(B′ − z_b) in int32 with C the
 * int32 bias, requantized per column (B′'s output channels). The quantizer folds alpha into B and
 * beta into C, so both must be 1 here.
 */
import type { DType } from "../dtype.js";
import type { Dim, TensorType } from "../graph.js";
import { broadcastDims, broadcastStrides, broadcastsTo } from "../kernels/broadcast.js";
import { finishResult, floatData, floatResult, sgemm, view, type IntArray, type NumArray } from "../kernels/gemm.js";
import { QUANT_DTYPES } from "../kernels/quantize.js";
import { igemmWasm } from "../kernels/wasm/gemm.js";
import { productParams, requantizeChannels } from "../kernels/requant.js";
import { need, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { tensor, type Tensor } from "../tensor.js";

/** ONNX's types, plus the code types of quantized graphs. */
const TYPES: ReadonlySet<DType> = new Set<DType>(["float32", "float64", "float16", "bfloat16", "int32", "int64", "uint32", "uint64", ...QUANT_DTYPES]);

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
    const { a, b, c, transA, transB, m, k, n } = operands(inputs, ctx);
    const alpha = ctx.attrs.float("alpha", 1);
    const beta = ctx.attrs.float("beta", 1);
    const y = floatResult(a.dtype, m * n);
    const withC = c !== undefined && beta !== 0;
    if (withC) fillC(ctx, floatData(c), c.shape, beta, m, n, y);
    sgemm(m, n, k, view(floatData(a), 0, a.shape[1]!, transA), view(floatData(b), 0, b.shape[1]!, transB), view(y, 0, n), {
      alpha,
      accumulate: withC,
    });
    return [finishResult(a.dtype, [m, n], y)];
  },

  runInt(inputs, ctx): Tensor[] {
    const { a, b, c, transA, transB, m, k, n } = operands(inputs, ctx);
    if (ctx.attrs.float("alpha", 1) !== 1 || ctx.attrs.float("beta", 1) !== 1) {
      throw opError(ctx, "a quantized Gemm must have alpha = beta = 1 (the quantizer folds them into B and C)", "HW4072");
    }
    if (c && c.dtype !== "int32") throw opError(ctx, `a quantized Gemm's C must be int32 codes (the bias), got ${c.dtype}`, "HW4071");
    const p = productParams(ctx.inTypes[0], ctx.inTypes[1], ctx.outTypes[0], transB ? 0 : 1, n, "Gemm");
    const acc = new Int32Array(m * n);
    if (c) fillC(ctx, c.data as Int32Array, c.shape, 1, m, n, acc);
    igemmWasm(m, n, k, view(a.data as IntArray, 0, a.shape[1]!, transA), view(b.data as IntArray, 0, b.shape[1]!, transB), view(acc, 0, n), {
      aZero: p.aZero,
      bZero: p.bZero,
      accumulate: c !== undefined,
    });
    const y = tensor(ctx.outTypes[0]!.dtype, [m, n]);
    requantizeChannels(acc, y.data as IntArray, p.requant, 1);
    return [y];
  },
};

function operands(inputs: readonly (Tensor | undefined)[], ctx: EvalCtx) {
  const a = need(inputs, 0, ctx);
  const b = need(inputs, 1, ctx);
  const transA = ctx.attrs.int("transA", 0) !== 0;
  const transB = ctx.attrs.int("transB", 0) !== 0;
  const [m, k] = operandDims(ctx, a.shape, transA, "A") as [number, number];
  const [kb, n] = operandDims(ctx, b.shape, transB, "B") as [number, number];
  if (k !== kb) throw opError(ctx, `A′ is [${m}, ${k}] but B′ is [${kb}, ${n}]`);
  return { a, b, c: inputs[2], transA, transB, m, k, n };
}

/** y[i, j] = beta·C[i, j] with C broadcast to [m, n]. */
function fillC(ctx: EvalCtx, cd: ArrayLike<number>, shape: readonly number[], beta: number, m: number, n: number, y: NumArray): void {
  if (!broadcastsTo(shape, [m, n])) throw opError(ctx, `C of shape [${shape.join(", ")}] does not broadcast to [${m}, ${n}]`);
  const [rs, cs] = broadcastStrides(shape, [m, n]) as [number, number];
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) y[i * n + j] = beta * cd[i * rs + j * cs]!;
}

/** Rows and columns of A′ (or B′): the operand's dims, swapped when transposed. */
function operandDims(ctx: Parameters<typeof opError>[0], shape: readonly Dim[], trans: boolean, what: string): [Dim, Dim] {
  if (shape.length !== 2) throw opError(ctx, `${what} must be a matrix, got rank ${shape.length}`);
  return trans ? [shape[1]!, shape[0]!] : [shape[0]!, shape[1]!];
}
