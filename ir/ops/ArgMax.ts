import { normAxis } from "../kernels/layout.js";
import { reducedShape, valuesOf } from "../kernels/reduce.js";
import { need, needType, opError, type OpDef } from "../op.js";
import { numel, tensor } from "../tensor.js";

export const ArgMax: OpDef = {
  op: "ArgMax",
  inferTypes(ctx) {
    const x = needType(ctx, 0);
    if (!x.shape) return [{ dtype: "int64", shape: null }];
    const axis = normAxis(ctx.attrs.int("axis", 0), x.shape.length, ctx);
    return [{ dtype: "int64", shape: reducedShape(x.shape, [axis], ctx.attrs.int("keepdims", 1) !== 0) }];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    const axis = normAxis(ctx.attrs.int("axis", 0), x.shape.length, ctx);
    // select_last_index (opset 12) picks the last of tied maxima instead of the first.
    const last = ctx.attrs.int("select_last_index", 0) !== 0;
    const n = x.shape[axis]!;
    const inner = numel(x.shape.slice(axis + 1));
    const outer = numel(x.shape.slice(0, axis));
    if (n === 0 && outer * inner > 0) throw opError(ctx, `cannot take the argmax of the empty axis ${axis}`);
    const v = valuesOf(x);
    const out = new BigInt64Array(outer * inner);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * n * inner + i;
        let best = 0;
        let bestV = v[base]!;
        for (let j = 1; j < n; j++) {
          const e = v[base + j * inner]!;
          if (e > bestV || (last && e === bestV)) {
            best = j;
            bestV = e;
          }
        }
        out[o * inner + i] = BigInt(best);
      }
    }
    return [tensor("int64", reducedShape(x.shape, [axis], ctx.attrs.int("keepdims", 1) !== 0), out)];
  },
};
