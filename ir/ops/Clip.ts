import { isBigInt, isFloat } from "../dtype.js";
import { NUMERIC_TYPES, unaryOp } from "../kernels/elementwise.js";
import { clampInt, quantizeReal, rescaleCode, rescaleParams } from "../kernels/int-elementwise.js";
import { need, opError, type EvalCtx, type IntCtx, type OpDef } from "../op.js";
import { perTensor } from "../quant-params.js";
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
 * are float attributes; since, optional scalar inputs of x's type (in a quantized graph: float, or
 * quantized when computed).
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
  /** Codes clamped to the bounds as codes of the output type (docs/numerics-elementwise.md). */
  runInt: (inputs, ctx) => [
    clampInt(need(inputs, 0, ctx), ctx, (o) =>
      ctx.opset < 11
        ? [quantizeReal(ctx.attrs.float("min", -FLT_MAX), o), quantizeReal(ctx.attrs.float("max", FLT_MAX), o)]
        : [boundCode(ctx, inputs, 1) ?? o.lo, boundCode(ctx, inputs, 2) ?? o.hi],
    ),
  ],
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

/**
 * A bound input as a code of the output type: a float scalar quantized half to even, or a
 * quantized scalar (a bound computed in the graph, such as max(x) − 80) rescaled like an operand.
 */
function boundCode(ctx: IntCtx, inputs: readonly (Tensor | undefined)[], i: number): number | undefined {
  const t = inputs[i];
  if (!t) return undefined;
  const what = i === 1 ? "min" : "max";
  const type = ctx.inTypes[i];
  if (t.data.length !== 1 || !(type?.quant || isFloat(t.dtype))) {
    throw opError(ctx, `${what} of a quantized Clip must be a float or quantized scalar; got ${t.dtype} of shape ${shapeStr(t.shape)}`, "HW4062");
  }
  const outT = ctx.outTypes[0]!;
  if (type?.quant) return rescaleCode(t.data[0] as number, rescaleParams(type, outT, `Clip's ${what}`));
  return quantizeReal(t.data[0] as number, perTensor(outT, "the output"));
}
