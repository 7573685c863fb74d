import type { Dim } from "../graph.js";
import { intsArg, knownInts, moved, normAxes, operandLength } from "../kernels/layout.js";
import { need, needType, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { reshape } from "../tensor.js";

/**
 * Dims without the squeezed axes; without axes every size-1 dim goes, which is unknowable (null)
 * while some dim is symbolic.
 */
function outDims(dims: readonly Dim[], axes: readonly number[] | undefined, ctx: TypeCtx | EvalCtx): Dim[] | null {
  if (!axes) return dims.every((d) => typeof d === "number") ? dims.filter((d) => d !== 1) : null;
  const drop = normAxes(axes, dims.length, ctx);
  for (const a of drop) {
    if (typeof dims[a] === "number" && dims[a] !== 1) throw opError(ctx, `cannot squeeze axis ${a} of size ${dims[a]}`);
  }
  return dims.filter((_, k) => !drop.includes(k));
}

export const Squeeze: OpDef = {
  op: "Squeeze",
  quantTransparent: true,
  inferTypes(ctx) {
    const x = needType(ctx, 0);
    // Opsets before 13 give axes as an attribute.
    const axes = knownInts(ctx, 1, "axes");
    if (!x.shape) return [moved(x, null)];
    if (axes === "dynamic") {
      const n = operandLength(ctx, 1);
      return [moved(x, n === undefined ? null : new Array<Dim>(x.shape.length - n).fill("?"))];
    }
    return [moved(x, outDims(x.shape, axes, ctx))];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    return [reshape(x, outDims(x.shape, intsArg(inputs, 1, ctx.attrs, "axes"), ctx) as number[])];
  },
};
