/**
 * Concat on codes (movement.ts): each input's elements are copied to their place in the output,
 * rescaled to the output's quantization when theirs differs (the reference's `retype`: an LSTM's
 * int16 cell state joined with its int8 hidden state, say). Constant inputs are placed in DRAM.
 */
import type { Node } from "../../../ir/graph.js";
import type { LowerCtx } from "./context.js";
import { lowerMovement } from "./movement.js";

export function lowerConcat(node: Node, ctx: LowerCtx): void {
  lowerMovement(node, ctx, node.inputs.map((_, i) => i));
}
