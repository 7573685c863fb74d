import { isBigInt, isFloat } from "../dtype.js";
import { NUMERIC_TYPES, unaryOp } from "../kernels/elementwise.js";
import { clampInt } from "../kernels/int-elementwise.js";
import { need, opError, type EvalCtx, type OpDef } from "../op.js";
import { shapeStr, type Tensor } from "../tensor.js";

/** Bounds in both element domains; an absent bound is ±∞ (null for BigInts). */
interface Bounds {
  readonly lo: number;
  readonly hi: number;
  readonly bigLo: bigint | null;
  readonly bigHi: bigint | null;
}

/** FLT_MAX: the default bounds of the attribute form. */
const FLT_MAX = 3.4028234663852886e38;

/**
 * y = min(max(x, min), max): with min > max every element becomes max. Before opset 11 the bounds
 * are float attributes; since, optional scalar inputs of x's type.
 */
export const Clip: OpDef = {
  ...unaryOp("Clip", {
    types: NUMERIC_TYPES,
    params: bounds,
    f: (x, b) => {
      const y = x < b.lo ? b.lo : x;
      return y > b.hi ? b.hi : y;
    },
    big: (x, b) => {
      const y = b.bigLo !== null && x < b.bigLo ? b.bigLo : x;
      return b.bigHi !== null && y > b.bigHi ? b.bigHi : y;
    },
  }),
  /** Codes clamped to the bounds quantized to the output type (docs/numerics-elementwise.md). */
  runInt(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    if (ctx.opset < 11) return [clampInt(x, ctx, ctx.attrs.float("min", -FLT_MAX), ctx.attrs.float("max", FLT_MAX))];
    return [clampInt(x, ctx, realBound(ctx, inputs, 1, -Infinity), realBound(ctx, inputs, 2, Infinity))];
  },
};

function bounds(ctx: EvalCtx, inputs: readonly (Tensor | undefined)[]): Bounds {
  if (ctx.opset < 11) {
    const lo = ctx.attrs.float("min", -FLT_MAX);
    const hi = ctx.attrs.float("max", FLT_MAX);
    return { lo, hi, bigLo: null, bigHi: null };
  }
  const lo = bound(ctx, inputs, 1);
  const hi = bound(ctx, inputs, 2);
  return {
    lo: lo === undefined ? -Infinity : Number(lo),
    hi: hi === undefined ? Infinity : Number(hi),
    bigLo: typeof lo === "bigint" ? lo : null,
    bigHi: typeof hi === "bigint" ? hi : null,
  };
}

function bound(ctx: EvalCtx, inputs: readonly (Tensor | undefined)[], i: number): number | bigint | undefined {
  const t = inputs[i];
  if (!t) return undefined;
  const x = inputs[0]!;
  const what = i === 1 ? "min" : "max";
  if (t.dtype !== x.dtype) throw opError(ctx, `${what} must have the input's type ${x.dtype}; got ${t.dtype}`);
  if (t.data.length !== 1) throw opError(ctx, `${what} must be a scalar; got shape ${shapeStr(t.shape)}`);
  return isBigInt(t.dtype) ? (t.data[0] as bigint) : (t.data[0] as number);
}

/** A bound of the quantized Clip: a real number, so a float scalar (the quantizer leaves bounds float). */
function realBound(ctx: EvalCtx, inputs: readonly (Tensor | undefined)[], i: number, absent: number): number {
  const t = inputs[i];
  if (!t) return absent;
  if (!isFloat(t.dtype) || t.data.length !== 1) {
    const what = i === 1 ? "min" : "max";
    throw opError(ctx, `${what} of a quantized Clip must be a float scalar; got ${t.dtype} of shape ${shapeStr(t.shape)}`, "HW4062");
  }
  return t.data[0] as number;
}
