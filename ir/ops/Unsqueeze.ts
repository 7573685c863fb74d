import type { Dim } from "../graph.js";
import { intsArg, knownInts, moved, normAxes, operandLength } from "../kernels/layout.js";
import { need, needType, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { reshape } from "../tensor.js";

/** Dims with a 1 inserted at each of `axes`, which index the output. */
function outDims(dims: readonly Dim[], axes: readonly number[], ctx: TypeCtx | EvalCtx): Dim[] {
  const rank = dims.length + axes.length;
  const ones = normAxes(axes, rank, ctx);
  let next = 0;
  return Array.from({ length: rank }, (_, k) => (ones.includes(k) ? 1 : dims[next++]!));
}

export const Unsqueeze: OpDef = {
  op: "Unsqueeze",
  quantTransparent: true,
  inferTypes(ctx) {
    const x = needType(ctx, 0);
    // Opsets before 13 give axes as an attribute.
    const axes = knownInts(ctx, 1, "axes");
    if (axes === undefined) throw opError(ctx, "expected axes");
    if (!x.shape) return [moved(x, null)];
    if (axes === "dynamic") {
      const n = operandLength(ctx, 1);
      return [moved(x, n === undefined ? null : new Array<Dim>(x.shape.length + n).fill("?"))];
    }
    return [moved(x, outDims(x.shape, axes, ctx))];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    const axes = intsArg(inputs, 1, ctx.attrs, "axes");
    if (!axes) throw opError(ctx, "expected axes");
    return [reshape(x, outDims(x.shape, axes, ctx) as number[])];
  },
};
