/**
 * Softmax and LogSoftmax. Opset 13 normalizes along one axis (default -1); earlier opsets
 * flatten the input to 2-D at `axis` (default 1) and normalize each row, i.e. over all dims from
 * `axis` on. Both views are [outer, n, inner] with the normalized axis in the middle.
 * The integer semantics (end of file) read exponentials from a Q0.15 table of code distances.
 */
import { isFloat } from "../dtype.js";
import { HwacError } from "../errors.js";
import type { TensorType } from "../graph.js";
import { clamp, mulShiftRound, quantizeMultiplier, requantize, type FixedMultiplier } from "../numeric.js";
import { need, opError, type EvalCtx, type OpDef } from "../op.js";
import { perTensor } from "../quant-params.js";
import { fromFloat64, numel, tensor } from "../tensor.js";
import { expTableQ15, lnFixed, lnTable, mulMultipliers, reciprocal, roundShift, type LnTable } from "./int-math.js";
import type { IntArray } from "./quantize.js";
import { valuesOf, type Values } from "./reduce.js";

/**
 * Softmax of `x` viewed as [outer, n, inner] along the middle axis. The max is subtracted before
 * exp so large inputs do not overflow; sums run in float64.
 */
export function softmax(x: Values, outer: number, n: number, inner: number, log: boolean): Float64Array {
  const y = new Float64Array(outer * n * inner);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      const base = o * n * inner + k;
      let max = -Infinity;
      for (let j = 0, i = base; j < n; j++, i += inner) if (x[i]! > max) max = x[i]!;
      let sum = 0;
      for (let j = 0, i = base; j < n; j++, i += inner) {
        const e = Math.exp(x[i]! - max);
        y[i] = e;
        sum += e;
      }
      if (log) {
        const shift = max + Math.log(sum);
        for (let j = 0, i = base; j < n; j++, i += inner) y[i] = x[i]! - shift;
      } else {
        for (let j = 0, i = base; j < n; j++, i += inner) y[i]! /= sum;
      }
    }
  }
  return y;
}

/** The [outer, n, inner] view of `shape` that Softmax's `axis` selects at `opset`. */
function view(shape: readonly number[], ctx: Pick<EvalCtx, "node" | "attrs" | "opset">) {
  const rank = shape.length;
  const flatten = ctx.opset < 13;
  const raw = ctx.attrs.int("axis", flatten ? 1 : -1);
  // The 2-D coercion also accepts axis = rank (every row is one element).
  const hi = flatten ? rank : rank - 1;
  if (raw < -rank || raw > hi) throw opError(ctx, `axis ${raw} is out of range for rank ${rank} (expected ${-rank}..${hi})`);
  const axis = raw < 0 ? raw + rank : raw;
  const outer = numel(shape.slice(0, axis));
  return flatten
    ? { outer, n: numel(shape.slice(axis)), inner: 1 }
    : { outer, n: shape[axis]!, inner: numel(shape.slice(axis + 1)) };
}

/** Softmax (`log` false) or LogSoftmax (`log` true). */
export function softmaxOp(op: string, log: boolean): OpDef {
  return {
    op,
    inferTypes(ctx) {
      const x = ctx.inputs[0];
      if (!x) throw opError(ctx, "input 0 is required");
      if (!isFloat(x.dtype)) throw opError(ctx, `expects a float tensor, got ${x.dtype}`);
      if (x.shape) view(x.shape.map(() => 1), ctx);
      return [{ dtype: x.dtype, shape: x.shape }];
    },
    run(inputs, ctx) {
      const x = need(inputs, 0, ctx);
      const { outer, n, inner } = view(x.shape, ctx);
      return [fromFloat64(x.dtype, x.shape, softmax(valuesOf(x), outer, n, inner, log))];
    },
    runInt(inputs, ctx) {
      const x = need(inputs, 0, ctx);
      const { outer, n, inner } = view(x.shape, ctx);
      if (n > MAX_ROW) throw opError(ctx, `rows of ${n} elements exceed the integer ${op}'s limit of ${MAX_ROW}`, "HW4051");
      const outT = ctx.outTypes[0]!;
      const y = tensor(outT.dtype, x.shape);
      const q = valuesOf(x);
      if (log) logSoftmaxInt(q, outer, n, inner, logSoftmaxIntParams(ctx.inTypes[0], outT), y.data as IntArray);
      else softmaxInt(q, outer, n, inner, softmaxIntParams(ctx.inTypes[0], outT), y.data as IntArray);
      return [y];
    },
  };
}

// ---- Integer semantics (docs/numerics-norm.md) ----

/** Longest row: its sum of Q0.15 exponentials (each at most 32767) stays below 2^31. */
export const MAX_ROW = 65536;

/** The type the quantizer gives a Softmax output: int8, scale 1/256, zero point −128 (TFLite's). */
export function softmaxOutputType(shape: TensorType["shape"]): TensorType {
  return { dtype: "int8", shape, quant: { scale: Float32Array.of(1 / 256), zeroPoint: Int32Array.of(-128) } };
}

/** The type the quantizer gives a LogSoftmax output: int8, scale 16/256, zero point 127 (range [−15.9, 0], TFLite's). */
export function logSoftmaxOutputType(shape: TensorType["shape"]): TensorType {
  return { dtype: "int8", shape, quant: { scale: Float32Array.of(16 / 256), zeroPoint: Int32Array.of(127) } };
}

interface IntOut {
  readonly zOut: number;
  readonly lo: number;
  readonly hi: number;
}

export interface SoftmaxIntParams extends IntOut {
  /** Q0.15 exp(−s_in·k) for k = row max − code. */
  readonly exp: Int16Array;
  /** 1 / s_out. */
  readonly outMul: FixedMultiplier;
}

export interface LogSoftmaxIntParams extends IntOut {
  readonly exp: Int16Array;
  /** Fractional bits G of the working unit s_out·2^−G. */
  readonly frac: number;
  /** ln in the working unit. */
  readonly ln: LnTable;
  /** s_in·2^G / s_out: a code difference in the working unit. */
  readonly diffMul: FixedMultiplier;
}

/** The input's exp table: one entry per distance below the row max, so at most 8-bit codes. */
function expTableOf(inT: TensorType | undefined): { exp: Int16Array; scale: number; levels: number } {
  const a = perTensor(inT, "Softmax's input");
  const levels = a.hi - a.lo + 1;
  if (levels > 256) throw new HwacError("HW4050", `integer Softmax needs an input of at most 8 bits, got ${a.dtype}`);
  return { exp: expTableQ15(a.scale, levels), scale: a.scale, levels };
}

export function softmaxIntParams(inT: TensorType | undefined, outT: TensorType): SoftmaxIntParams {
  const { exp } = expTableOf(inT);
  const b = perTensor(outT, "Softmax's output");
  // Larger output scales would push the final shift past 62 bits; probabilities never need them.
  if (!(b.scale <= 1)) throw new HwacError("HW4051", `Softmax's output scale must be at most 1, got ${b.scale}`);
  return { exp, outMul: quantizeMultiplier(1 / b.scale), zOut: b.zp, lo: b.lo, hi: b.hi };
}

export function logSoftmaxIntParams(inT: TensorType | undefined, outT: TensorType): LogSoftmaxIntParams {
  const { exp, scale, levels } = expTableOf(inT);
  const b = perTensor(outT, "LogSoftmax's output");
  // The largest G ≤ 16 keeping ln(Σ) (at most 31·ln 2 < 32) and code differences below 2^30 working units.
  const span = Math.max(32, (levels - 1) * scale);
  let frac = 16;
  while (frac >= 1 && 2 ** frac * span > 2 ** 30 * b.scale) frac--;
  if (frac < 1) throw new HwacError("HW4051", `LogSoftmax's output scale ${b.scale} is too small for an input scale of ${scale}`);
  const unit = b.scale / 2 ** frac;
  return { exp, frac, ln: lnTable(unit), diffMul: quantizeMultiplier(scale / unit), zOut: b.zp, lo: b.lo, hi: b.hi };
}

function rowMax(q: Values, base: number, n: number, inner: number): number {
  let max = -Infinity;
  for (let j = 0, i = base; j < n; j++, i += inner) if (q[i]! > max) max = q[i]!;
  return max;
}

/** Σ exp over a row in Q0.15: an int32 sum of table entries. */
function expSum(q: Values, base: number, n: number, inner: number, max: number, exp: Int16Array): number {
  let sum = 0;
  for (let j = 0, i = base; j < n; j++, i += inner) sum += exp[max - q[i]!]!;
  return sum;
}

/** y = z_out + round(T[max − q] · (1/Σ T) · (1/s_out)): one reciprocal per row, one multiply per element. */
export function softmaxInt(q: Values, outer: number, n: number, inner: number, p: SoftmaxIntParams, y: IntArray): void {
  if (n === 0) return;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      const base = o * n * inner + k;
      const max = rowMax(q, base, n, inner);
      const m = mulMultipliers(reciprocal(expSum(q, base, n, inner, max, p.exp)), p.outMul);
      for (let j = 0, i = base; j < n; j++, i += inner) y[i] = requantize(p.exp[max - q[i]!]!, m.m0, m.shift, p.zOut, p.lo, p.hi);
    }
  }
}

/** y = z_out + round((s_in·(q − max) − ln(Σ T / 2^15)) / s_out), in the working unit s_out·2^−G. */
export function logSoftmaxInt(q: Values, outer: number, n: number, inner: number, p: LogSoftmaxIntParams, y: IntArray): void {
  if (n === 0) return;
  const { m0, shift } = p.diffMul;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      const base = o * n * inner + k;
      const max = rowMax(q, base, n, inner);
      const lnSum = lnFixed(expSum(q, base, n, inner, max, p.exp), p.ln) - 15 * p.ln.ln2;
      for (let j = 0, i = base; j < n; j++, i += inner) {
        y[i] = clamp(p.zOut + roundShift(mulShiftRound(q[i]! - max, m0, shift) - lnSum, p.frac), p.lo, p.hi);
      }
    }
  }
}
