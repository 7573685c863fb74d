/** Sub on the vector unit: Add's recipe with the second term subtracted (Add.ts). */
import type { Node } from "../../../ir/graph.js";
import { lowerAddSub } from "./Add.js";
import type { LowerCtx } from "./context.js";

export function lowerSub(node: Node, ctx: LowerCtx): void {
  lowerAddSub(node, ctx, -1);
}
