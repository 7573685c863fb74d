import type { DType } from "../dtype.js";
import type { Dim, Node } from "../graph.js";
import { retype } from "../kernels/int-elementwise.js";
import { concat, moved, normAxis } from "../kernels/layout.js";
import { opError, type OpDef } from "../op.js";
import { shapeStr } from "../tensor.js";

/** Output dims: the sum along the axis, and elsewhere the dim all inputs share. */
function outDims(shapes: readonly (readonly Dim[])[], axisAttr: number, ctx: { node: Node }): Dim[] {
  const rank = shapes[0]!.length;
  const axis = normAxis(axisAttr, rank, ctx);
  return Array.from({ length: rank }, (_, k) => {
    const dims = shapes.map((s) => {
      if (s.length !== rank) throw opError(ctx, `inputs have different ranks: ${shapes.map(shapeStr).join(", ")}`);
      return s[k]!;
    });
    if (k === axis) return dims.reduce<Dim>((a, d) => (typeof a === "number" && typeof d === "number" ? a + d : "?"), 0);
    const known = dims.filter((d): d is number => typeof d === "number");
    if (known.some((d) => d !== known[0])) {
      throw opError(ctx, `inputs differ off axis ${axis}: ${shapes.map(shapeStr).join(", ")}`);
    }
    return known[0] ?? dims[0]!;
  });
}

/** The given inputs, which must share one element type. */
function present<T extends { dtype: DType }>(inputs: readonly (T | undefined)[], ctx: { node: Node }): T[] {
  const xs = inputs.filter((t): t is T => t !== undefined);
  if (xs.length === 0) throw opError(ctx, "expected at least one input");
  if (xs.some((t) => t.dtype !== xs[0]!.dtype)) {
    throw opError(ctx, `inputs must share one element type, got ${xs.map((t) => t.dtype).join(", ")}`);
  }
  return xs;
}

export const Concat: OpDef = {
  op: "Concat",
  inferTypes(ctx) {
    const xs = present(ctx.inputs, ctx);
    const axis = ctx.attrs.int("axis");
    const ranked = xs.filter((t) => t.shape);
    if (ranked.length < xs.length) {
      // Still the rank, when one input tells it.
      const r = ranked[0]?.shape?.length;
      return [moved(xs[0]!, r === undefined ? null : new Array<Dim>(r).fill("?"))];
    }
    return [moved(xs[0]!, outDims(xs.map((t) => t.shape!), axis, ctx))];
  },
  run(inputs, ctx) {
    const xs = present(inputs, ctx);
    const axis = ctx.attrs.int("axis");
    outDims(xs.map((t) => t.shape), axis, ctx);
    return [concat(xs, normAxis(axis, xs[0]!.shape.length, ctx))];
  },
  /** Inputs of another type than the output's are rescaled to it (s_i/s_out), the others copied. */
  runInt(inputs, ctx) {
    return Concat.run(inputs.map((x, i) => x && retype(x, ctx.inTypes[i], ctx.outTypes[0]!, `input ${i}`)), ctx);
  },
};
