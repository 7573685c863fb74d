/**
 * Softmax and LogSoftmax. Opset 13 normalizes along one axis (default -1); earlier opsets
 * flatten the input to 2-D at `axis` (default 1) and normalize each row, i.e. over all dims from
 * `axis` on. Both views are [outer, n, inner] with the normalized axis in the middle.
 */
import { isFloat } from "../dtype.js";
import { need, opError, type EvalCtx, type OpDef } from "../op.js";
import { fromFloat64, numel } from "../tensor.js";
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
  };
}
