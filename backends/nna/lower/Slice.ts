/**
 * Slice with constant starts, ends, axes and steps on codes (movement.ts): ranges of whole leading
 * axes are aliases of the input's bytes; others copy runs — contiguous along a step-1 innermost
 * axis, one vector per element for other steps. A negative innermost step copies element by
 * element (DMA strides walk forward only).
 */
import type { Node } from "../../../ir/graph.js";
import type { LowerCtx } from "./context.js";
import { lowerMovement } from "./movement.js";

export function lowerSlice(node: Node, ctx: LowerCtx): void {
  lowerMovement(node, ctx, [0]);
}
