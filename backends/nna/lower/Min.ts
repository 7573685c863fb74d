/** Min on the vector unit: Max's lowering with `vec.min` (Max.ts). */
import type { Node } from "../../../ir/graph.js";
import type { LowerCtx } from "./context.js";
import { lowerExtremum } from "./Max.js";

export function lowerMin(node: Node, ctx: LowerCtx): void {
  lowerExtremum(node, ctx, false);
}
