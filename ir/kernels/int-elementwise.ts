/**
 * Integer semantics of the elementwise ops on quantized tensors (docs/numerics-elementwise.md):
 * rescaling between quantized types, TFLite's ADD/SUB, products, quotients, max/min, clamps and
 * PRelu, with numpy broadcasting. Every parameter is computed from the types by a function
 * exported here, so a backend's lowering stores exactly the numbers the reference uses; the
 * run-time steps are integer (`requantize`, `mulShiftRound`, shifts, compares).
 *
 * The loops apply multipliers through `Requantizer` (bit-exact with `requantize`), and a step that
 * depends on one input code alone runs as a lookup in a table of that same step over every value
 * the input's array can hold (`mapCodes`), so both are exact by construction.
 */
import { bitWidth, isFloat } from "../dtype.js";
import { HwacError } from "../errors.js";
import type { TensorType } from "../graph.js";
import { quantizeMultiplier, requantize, Requantizer, type FixedMultiplier } from "../numeric.js";
import { need, opError, type IntCtx } from "../op.js";
import { perTensor } from "../quant-params.js";
import { numel, shapeStr, tensor, toFloat64, type Tensor } from "../tensor.js";
import { broadcastPlan, broadcastsTo, type BroadcastPlan } from "./broadcast.js";
import { broadcastRunShape } from "./elementwise.js";
import { mulMultipliers, reciprocal } from "./int-math.js";
import { saturateRound, type IntArray } from "./quantize.js";

type Inputs = readonly (Tensor | undefined)[];

/** A per-tensor quantized type: scale, zero point and code range. */
export type QType = ReturnType<typeof perTensor>;

/**
 * Encodes a real multiplier; one of `limit` (2^30, what `requantize` can apply) or more means the
 * output scale is far too small for the inputs (or, infinite, a division by a constant 0).
 */
export function multiplier(real: number, what: string, limit = 2 ** 30): FixedMultiplier {
  if (!(real < limit)) {
    const why = Number.isFinite(real) ? "the output scale is too small for the inputs" : "it divides by zero";
    throw new HwacError("HW4060", `${what} needs the multiplier ${real}, which must be below 2^${Math.log2(limit)}: ${why}`);
  }
  return quantizeMultiplier(real);
}

/** `multiplier(|real|)` with m0 negated for a negative real (`requantize` applies it exactly). */
export function signedMultiplier(real: number, what: string): FixedMultiplier {
  const f = multiplier(Math.abs(real), what);
  return real < 0 ? { m0: -f.m0, shift: f.shift } : f;
}

/** A real value as a code of `t`: round half to even, saturate (±∞ saturate, NaN is the zero point). */
export function quantizeReal(v: number, t: QType): number {
  return saturateRound(v / t.scale, t.zp, t.lo, t.hi);
}

/** True when two quantized types hold the same codes for the same reals. */
function sameQuantType(a: TensorType | undefined, b: TensorType | undefined): boolean {
  const qa = a?.quant;
  const qb = b?.quant;
  if (!qa || !qb || a!.dtype !== b!.dtype || qa.scale.length !== 1 || qb.scale.length !== 1) return false;
  return qa.scale[0] === qb.scale[0] && qa.zeroPoint[0] === qb.zeroPoint[0];
}

// ---- Rescaling between types (Relu, Clip, Max, Min, Concat, Pad, Resize) ----

/** y = requantize(q − z_in, s_in/s_out, z_out, lo, hi); with equal types M = 1 is exact (m0 = 2^30, shift 1). */
export interface Rescale {
  readonly m: FixedMultiplier;
  readonly zIn: number;
  readonly zOut: number;
  /** The clamp, within the output type's range. */
  readonly lo: number;
  readonly hi: number;
}

export function rescaleParams(inT: TensorType | undefined, outT: TensorType | undefined, what = "the input"): Rescale {
  const a = perTensor(inT, what);
  const b = perTensor(outT, "the output");
  return { m: multiplier(a.scale / b.scale, `rescaling ${what}`), zIn: a.zp, zOut: b.zp, lo: b.lo, hi: b.hi };
}

/** One code rescaled by `p`. */
export function rescaleCode(q: number, p: Rescale): number {
  return requantize(q - p.zIn, p.m.m0, p.m.shift, p.zOut, p.lo, p.hi);
}

/** `rescaleCode` with the multiplier prepared once. */
function rescaler(p: Rescale): (q: number) => number {
  const r = Requantizer.of(p.m);
  return (q) => r.requantize(q - p.zIn, 0, p.zOut, p.lo, p.hi);
}

/** Codes `x` rescaled by `p` into a new tensor of `dtype` and `shape`. */
function rescale(x: IntArray, p: Rescale, dtype: TensorType["dtype"], shape: readonly number[]): Tensor {
  const out = tensor(dtype, shape);
  mapCodes(x, rescaler(p), out.data as IntArray);
  return out;
}

/** `x` (of type inT) as codes of outT: itself when the types agree, else rescaled. */
export function retype(x: Tensor, inT: TensorType | undefined, outT: TensorType, what = "the input"): Tensor {
  if (sameQuantType(inT, outT)) return x;
  return rescale(x.data as IntArray, rescaleParams(inT, outT, what), outT.dtype, x.shape);
}

/**
 * Relu and Clip: the codes rescaled to the output type and clamped to [lo, hi], codes of the
 * output type from `bounds` (an empty interval collapses onto hi, as ONNX's Clip does). The clamp
 * is the requantization's own, so a Relu between equal types is max(q, z).
 */
export function clampInt(x: Tensor, ctx: IntCtx, bounds: (out: QType) => readonly [number, number]): Tensor {
  const outT = ctx.outTypes[0]!;
  const p = rescaleParams(ctx.inTypes[0], outT);
  const [lo, hi] = bounds(perTensor(outT, "the output"));
  return rescale(x.data as IntArray, { ...p, lo: Math.min(lo, hi), hi }, outT.dtype, x.shape);
}

// ---- Per-code steps and broadcasting ----

/** Every value an array of this kind can hold (none listed for int32, too many to tabulate). */
function storageRange(x: IntArray): readonly [number, number] | undefined {
  if (x instanceof Int8Array) return [-128, 127];
  if (x instanceof Uint8Array) return [0, 255];
  if (x instanceof Int16Array) return [-32768, 32767];
  if (x instanceof Uint16Array) return [0, 65535];
  return undefined;
}

/**
 * out[i] = f(x[i]). When x has at least as many elements as its array kind has values (256 for
 * 8-bit storage), f runs once per value into a table and the loop only indexes it; the table
 * covers every storable value, so codes outside the quantized type's range still map through f.
 */
export function mapCodes(x: IntArray, f: (q: number) => number, out: IntArray = new Int32Array(x.length)): IntArray {
  const range = storageRange(x);
  if (range && x.length >= range[1] - range[0] + 1) {
    const lo = range[0];
    const table = new Int32Array(range[1] - lo + 1);
    for (let j = 0; j < table.length; j++) table[j] = f(lo + j);
    for (let i = 0; i < x.length; i++) out[i] = table[x[i]! - lo]!;
  } else {
    for (let i = 0; i < x.length; i++) out[i] = f(x[i]!);
  }
  return out;
}

/** Operand k of a broadcast plan expanded to the output's `n` elements. */
function expand(data: ArrayLike<number>, plan: BroadcastPlan, k: number, n: number): Int32Array {
  const out = new Int32Array(n);
  const offsets = plan.offsets[k]!;
  const step = plan.steps[k]!;
  for (let r = 0, i = 0; r < offsets.length; r++) {
    for (let j = 0, o = offsets[r]!; j < plan.inner; j++, i++, o += step) out[i] = data[o]!;
  }
  return out;
}

/**
 * The inputs' codes (or `values`, one array per input laid out like its codes) broadcast to their
 * common shape, one int32 array per input.
 */
function broadcastCodes(
  xs: readonly Tensor[],
  ctx: IntCtx,
  values: readonly ArrayLike<number>[] = xs.map((x) => x.data as IntArray),
): { shape: number[]; codes: Int32Array[] } {
  const shapes = xs.map((x) => x.shape);
  const shape = broadcastRunShape(ctx, shapes);
  const plan = broadcastPlan(shapes, shape);
  const n = numel(shape);
  return { shape, codes: values.map((v, k) => expand(v, plan, k, n)) };
}

/**
 * When every input but one holds a single element, the op is a step of that input's codes alone,
 * laid out like them (broadcasting only adds size-1 axes): its index, else −1.
 */
function soleVarying(xs: readonly Tensor[]): number {
  let v = -1;
  for (let k = 0; k < xs.length; k++) {
    if (xs[k]!.data.length === 1) continue;
    if (v >= 0) return -1;
    v = k;
  }
  return Math.max(v, 0);
}

/** The output of the step `f` of input k's codes (`soleVarying`). */
function stepOutput(xs: readonly Tensor[], k: number, f: (q: number) => number, ctx: IntCtx): Tensor {
  const out = tensor(ctx.outTypes[0]!.dtype, broadcastRunShape(ctx, xs.map((x) => x.shape)));
  mapCodes(xs[k]!.data as IntArray, f, out.data as IntArray);
  return out;
}

function required(inputs: Inputs, ctx: IntCtx): Tensor[] {
  if (inputs.length === 0) throw opError(ctx, "expects at least one input", "HW3001");
  return inputs.map((_, i) => need(inputs, i, ctx));
}

// ---- Add, Sub, Sum: TFLite ADD ----

export interface AddParams {
  /** Left shift of every q − z before rescaling: 20 for inputs of at most 8 bits, 15 with a 16-bit input. */
  readonly leftShift: number;
  /** Per input: s_i / (N·max s), N the number of inputs rounded up to a power of two (2 for Add). */
  readonly inputs: readonly { readonly m: FixedMultiplier; readonly zp: number; readonly sign: number }[];
  /** N·max s / (2^leftShift · s_out). */
  readonly out: FixedMultiplier;
  readonly zOut: number;
  readonly lo: number;
  readonly hi: number;
}

/**
 * TFLite's ADD parameters generalized to n inputs: with two inputs N = 2 and the multipliers are
 * TFLite's `s_i/(2·max(s_a, s_b))` and `2·max(s_a, s_b)/(2^20·s_out)`. Each rescaled term is at
 * most 2^leftShift·|q − z|/N, so the int32 sum of n ≤ N terms cannot overflow.
 */
export function addParams(inTypes: readonly (TensorType | undefined)[], signs: readonly number[], outT: TensorType): AddParams {
  const qs = inTypes.map((t, i) => perTensor(t, `input ${i}`));
  const b = perTensor(outT, "the output");
  const leftShift = qs.some((q) => bitWidth(q.dtype) > 8) ? 15 : 20;
  let n = 1;
  while (n < qs.length) n *= 2;
  const common = n * Math.max(...qs.map((q) => q.scale));
  return {
    leftShift,
    inputs: qs.map((q, i) => ({ m: quantizeMultiplier(q.scale / common), zp: q.zp, sign: signs[i]! })),
    out: multiplier(common / (2 ** leftShift * b.scale), "the sum"),
    zOut: b.zp,
    lo: b.lo,
    hi: b.hi,
  };
}

/**
 * Σ sign_i · mulShiftRound((q_i − z_i)·2^L, M_i) in int32, then requantize(Σ, M_out, z_out): Add
 * (signs +1, +1), Sub (+1, −1), Sum (all +1).
 */
export function addInt(inputs: Inputs, signs: readonly number[], ctx: IntCtx): Tensor {
  const xs = required(inputs, ctx);
  const outT = ctx.outTypes[0]!;
  const p = addParams(ctx.inTypes, signs, outT);
  const up = 2 ** p.leftShift;
  const r = Requantizer.of(p.out);
  // Each input's term depends on its code alone.
  const term = p.inputs.map(({ m, zp, sign }) => {
    const rm = Requantizer.of(m);
    return (q: number) => sign * rm.apply((q - zp) * up, 0);
  });
  const v = soleVarying(xs);
  if (v >= 0) {
    // The int32 sum wraps the same in any order.
    const c = xs.reduce((sum, x, k) => (k === v ? sum : sum + term[k]!(x.data[0] as number)), 0);
    return stepOutput(xs, v, (q) => r.requantize((term[v]!(q) + c) | 0, 0, p.zOut, p.lo, p.hi), ctx);
  }
  const terms = xs.map((x, k) => mapCodes(x.data as IntArray, term[k]!));
  const { shape, codes } = broadcastCodes(xs, ctx, terms);
  const acc = codes[0]!;
  for (let k = 1; k < codes.length; k++) {
    const c = codes[k]!;
    for (let i = 0; i < acc.length; i++) acc[i] += c[i]!;
  }
  const out = tensor(outT.dtype, shape);
  const y = out.data as IntArray;
  for (let i = 0; i < y.length; i++) y[i] = r.requantize(acc[i]!, 0, p.zOut, p.lo, p.hi);
  return out;
}

// ---- Mul ----

/**
 * y = requantize((a − z_a)(b − z_b), s_a·s_b/s_out); the product is an int32 (it wraps only for
 * 16-bit asymmetric inputs). A float operand (a constant left real) makes it `scaleInt`.
 */
export function mulInt(inputs: Inputs, ctx: IntCtx): Tensor {
  const [a, b] = [need(inputs, 0, ctx), need(inputs, 1, ctx)];
  if (!ctx.inTypes[1]?.quant) return scaleInt(a, ctx.inTypes[0], b, false, ctx);
  if (!ctx.inTypes[0]?.quant) return scaleInt(b, ctx.inTypes[1], a, false, ctx);
  const qa = perTensor(ctx.inTypes[0], "input 0");
  const qb = perTensor(ctx.inTypes[1], "input 1");
  const outT = ctx.outTypes[0]!;
  const o = perTensor(outT, "the output");
  const r = Requantizer.of(multiplier((qa.scale * qb.scale) / o.scale, "the product"));
  const product = (x: number, w: number) => r.requantize(((x - qa.zp) * (w - qb.zp)) | 0, 0, o.zp, o.lo, o.hi);
  const v = soleVarying([a, b]);
  if (v === 0) return stepOutput([a, b], 0, (q) => product(q, b.data[0] as number), ctx);
  if (v === 1) return stepOutput([a, b], 1, (q) => product(a.data[0] as number, q), ctx);
  const { shape, codes } = broadcastCodes([a, b], ctx);
  const [ca, cb] = codes as [Int32Array, Int32Array];
  const out = tensor(outT.dtype, shape);
  const y = out.data as IntArray;
  for (let i = 0; i < y.length; i++) y[i] = r.requantize(((ca[i]! - qa.zp) * (cb[i]! - qb.zp)) | 0, 0, o.zp, o.lo, o.hi);
  return out;
}

/**
 * Mul or Div of quantized x by a float tensor c (a constant the quantizer leaves real): every
 * element of c becomes a signed multiplier, c·s_x/s_out (or s_x/(c·s_out) to divide), and
 * y = requantize(x − z_x, M[c's element]) with broadcasting — one rounding, per channel when c is.
 */
export function scaleInt(x: Tensor, xT: TensorType | undefined, c: Tensor, divide: boolean, ctx: IntCtx): Tensor {
  const qx = perTensor(xT, "the quantized operand");
  const outT = ctx.outTypes[0]!;
  const o = perTensor(outT, "the output");
  if (!isFloat(c.dtype)) throw opError(ctx, `an operand that is not quantized must be a float tensor, got ${c.dtype}`, "HW4063");
  const cv = toFloat64(c);
  const m0 = new Int32Array(cv.length);
  const shift = new Int8Array(cv.length);
  cv.forEach((v, j) => {
    const m = signedMultiplier(divide ? qx.scale / (v * o.scale) : (v * qx.scale) / o.scale, divide ? "the quotient" : "the product");
    m0[j] = m.m0;
    shift[j] = m.shift;
  });
  const r = new Requantizer({ m0, shift });
  if (cv.length === 1) return stepOutput([x, c], 0, (q) => r.requantize(q - qx.zp, 0, o.zp, o.lo, o.hi), ctx);
  const index = tensor("int32", c.shape, Int32Array.from(cv, (_, j) => j));
  const { shape, codes } = broadcastCodes([x, index], ctx);
  const [cx, k] = codes as [Int32Array, Int32Array];
  const out = tensor(outT.dtype, shape);
  const y = out.data as IntArray;
  for (let i = 0; i < y.length; i++) y[i] = r.requantize(cx[i]! - qx.zp, k[i]!, o.zp, o.lo, o.hi);
  return out;
}

// ---- Div ----

/**
 * The multiplier of a quotient by the divisor code difference d ≥ 1: the integer reciprocal 1/d
 * (`reciprocal`, 31 significant bits) times `base` = s_a/(s_b·s_out) (`mulMultipliers`). For a
 * divisor of at most 8 bits a backend stores these as a table over the divisor's codes.
 */
export function divMultiplier(d: number, base: FixedMultiplier): FixedMultiplier {
  return base.m0 === 0 ? base : mulMultipliers(reciprocal(d), base);
}

/** s_a/(s_b·s_out), below 2^29 so that the quotient's shift stays at most 30 (d = 1 adds one). */
export function divBase(aT: TensorType | undefined, bT: TensorType | undefined, outT: TensorType): FixedMultiplier {
  const qa = perTensor(aT, "input 0");
  const qb = perTensor(bT, "input 1");
  const o = perTensor(outT, "the output");
  return multiplier(qa.scale / (qb.scale * o.scale), "the quotient", 2 ** 29);
}

/**
 * n = a − z_a, d = b − z_b: d = 0 saturates by n's sign (0/0 gives z_out, as NaN quantizes);
 * otherwise y = requantize(sign(d)·n, divMultiplier(|d|)), and z_out when the multiplier's
 * shift t = 31 − shift exceeds 62 (|n·M| < 2^-15 rounds to 0). The multipliers are computed once
 * per divisor code. A float divisor (a constant left real) makes it `scaleInt`.
 */
export function divInt(inputs: Inputs, ctx: IntCtx): Tensor {
  const [a, b] = [need(inputs, 0, ctx), need(inputs, 1, ctx)];
  if (!ctx.inTypes[1]?.quant) return scaleInt(a, ctx.inTypes[0], b, true, ctx);
  const qa = perTensor(ctx.inTypes[0], "input 0");
  const qb = perTensor(ctx.inTypes[1], "input 1");
  const outT = ctx.outTypes[0]!;
  const o = perTensor(outT, "the output");
  const base = divBase(ctx.inTypes[0], ctx.inTypes[1], outT);
  const levels = qb.hi - qb.lo + 1;
  const m0 = new Int32Array(levels);
  const shift = new Int8Array(levels);
  for (let q = qb.lo; q <= qb.hi; q++) {
    const d = q - qb.zp;
    if (d === 0) continue;
    const m = divMultiplier(Math.abs(d), base);
    m0[q - qb.lo] = 31 - m.shift > 62 ? 0 : d < 0 ? -m.m0 : m.m0;
    shift[q - qb.lo] = m.shift;
  }
  const r = new Requantizer({ m0, shift });
  const { shape, codes } = broadcastCodes([a, b], ctx);
  const [ca, cb] = codes as [Int32Array, Int32Array];
  const out = tensor(outT.dtype, shape);
  const y = out.data as IntArray;
  for (let i = 0; i < y.length; i++) {
    const n = ca[i]! - qa.zp;
    const k = cb[i]! - qb.lo;
    if (cb[i] === qb.zp) y[i] = n > 0 ? o.hi : n < 0 ? o.lo : o.zp;
    else y[i] = m0[k] === 0 ? o.zp : r.requantize(n, k, o.zp, o.lo, o.hi);
  }
  return out;
}

// ---- Max, Min ----

/** Every input rescaled to the output type (monotone, so order is kept), then the max or min of codes. */
export function extremumInt(inputs: Inputs, ctx: IntCtx, max: boolean): Tensor {
  const xs = required(inputs, ctx);
  const outT = ctx.outTypes[0]!;
  const f = xs.map((_, k) => rescaler(rescaleParams(ctx.inTypes[k], outT, `input ${k}`)));
  const v = soleVarying(xs);
  if (v >= 0) {
    const others = xs.flatMap((x, k) => (k === v ? [] : [f[k]!(x.data[0] as number)]));
    const c = max ? Math.max(...others) : Math.min(...others);
    return stepOutput(xs, v, max ? (q) => Math.max(f[v]!(q), c) : (q) => Math.min(f[v]!(q), c), ctx);
  }
  const rescaled = xs.map((x, k) => mapCodes(x.data as IntArray, f[k]!));
  const { shape, codes } = broadcastCodes(xs, ctx, rescaled);
  const acc = codes[0]!;
  for (let k = 1; k < codes.length; k++) {
    const c = codes[k]!;
    if (max) for (let i = 0; i < acc.length; i++) acc[i] = c[i]! > acc[i]! ? c[i]! : acc[i]!;
    else for (let i = 0; i < acc.length; i++) acc[i] = c[i]! < acc[i]! ? c[i]! : acc[i]!;
  }
  const out = tensor(outT.dtype, shape);
  (out.data as IntArray).set(acc);
  return out;
}

// ---- PRelu ----

/**
 * TFLite's PRELU: v = x − z_x; y = requantize(v, s_x/s_out) for v ≥ 0, else
 * requantize(v·(α − z_α), s_x·s_α/s_out), α the quantized slope broadcast to x (per element, so a
 * per-channel slope needs no per-channel multiplier).
 */
export function preluInt(inputs: Inputs, ctx: IntCtx): Tensor {
  const [x, slope] = [need(inputs, 0, ctx), need(inputs, 1, ctx)];
  if (!broadcastsTo(slope.shape, x.shape)) {
    throw opError(ctx, `slope of shape ${shapeStr(slope.shape)} does not broadcast to ${shapeStr(x.shape)}`, "HW3020");
  }
  const qx = perTensor(ctx.inTypes[0], "input 0");
  const qs = perTensor(ctx.inTypes[1], "the slope");
  const outT = ctx.outTypes[0]!;
  const o = perTensor(outT, "the output");
  const pos = Requantizer.of(multiplier(qx.scale / o.scale, "the positive side"));
  const neg = Requantizer.of(multiplier((qx.scale * qs.scale) / o.scale, "the negative side"));
  const alpha = expand(slope.data as IntArray, broadcastPlan([slope.shape], x.shape), 0, numel(x.shape));
  const xs = x.data as IntArray;
  const out = tensor(outT.dtype, x.shape);
  const y = out.data as IntArray;
  for (let i = 0; i < y.length; i++) {
    const v = xs[i]! - qx.zp;
    y[i] =
      v >= 0
        ? pos.requantize(v, 0, o.zp, o.lo, o.hi)
        : neg.requantize((v * (alpha[i]! - qs.zp)) | 0, 0, o.zp, o.lo, o.hi);
  }
  return out;
}
