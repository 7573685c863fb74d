import type { Dim } from "../graph.js";
import { dimProduct, moved, normAxis } from "../kernels/layout.js";
import { need, needType, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { reshape } from "../tensor.js";

/** [prod(dims before axis), prod(dims from axis)]; axis lies in [-rank, rank]. */
function outDims(dims: readonly Dim[], ctx: TypeCtx | EvalCtx): Dim[] {
  const a = ctx.attrs.int("axis", 1);
  // normAxis over rank + 1 admits axis == rank; negative axes still count from the rank.
  const axis = a < 0 ? normAxis(a, dims.length, ctx) : normAxis(a, dims.length + 1, ctx);
  return [dimProduct(dims.slice(0, axis)), dimProduct(dims.slice(axis))];
}

export const Flatten: OpDef = {
  op: "Flatten",
  quantTransparent: true,
  inferTypes(ctx) {
    const x = needType(ctx, 0);
    return [moved(x, x.shape ? outDims(x.shape, ctx) : ["?", "?"])];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    return [reshape(x, outDims(x.shape, ctx) as number[])];
  },
};
