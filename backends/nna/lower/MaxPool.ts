/**
 * MaxPool on int8 codes (ir/ops/MaxPool.ts: input and output share one quantization, padding
 * never wins): the window reduction of AveragePool.ts with `vec.max`, padded with −128.
 */
import type { Node } from "../../../ir/graph.js";
import { lowerPool, poolWindow } from "./AveragePool.js";
import type { LowerCtx } from "./context.js";

export function lowerMaxPool(node: Node, ctx: LowerCtx): void {
  lowerPool(node, ctx, { op: "max" }, poolWindow(ctx, node));
}
