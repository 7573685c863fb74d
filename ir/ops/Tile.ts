import type { Dim } from "../graph.js";
import { gatherAxes, knownInts, mappedTable, moved } from "../kernels/layout.js";
import { need, needType, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { strides, toNumbers } from "../tensor.js";

function checkRepeats(repeats: readonly number[], rank: number, ctx: TypeCtx | EvalCtx): void {
  if (repeats.length !== rank || repeats.some((r) => r < 0)) {
    throw opError(ctx, `repeats [${repeats.join(",")}] must be ${rank} non-negative counts, one per axis`);
  }
}

export const Tile: OpDef = {
  op: "Tile",
  quantTransparent: true,
  inferTypes(ctx) {
    const x = needType(ctx, 0);
    const repeats = knownInts(ctx, 1);
    if (!x.shape) return [moved(x, null)];
    if (!Array.isArray(repeats)) return [moved(x, x.shape.map(() => "?"))];
    checkRepeats(repeats, x.shape.length, ctx);
    return [moved(x, x.shape.map((d, k): Dim => (typeof d === "number" ? d * repeats[k]! : repeats[k] === 1 ? d : "?")))];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    const repeats = toNumbers(need(inputs, 1, ctx));
    checkRepeats(repeats, x.shape.length, ctx);
    const st = strides(x.shape);
    const shape = x.shape.map((d, k) => d * repeats[k]!);
    return [gatherAxes(x, shape, shape.map((n, k) => mappedTable(n, st[k]!, (i) => i % x.shape[k]!)))];
  },
};
