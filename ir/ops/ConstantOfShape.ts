import type { Dim } from "../graph.js";
import { filled, knownInts, operandLength } from "../kernels/layout.js";
import { need, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { toNumbers, type Tensor } from "../tensor.js";

/** The fill value: a one-element tensor whose dtype the output takes; float32 0 by default. */
function fillValue(ctx: TypeCtx | EvalCtx): Tensor | undefined {
  const v = ctx.attrs.optTensor("value");
  if (v && v.data.length !== 1) throw opError(ctx, `value must hold one element, got ${v.data.length}`);
  return v;
}

function checkDims(dims: readonly number[], ctx: TypeCtx | EvalCtx): readonly number[] {
  if (dims.some((d) => d < 0)) throw opError(ctx, `shape [${dims.join(",")}] has a negative dimension`);
  return dims;
}

export const ConstantOfShape: OpDef = {
  op: "ConstantOfShape",
  inferTypes(ctx) {
    const dtype = fillValue(ctx)?.dtype ?? "float32";
    const dims = knownInts(ctx, 0);
    if (Array.isArray(dims)) return [{ dtype, shape: [...checkDims(dims, ctx)] }];
    const len = operandLength(ctx, 0);
    return [{ dtype, shape: len === undefined ? null : new Array<Dim>(len).fill("?") }];
  },
  run(inputs, ctx) {
    const dims = checkDims(toNumbers(need(inputs, 0, ctx)), ctx);
    const v = fillValue(ctx);
    return [v ? filled(v.dtype, dims, v.data[0]!) : filled("float32", dims, 0)];
  },
};
