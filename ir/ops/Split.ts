import type { Dim } from "../graph.js";
import { intsArg, knownInts, moved, normAxis, sliceAxis } from "../kernels/layout.js";
import { need, needType, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";

/**
 * Sizes of the parts along the axis: the `split` list (an input from opset 13, an attribute before),
 * else equal parts of ceil(dim / n), the last one smaller (opset 18 num_outputs).
 */
function partSizes(dim: Dim, split: readonly number[] | undefined, ctx: TypeCtx | EvalCtx): Dim[] {
  const n = ctx.node.outputs.length;
  const numOutputs = ctx.attrs.optInt("num_outputs");
  if (numOutputs !== undefined && numOutputs !== n) {
    throw opError(ctx, `num_outputs is ${numOutputs} but the node has ${n} outputs`);
  }
  if (split) {
    if (split.length !== n) throw opError(ctx, `split [${split.join(",")}] must have one size per output (${n})`);
    const sum = split.reduce((a, b) => a + b, 0);
    if (split.some((s) => s < 0) || (typeof dim === "number" && sum !== dim)) {
      throw opError(ctx, `split [${split.join(",")}] must be non-negative sizes adding up to ${dim}`);
    }
    return [...split];
  }
  if (typeof dim !== "number") return new Array<Dim>(n).fill("?");
  const chunk = Math.ceil(dim / n);
  return Array.from({ length: n }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
}

export const Split: OpDef = {
  op: "Split",
  quantTransparent: true,
  inferTypes(ctx) {
    const x = needType(ctx, 0);
    const n = ctx.node.outputs.length;
    const split = knownInts(ctx, 1, "split");
    if (!x.shape) return new Array(n).fill(moved(x, null));
    const axis = normAxis(ctx.attrs.int("axis", 0), x.shape.length, ctx);
    const sizes = split === "dynamic" ? new Array<Dim>(n).fill("?") : partSizes(x.shape[axis]!, split, ctx);
    return sizes.map((s) => moved(x, x.shape!.map((d, k) => (k === axis ? s : d))));
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    const axis = normAxis(ctx.attrs.int("axis", 0), x.shape.length, ctx);
    const sizes = partSizes(x.shape[axis]!, intsArg(inputs, 1, ctx.attrs, "split"), ctx) as number[];
    let start = 0;
    return sizes.map((len) => {
      const part = sliceAxis(x, axis, start, len);
      start += len;
      return part;
    });
  },
};
