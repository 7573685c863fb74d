/**
 * Attention (opsets 23/24): inputs Q, K, V, attn_mask, past_key, past_value, nonpad_kv_seqlen;
 * outputs Y, present_key, present_value, qk_matmul_output. 3-D operands [B, S, H·D] need
 * q_num_heads / kv_num_heads; 4-D ones are [B, H, S, D]. The caches are always 4-D.
 */
import { isFloat } from "../dtype.js";
import type { Dim, TensorType } from "../graph.js";
import { attention, concatCache, type Bias, type HeadLayout } from "../kernels/attention.js";
import { broadcastStrides } from "../kernels/broadcast.js";
import { finishResult, floatData, floatResult } from "../kernels/gemm.js";
import { need, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { numel, toFloat64, toNumbers, type Tensor } from "../tensor.js";

type Ctx = TypeCtx | EvalCtx;

/** Heads of a 3-D operand from its attribute; 4-D operands carry them in dim 1. */
function headsOf(ctx: Ctx, dims: readonly Dim[], attr: string): Dim {
  if (dims.length === 4) return dims[1]!;
  if (dims.length !== 3) throw opError(ctx, `Q, K and V must be 3-D or 4-D, got rank ${dims.length}`);
  const n = ctx.attrs.optInt(attr);
  if (n === undefined || n <= 0) throw opError(ctx, `3-D inputs need a positive ${attr} attribute`);
  return n;
}

/** [batch, heads, seq, head_size] of an operand. */
function geometry(ctx: Ctx, dims: readonly Dim[], attr: string): [Dim, Dim, Dim, Dim] {
  const heads = headsOf(ctx, dims, attr);
  if (dims.length === 4) return [dims[0]!, heads, dims[2]!, dims[3]!];
  const hidden = dims[2]!;
  if (typeof hidden === "number" && typeof heads === "number" && hidden % heads !== 0) {
    throw opError(ctx, `hidden size ${hidden} is not a multiple of ${attr} ${heads}`);
  }
  return [dims[0]!, heads, dims[1]!, typeof hidden === "number" ? hidden / (heads as number) : "?"];
}

const add = (a: Dim | undefined, b: Dim): Dim => (typeof a === "number" && typeof b === "number" ? a + b : "?");

export const Attention: OpDef = {
  op: "Attention",
  inferTypes(ctx) {
    const [q, k, v] = [0, 1, 2].map((i) => {
      const t = ctx.inputs[i];
      if (!t) throw opError(ctx, `input ${i} is required`);
      return t;
    }) as [TensorType, TensorType, TensorType];
    if (!isFloat(q.dtype)) throw opError(ctx, `expects float Q, got ${q.dtype}`);
    const out = (shape: Dim[] | null): TensorType => ({ dtype: q.dtype, shape });
    if (!q.shape || !k.shape || !v.shape) return [out(null), out(null), out(null), out(null)];
    const [b, hq, sq] = geometry(ctx, q.shape, "q_num_heads");
    const [, hkv, skv, dk] = geometry(ctx, k.shape, "kv_num_heads");
    const [, , , dv] = geometry(ctx, v.shape, "kv_num_heads");
    if (typeof hq === "number" && typeof hkv === "number" && hq % hkv !== 0) {
      throw opError(ctx, `q_num_heads ${hq} is not a multiple of kv_num_heads ${hkv}`);
    }
    const past = ctx.inputs[4]?.shape;
    const total = past ? add(past[2], skv) : skv;
    const y = q.shape.length === 3 ? [b, sq, typeof hq === "number" && typeof dv === "number" ? hq * dv : "?"] : [b, hq, sq, dv];
    return [out(y), out([b, hkv, total, dk]), out([b, hkv, total, dv]), out([b, hq, sq, total])];
  },
  run(inputs, ctx) {
    const [q, k, v] = [0, 1, 2].map((i) => need(inputs, i, ctx)) as [Tensor, Tensor, Tensor];
    const [mask, pastK, pastV, nonpad] = [3, 4, 5, 6].map((i) => inputs[i]);
    const Q = layout(ctx, q, "q_num_heads");
    const K = layout(ctx, k, "kv_num_heads");
    const V = layout(ctx, v, "kv_num_heads");
    if (Q.heads % K.heads !== 0 || K.heads !== V.heads) {
      throw opError(ctx, `q heads ${Q.heads} must be a multiple of kv heads ${K.heads} (K and V alike, V has ${V.heads})`, "HW3020");
    }
    checkOperands(ctx, Q, K, V, pastK, pastV);
    const pastLen = pastK ? pastK.shape[2]! : 0;
    const total = pastLen + K.seq;
    const dtype = q.dtype;
    const presentK = floatResult(dtype, Q.batch * K.heads * total * K.size);
    const presentV = floatResult(dtype, Q.batch * K.heads * total * V.size);
    concatCache(pastK && floatData(pastK), pastLen, K, presentK);
    concatCache(pastV && floatData(pastV), pastLen, V, presentV);

    const nonpadLens = nonpad ? toNumbers(nonpad) : undefined;
    const bias: Bias = {
      mask: mask ? maskView(mask, [Q.batch, Q.heads, Q.seq, total]) : undefined,
      causal: ctx.attrs.int("is_causal", 0) !== 0,
      // The causal frontier sits after the keys preceding this query block (bottom-right aligned).
      offset: pastK || !nonpadLens ? () => pastLen : (b) => nonpadLens[b]! - Q.seq,
      valid: nonpadLens && ((b) => nonpadLens[b]!),
    };
    const qkMode = ctx.node.outputs.length > 3 && ctx.node.outputs[3] ? ctx.attrs.int("qk_matmul_output_mode", 0) : -1;
    if (qkMode > 3) throw opError(ctx, `qk_matmul_output_mode ${qkMode} is not one of 0..3`);
    const yShape = Q.packed ? [Q.batch, Q.seq, Q.heads * V.size] : [Q.batch, Q.heads, Q.seq, V.size];
    const y: HeadLayout = { data: floatResult(dtype, Q.batch * Q.heads * Q.seq * V.size), batch: Q.batch, heads: Q.heads, seq: Q.seq, size: V.size, packed: Q.packed };
    const qkShape = [Q.batch, Q.heads, Q.seq, total];
    const qk = qkMode >= 0 ? floatResult(dtype, numel(qkShape)) : undefined;
    const scale = ctx.attrs.optFloat("scale") ?? 1 / Math.sqrt(Q.size);
    attention(Q, presentK, presentV, K.heads, total, V.size, y, bias, { scale, softcap: ctx.attrs.float("softcap", 0), qkMode }, qk);
    const outs = [
      finishResult(dtype, yShape, y.data),
      finishResult(dtype, [Q.batch, K.heads, total, K.size], presentK),
      finishResult(dtype, [Q.batch, K.heads, total, V.size], presentV),
    ];
    if (qk) outs.push(finishResult(dtype, qkShape, qk));
    return outs;
  },
};

/** The kernels index Q, K, V and the caches by one batch, sequence and head size: they must agree. */
function checkOperands(ctx: EvalCtx, Q: HeadLayout, K: HeadLayout, V: HeadLayout, pastK?: Tensor, pastV?: Tensor): void {
  const bad = (what: string): never => {
    throw opError(ctx, what, "HW3020");
  };
  if (K.batch !== Q.batch || V.batch !== Q.batch) bad(`Q, K and V batch sizes differ (${Q.batch}, ${K.batch}, ${V.batch})`);
  if (V.seq !== K.seq) bad(`K has ${K.seq} positions but V has ${V.seq}`);
  if (K.size !== Q.size) bad(`K head size ${K.size} differs from Q head size ${Q.size}`);
  if (!pastK !== !pastV) bad("past_key and past_value must be given together");
  if (!pastK || !pastV) return;
  const want = (t: Tensor, size: number): boolean =>
    t.shape.length === 4 && t.shape[0] === Q.batch && t.shape[1] === K.heads && t.shape[2] === pastK.shape[2] && t.shape[3] === size;
  if (!want(pastK, K.size) || !want(pastV, V.size)) {
    bad(`past_key [${pastK.shape}] and past_value [${pastV.shape}] must be [${Q.batch}, ${K.heads}, P, head size]`);
  }
}

function layout(ctx: EvalCtx, t: Tensor, attr: string): HeadLayout {
  const [batch, heads, seq, size] = geometry(ctx, t.shape, attr) as number[] as [number, number, number, number];
  return { data: floatData(t), batch, heads, seq, size, packed: t.shape.length === 3 };
}

/**
 * The mask as float bias (bool true → 0, false → −∞) with strides broadcasting it to
 * [B, Hq, Sq, T]; its last dim may be shorter than T, the missing keys being masked out.
 */
function maskView(mask: Tensor, out: readonly number[]): Bias["mask"] {
  const values = toFloat64(mask);
  if (mask.dtype === "bool") for (let i = 0; i < values.length; i++) values[i] = values[i] ? 0 : -Infinity;
  const len = mask.shape[mask.shape.length - 1]!;
  // Like ONNX's reference, the key axis is padded (never broadcast): a mask of one column sees key 0 only.
  return { data: values, strides: broadcastStrides(mask.shape, [...out.slice(0, 3), len]), len };
}
