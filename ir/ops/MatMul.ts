/**
 * MatMul: numpy matmul. A 1-D A is a row vector and a 1-D B a column vector (their unit axis is
 * dropped from the result); leading batch axes broadcast. When B has no batch (a layer's weight),
 * A's batch folds into the rows of one large GEMM.
 *
 * Integer semantics (docs/numerics-linear.md): acc = (A − z_a)·(B − z_b) in int32, requantized per
 * column. B is a weight (per channel along its last axis, zero point 0) or an activation (per
 * tensor, as in attention's QKᵀ and PV), which is the same computation with one channel.
 */
import type { DType } from "../dtype.js";
import type { Dim, TensorType } from "../graph.js";
import { broadcastDims, broadcastShapes, broadcastStrides } from "../kernels/broadcast.js";
import { finishResult, floatData, floatProduct, floatResult, intProduct, view, type IntArray, type NumArray, type Product } from "../kernels/gemm.js";
import { QUANT_DTYPES } from "../kernels/quantize.js";
import { igemmWasm } from "../kernels/wasm/gemm.js";
import { productParams, requantizeChannels } from "../kernels/requant.js";
import { need, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { numel, tensor, type Tensor } from "../tensor.js";

/** ONNX's types, plus the code types of quantized graphs. */
const TYPES: ReadonlySet<DType> = new Set<DType>(["float32", "float64", "float16", "bfloat16", "int32", "int64", "uint32", "uint64", ...QUANT_DTYPES]);

type Ctx = Parameters<typeof opError>[0];

/** The matmul view of A and B: batch shapes, M, K, N, and the result's shape. */
interface Plan<D> {
  aBatch: D[];
  bBatch: D[];
  m: D;
  k: D;
  kb: D;
  n: D;
  /** Result dims after the batch: [M, N] minus the axes of 1-D operands. */
  tail: D[];
}

function plan<D extends Dim>(ctx: Ctx, a: readonly D[], b: readonly D[]): Plan<D> {
  if (a.length === 0 || b.length === 0) throw opError(ctx, "MatMul operands must have rank ≥ 1");
  const one = 1 as D;
  const aMat = a.length === 1 ? [one, a[0]!] : a.slice(-2);
  const bMat = b.length === 1 ? [b[0]!, one] : b.slice(-2);
  const tail: D[] = [];
  if (a.length > 1) tail.push(aMat[0]!);
  if (b.length > 1) tail.push(bMat[1]!);
  return { aBatch: a.slice(0, -2), bBatch: b.slice(0, -2), m: aMat[0]!, k: aMat[1]!, kb: bMat[0]!, n: bMat[1]!, tail };
}

export const MatMul: OpDef = {
  op: "MatMul",

  inferTypes(ctx: TypeCtx): TensorType[] {
    const [a, b] = ctx.inputs;
    if (!a || !b) throw opError(ctx, "MatMul needs inputs A and B");
    if (!TYPES.has(a.dtype)) throw opError(ctx, `MatMul takes ${[...TYPES].join(", ")} tensors, got ${a.dtype}`);
    if (!a.shape || !b.shape) return [{ dtype: a.dtype, shape: null }];
    const p = plan(ctx, a.shape, b.shape);
    if (typeof p.k === "number" && typeof p.kb === "number" && p.k !== p.kb) {
      throw opError(ctx, `A has ${p.k} columns but B has ${p.kb} rows`);
    }
    const batch = broadcastDims([p.aBatch, p.bBatch]);
    if (batch === undefined) throw opError(ctx, `batch axes [${p.aBatch.join(", ")}] and [${p.bBatch.join(", ")}] do not broadcast`);
    return [{ dtype: a.dtype, shape: batch && [...batch, ...p.tail] }];
  },

  run(inputs, ctx): Tensor[] {
    const a = need(inputs, 0, ctx);
    const b = need(inputs, 1, ctx);
    const { p, batch } = shapes(ctx, a.shape, b.shape);
    const y = floatResult(a.dtype, numel(batch) * p.m * p.n);
    matmul(floatData(a), floatData(b), y, p, batch, floatProduct());
    return [finishResult(a.dtype, [...batch, ...p.tail], y)];
  },

  runInt(inputs, ctx): Tensor[] {
    const a = need(inputs, 0, ctx);
    const b = need(inputs, 1, ctx);
    const { p, batch } = shapes(ctx, a.shape, b.shape);
    const q = productParams(ctx.inTypes[0], ctx.inTypes[1], ctx.outTypes[0], b.shape.length - 1, p.n, "MatMul");
    const acc = new Int32Array(numel(batch) * p.m * p.n);
    matmul(a.data as IntArray, b.data as IntArray, acc, p, batch, intProduct({ aZero: q.aZero, bZero: q.bZero }, igemmWasm));
    const y = tensor(ctx.outTypes[0]!.dtype, [...batch, ...p.tail]);
    requantizeChannels(acc, y.data as IntArray, q.requant, 1);
    return [y];
  },
};

function shapes(ctx: EvalCtx, a: readonly number[], b: readonly number[]): { p: Plan<number>; batch: number[] } {
  const p = plan(ctx, a, b);
  if (p.k !== p.kb) throw opError(ctx, `A is […, ${p.m}, ${p.k}] but B is […, ${p.kb}, ${p.n}]`);
  const batch = broadcastShapes([p.aBatch, p.bBatch]);
  if (!batch) throw opError(ctx, `batch axes [${p.aBatch.join(", ")}] and [${p.bBatch.join(", ")}] do not broadcast`);
  return { p, batch };
}

/** y = A·B over the broadcast batch, for the float op or the integer one. */
function matmul(ad: NumArray, bd: NumArray, y: NumArray, p: Plan<number>, batch: readonly number[], product: Product): void {
  const { m, k, n } = p;
  const count = numel(batch);
  if (numel(p.bBatch) === 1 && numel(p.aBatch) === count) {
    product(count * m, n, k, view(ad, 0, k), view(bd, 0, n), view(y, 0, n));
    return;
  }
  const as = broadcastStrides(p.aBatch, batch);
  const bs = broadcastStrides(p.bBatch, batch);
  const idx = new Int32Array(batch.length);
  for (let t = 0; t < count; t++) {
    let aOff = 0;
    let bOff = 0;
    for (let d = 0; d < batch.length; d++) {
      aOff += idx[d]! * as[d]!;
      bOff += idx[d]! * bs[d]!;
    }
    product(m, n, k, view(ad, aOff * m * k, k), view(bd, bOff * k * n, n), view(y, t * m * n, n));
    for (let d = batch.length - 1; d >= 0 && ++idx[d]! === batch[d]!; d--) idx[d] = 0;
  }
}
