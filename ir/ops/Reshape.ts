import type { Dim } from "../graph.js";
import { dimProduct, intsArg, knownInts, moved, operandLength } from "../kernels/layout.js";
import { need, needType, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { reshape, shapeStr } from "../tensor.js";

/**
 * Output dims for the requested `spec`: 0 copies the input dim (unless allowzero), -1 takes what
 * is left. Dims copied by 0 cancel out of the -1 computation, so `[N,3,4]` with `[0,-1]` gives
 * `[N,12]` even for a symbolic N.
 */
function outDims(inDims: readonly Dim[], spec: readonly number[], allowzero: boolean, ctx: TypeCtx | EvalCtx): Dim[] {
  let infer = -1;
  const copied = new Set<number>();
  const out: Dim[] = spec.map((s, k) => {
    if (s === -1) {
      if (infer >= 0) throw opError(ctx, `shape ${shapeStr(spec)} has more than one -1`);
      infer = k;
      return "?";
    }
    if (s === 0 && !allowzero) {
      if (k >= inDims.length) throw opError(ctx, `shape ${shapeStr(spec)} copies dim ${k} of a rank-${inDims.length} input`);
      copied.add(k);
      return inDims[k]!;
    }
    if (s < 0) throw opError(ctx, `shape ${shapeStr(spec)} has an invalid entry ${s} (expected -1 or more)`);
    return s;
  });
  const total = dimProduct(inDims.filter((_, k) => !copied.has(k)));
  const rest = dimProduct(out.filter((_, k) => k !== infer && !copied.has(k)));
  if (typeof total !== "number" || typeof rest !== "number") {
    if (infer >= 0 && rest === 1) out[infer] = total;
    return out;
  }
  const fits = infer >= 0 ? rest !== 0 && total % rest === 0 : total === rest;
  if (!fits) throw opError(ctx, `cannot reshape ${shapeStr(inDims)} to ${shapeStr(spec)}`);
  if (infer >= 0) out[infer] = total / rest;
  return out;
}

export const Reshape: OpDef = {
  op: "Reshape",
  quantTransparent: true,
  inferTypes(ctx) {
    const x = needType(ctx, 0);
    const allowzero = ctx.attrs.int("allowzero", 0) === 1;
    // Opsets 1-4 give the shape as an attribute.
    const spec = knownInts(ctx, 1, "shape");
    if (spec === undefined) throw opError(ctx, "expected a shape input");
    if (spec === "dynamic") {
      const len = operandLength(ctx, 1);
      return [moved(x, len === undefined ? null : new Array<Dim>(len).fill("?"))];
    }
    if (!x.shape) return [moved(x, spec.map((s) => (s > 0 || (s === 0 && allowzero) ? s : "?")))];
    return [moved(x, outDims(x.shape, spec, allowzero, ctx))];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    const spec = intsArg(inputs, 1, ctx.attrs, "shape");
    if (!spec) throw opError(ctx, "expected a shape input");
    return [reshape(x, outDims(x.shape, spec, ctx.attrs.int("allowzero", 0) === 1, ctx) as number[])];
  },
};
