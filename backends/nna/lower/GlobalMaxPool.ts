/**
 * GlobalMaxPool on int8 codes: MaxPool's reduction (AveragePool.ts `lowerPool`) over one window
 * covering each image, one pixel out per image; input and output share one quantization, so the
 * maxima are copied out as they are. A map too large for acc is reduced over several steps, a band
 * of rows at a time.
 */
import type { Node } from "../../../ir/graph.js";
import { globalWindow } from "../../../ir/kernels/conv-geometry.js";
import { lowerPool } from "./AveragePool.js";
import type { LowerCtx } from "./context.js";

export function lowerGlobalMaxPool(node: Node, ctx: LowerCtx): void {
  lowerPool(node, ctx, { op: "max" }, globalWindow(ctx.shape(node.inputs[0]!, node).slice(2)));
}
