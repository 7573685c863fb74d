import type { Attrs } from "../attrs.js";
import { need, type OpDef } from "../op.js";
import { i64 } from "../tensor.js";

/** The slice [start, end) of the dims that Shape returns (opset 15 start/end, clamped like Slice). */
function range(rank: number, attrs: Attrs): [number, number] {
  const clamp = (v: number): number => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
  const start = clamp(attrs.int("start", 0));
  return [start, Math.max(start, clamp(attrs.int("end", rank)))];
}

export const Shape: OpDef = {
  op: "Shape",
  inferTypes(ctx) {
    const shape = ctx.inputs[0]?.shape;
    if (!shape) return [{ dtype: "int64", shape: ["?"] }];
    const [start, end] = range(shape.length, ctx.attrs);
    return [{ dtype: "int64", shape: [end - start] }];
  },
  run(inputs, ctx) {
    // Reads only the shape: type inference runs this on a placeholder without data.
    const dims = need(inputs, 0, ctx).shape;
    const [start, end] = range(dims.length, ctx.attrs);
    return [i64([end - start], dims.slice(start, end))];
  },
};
