/**
 * Transpose of codes (movement.ts): the permutation is planned by running the op's reference on
 * element numbers, then copied by strided DMA — runs where the innermost output axis stays
 * innermost, one vector per element otherwise; a permutation that keeps the bytes in place (one
 * that only moves axes of size 1) is an alias.
 */
import type { Node } from "../../../ir/graph.js";
import type { LowerCtx } from "./context.js";
import { lowerMovement } from "./movement.js";

export function lowerTranspose(node: Node, ctx: LowerCtx): void {
  lowerMovement(node, ctx, [0]);
}
