import type { DType } from "../dtype.js";
import type { Node } from "../graph.js";
import { broadcastPlan } from "../kernels/broadcast.js";
import { broadcastRunShape, broadcastTypeShape, expectType } from "../kernels/elementwise.js";
import { need, needType, opError, type OpDef } from "../op.js";
import { tensor } from "../tensor.js";

/** Storage of any element type viewed alike: Where copies elements without looking at them. */
type Elems = { [i: number]: unknown; readonly length: number };

/** y = condition ? x : y elementwise, all three broadcast together. */
export const Where: OpDef = {
  op: "Where",
  inferTypes(ctx) {
    const [c, x, y] = [needType(ctx, 0), needType(ctx, 1), needType(ctx, 2)];
    checkTypes(ctx, c.dtype, x.dtype, y.dtype);
    return [{ dtype: x.dtype, shape: broadcastTypeShape(ctx, [c.shape, x.shape, y.shape]) }];
  },
  run(inputs, ctx) {
    const [c, x, y] = [need(inputs, 0, ctx), need(inputs, 1, ctx), need(inputs, 2, ctx)];
    checkTypes(ctx, c.dtype, x.dtype, y.dtype);
    const shape = broadcastRunShape(ctx, [c.shape, x.shape, y.shape]);
    const out = tensor(x.dtype, shape);
    const { offsets, steps, inner } = broadcastPlan([c.shape, x.shape, y.shape], shape);
    const [ic, ix, iy] = offsets as [Int32Array, Int32Array, Int32Array];
    const [sc, sx, sy] = steps as [number, number, number];
    const cd = c.data as Elems;
    const xd = x.data as Elems;
    const yd = y.data as Elems;
    const o = out.data as Elems;
    for (let r = 0, k = 0; r < ic.length; r++) {
      for (let j = 0; j < inner; j++, k++) o[k] = cd[ic[r]! + j * sc] ? xd[ix[r]! + j * sx] : yd[iy[r]! + j * sy];
    }
    return [out];
  },
};

function checkTypes(ctx: { node: Node }, condition: DType, x: DType, y: DType): void {
  expectType(ctx, condition, ["bool"], "condition");
  if (x !== y) throw opError(ctx, `X and Y must share one type; got ${x} and ${y}`);
}
