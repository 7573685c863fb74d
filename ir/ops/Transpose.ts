import { moved, normAxes, transpose } from "../kernels/layout.js";
import { need, needType, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";

/** The permutation: the `perm` attribute, or reversed axes by default. */
function permOf(rank: number, ctx: TypeCtx | EvalCtx): number[] {
  const perm = ctx.attrs.optInts("perm");
  if (!perm) return Array.from({ length: rank }, (_, k) => rank - 1 - k);
  if (perm.length !== rank) throw opError(ctx, `perm [${perm.join(",")}] must list all ${rank} axes`);
  return normAxes(perm, rank, ctx, "perm");
}

export const Transpose: OpDef = {
  op: "Transpose",
  quantTransparent: true,
  inferTypes(ctx) {
    const x = needType(ctx, 0);
    if (!x.shape) return [moved(x, null)];
    const shape = x.shape;
    return [moved(x, permOf(shape.length, ctx).map((p) => shape[p]!))];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    return [transpose(x, permOf(x.shape.length, ctx))];
  },
};
