/**
 * Gather with constant indices on codes (movement.ts): selecting one time step of a sequence or
 * one direction of a recurrent state, `Gather(axis=0, indices=scalar)`, picks a contiguous part of
 * a dense value — an alias of its bytes, no instructions; other indices and axes copy runs of
 * elements. Indices computed at run time are refused (HW5042). The output keeps the input's
 * quantization, as the reference requires.
 */
import type { Node } from "../../../ir/graph.js";
import type { LowerCtx } from "./context.js";
import { lowerMovement } from "./movement.js";

export function lowerGather(node: Node, ctx: LowerCtx): void {
  lowerMovement(node, ctx, [0]);
}
