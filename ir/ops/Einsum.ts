import type { Dim } from "../graph.js";
import { einsum, EinsumSyntax, labelSizes, planEinsum, type EinsumPlan } from "../kernels/einsum.js";
import { FLOAT_TYPES, SIGNED_TYPES, UNSIGNED_TYPES, expectType } from "../kernels/elementwise.js";
import { need, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { fromFloat64, numel, shapeStr, toFloat64 } from "../tensor.js";

const TYPES = [...FLOAT_TYPES, ...SIGNED_TYPES, ...UNSIGNED_TYPES];

function plan(ctx: TypeCtx | EvalCtx, ranks: readonly number[]): EinsumPlan {
  try {
    return planEinsum(ctx.attrs.string("equation", ""), ranks);
  } catch (e) {
    if (e instanceof EinsumSyntax) throw opError(ctx, e.message);
    throw e;
  }
}

export const Einsum: OpDef = {
  op: "Einsum",
  inferTypes(ctx) {
    const ins = ctx.inputs.map((t, i) => {
      if (!t) throw opError(ctx, `input ${i} is required`);
      expectType(ctx, t.dtype, TYPES);
      return t;
    });
    if (ins.length === 0) throw opError(ctx, "needs at least one input");
    const dtype = ins[0]!.dtype;
    if (ins.some((t) => !t.shape)) return [{ dtype, shape: null }];
    const p = plan(ctx, ins.map((t) => t.shape!.length));
    const known = ins.every((t) => t.shape!.every((d) => typeof d === "number"));
    const size = known ? labelSizes(p, ins.map((t) => t.shape as number[])) : undefined;
    if (known && !size) throw opError(ctx, `input shapes ${ins.map((t) => shapeStr(t.shape!)).join(", ")} disagree on a label's size`);
    const shape: Dim[] = p.output.map((l) => size?.get(l) ?? "?");
    return [{ dtype, shape }];
  },
  run(inputs, ctx) {
    const ts = inputs.map((_, i) => need(inputs, i, ctx));
    const shapes = ts.map((t) => t.shape);
    const p = plan(ctx, shapes.map((s) => s.length));
    const size = labelSizes(p, shapes);
    if (!size) throw opError(ctx, `input shapes ${shapes.map(shapeStr).join(", ")} disagree on a label's size`, "HW3020");
    const shape = p.output.map((l) => size.get(l)!);
    const out = new Float64Array(numel(shape));
    einsum(p, size, ts.map(toFloat64), shapes, out);
    return [fromFloat64(ts[0]!.dtype, shape, out)];
  },
};
