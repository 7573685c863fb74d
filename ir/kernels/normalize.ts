/**
 * Shared pieces of the normalization ops. Statistics come from the reduction driver in float64;
 * the affine step is either per channel (BatchNormalization, InstanceNormalization,
 * GroupNormalization fold mean, 1/std, scale and bias into one `x * a + b` per channel) or per
 * element of the normalized block (LayerNormalization, RMSNormalization).
 */
import { ONNX_DTYPE, isFloat, type DType } from "../dtype.js";
import type { Dim, Node } from "../graph.js";
import type { Attrs } from "../attrs.js";
import { opError } from "../op.js";
import { numel, reshape, shapeStr, type Tensor } from "../tensor.js";
import { broadcastsTo } from "./broadcast.js";
import { broadcastTo, normAxis } from "./layout.js";
import { valuesOf, type Values } from "./reduce.js";

type Ctx = { node: Node };
type AttrCtx = { node: Node; attrs: Attrs };

/** [N, C, spatial size] of an (N x C x D1 … Dn) input; a 1-D input is N with one channel. */
export function channels(shape: readonly number[], ctx: Ctx): { n: number; c: number; s: number } {
  if (shape.length === 0) throw opError(ctx, "expects an input of rank >= 1 (N x C x D1 … Dn), got a scalar");
  return { n: shape[0]!, c: shape[1] ?? 1, s: numel(shape.slice(2)) };
}

/** Checks that a per-channel parameter input holds `count` values. */
export function expectCount(t: Tensor, count: number, what: string, ctx: Ctx): Values {
  if (numel(t.shape) !== count) throw opError(ctx, `${what} must hold ${count} values, got shape ${shapeStr(t.shape)}`);
  return valuesOf(t);
}

/**
 * `y = x * a[p] + b[p]` for `x` read as rows of `inner` elements, where p is the row index modulo
 * a.length: with a per channel and inner the spatial size, p is the channel of the row.
 */
export function channelAffine(x: Values, inner: number, a: Float64Array, b: Float64Array): Float64Array {
  const y = new Float64Array(x.length);
  const period = a.length;
  for (let i = 0, p = 0; i < x.length; p = p + 1 === period ? 0 : p + 1) {
    const ap = a[p]!;
    const bp = b[p]!;
    for (let j = 0; j < inner; j++, i++) y[i] = x[i]! * ap + bp;
  }
  return y;
}

/** The normalized block of Layer/RMS normalization: dims from `axis` on are normalized together. */
export function splitAxis(shape: readonly number[], ctx: AttrCtx) {
  const axis = normAxis(ctx.attrs.int("axis", -1), shape.length, ctx);
  return { axis, rows: numel(shape.slice(0, axis)), cols: numel(shape.slice(axis)) };
}

/** Shape of the Mean / InvStdDev statistics: the normalized dims become 1. */
export function statShape<D extends Dim>(shape: readonly D[], axis: number): (D | 1)[] {
  return shape.map((d, k) => (k < axis ? d : 1));
}

/** Element type of the statistics outputs (stash_type, an ONNX element type code; default float32). */
export function stashType(ctx: AttrCtx): DType {
  const code = ctx.attrs.int("stash_type", 1);
  const dtype = ONNX_DTYPE[code];
  if (!dtype || !isFloat(dtype)) throw opError(ctx, `stash_type ${code} is not a float element type code`);
  return dtype;
}

/**
 * A Scale or B input of Layer/RMS normalization, which broadcasts to X, as values indexed either
 * by position in the normalized block (length `cols`) or, when it also varies along the leading
 * dims, by position in X.
 */
export function affineParam(t: Tensor, xShape: readonly number[], axis: number, what: string, ctx: Ctx): Values {
  if (!broadcastsTo(t.shape, xShape)) {
    throw opError(ctx, `${what} of shape ${shapeStr(t.shape)} does not broadcast to X's shape ${shapeStr(xShape)}`);
  }
  const split = Math.max(0, axis - (xShape.length - t.shape.length));
  const perBlock = t.shape.slice(0, split).every((d) => d === 1);
  const src = perBlock ? reshape(t, t.shape.slice(split)) : t;
  const target = perBlock ? xShape.slice(axis) : xShape;
  return valuesOf(numel(src.shape) === numel(target) ? src : broadcastTo(src, target));
}

/**
 * Normalizes rows of `cols` elements: `y = (x - center[r]) * inv[r] * w + b` (center null: 0),
 * with w and b from `affineParam` (b null: none).
 */
export function normalizeRows(
  x: Values,
  cols: number,
  center: Float64Array | null,
  inv: Float64Array,
  w: Values,
  b: Values | null,
): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0, i = 0; r < inv.length; r++) {
    const c = center ? center[r]! : 0;
    const s = inv[r]!;
    const wo = w.length === cols ? 0 : r * cols;
    const bo = b && b.length !== cols ? r * cols : 0;
    for (let j = 0; j < cols; j++, i++) y[i] = (x[i]! - c) * s * w[wo + j]! + (b ? b[bo + j]! : 0);
  }
  return y;
}
