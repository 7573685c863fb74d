import type { Dim } from "../graph.js";
import { gatherAxes, identityTables, moved, normAxis } from "../kernels/layout.js";
import { need, needType, opError, type OpDef } from "../op.js";
import { getNumber, strides } from "../tensor.js";

/** data.shape[:axis] + indices.shape + data.shape[axis+1:] */
function outDims(data: readonly Dim[], indices: readonly Dim[], axis: number): Dim[] {
  return [...data.slice(0, axis), ...indices, ...data.slice(axis + 1)];
}

export const Gather: OpDef = {
  op: "Gather",
  quantTransparent: true,
  inferTypes(ctx) {
    const [x, idx] = [needType(ctx, 0), needType(ctx, 1)];
    if (!x.shape || !idx.shape) return [moved(x, null)];
    const axis = normAxis(ctx.attrs.int("axis", 0), x.shape.length, ctx);
    return [moved(x, outDims(x.shape, idx.shape, axis))];
  },
  run(inputs, ctx) {
    const [x, idx] = [need(inputs, 0, ctx), need(inputs, 1, ctx)];
    const axis = normAxis(ctx.attrs.int("axis", 0), x.shape.length, ctx);
    const dim = x.shape[axis]!;
    const stride = strides(x.shape)[axis]!;
    const n = idx.data.length;
    // Gather along a flat index axis, then give the result the indices' shape.
    const table = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const j = getNumber(idx, i);
      if (j < -dim || j >= dim) throw opError(ctx, `index ${j} is out of range for axis ${axis} of size ${dim}`, "HW3020");
      table[i] = (j < 0 ? j + dim : j) * stride;
    }
    const tables = identityTables(x.shape);
    tables[axis] = table;
    const flat = outDims(x.shape, [n], axis) as number[];
    const out = gatherAxes(x, flat, tables);
    return [{ ...out, shape: outDims(x.shape, idx.shape, axis) as number[] }];
  },
};
