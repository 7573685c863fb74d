/**
 * GlobalAveragePool on int8 codes: AveragePool.ts's reduction over one window covering each
 * image (ir/ops/GlobalAveragePool.ts), one pixel out per image. A map too large for acc is summed
 * over several steps, a band of rows at a time.
 */
import type { Node } from "../../../ir/graph.js";
import { globalWindow } from "../../../ir/kernels/conv-geometry.js";
import { lowerPool } from "./AveragePool.js";
import type { LowerCtx } from "./context.js";

export function lowerGlobalAveragePool(node: Node, ctx: LowerCtx): void {
  lowerPool(node, ctx, { op: "avg", includePad: false }, globalWindow(ctx.shape(node.inputs[0]!, node).slice(2)));
}
