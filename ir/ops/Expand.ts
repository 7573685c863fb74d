import type { Dim } from "../graph.js";
import { broadcastDims } from "../kernels/broadcast.js";
import { broadcastTo, knownInts, moved, operandLength } from "../kernels/layout.js";
import { need, needType, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { shapeStr, toNumbers } from "../tensor.js";

/** The input broadcast with the requested shape: either may hold the 1s that repeat. */
function outDims(x: readonly Dim[], shape: readonly number[], ctx: TypeCtx | EvalCtx): Dim[] {
  const out = broadcastDims([x, shape]);
  if (!out) throw opError(ctx, `cannot expand ${shapeStr(x)} to ${shapeStr(shape)}`);
  return out;
}

export const Expand: OpDef = {
  op: "Expand",
  quantTransparent: true,
  inferTypes(ctx) {
    const x = needType(ctx, 0);
    const shape = knownInts(ctx, 1);
    if (Array.isArray(shape)) return [moved(x, x.shape ? outDims(x.shape, shape, ctx) : null)];
    const len = operandLength(ctx, 1);
    if (!x.shape || len === undefined) return [moved(x, null)];
    return [moved(x, new Array<Dim>(Math.max(len, x.shape.length)).fill("?"))];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    return [broadcastTo(x, outDims(x.shape, toNumbers(need(inputs, 1, ctx)), ctx) as number[])];
  },
};
