/** Quantized LayerNormalization on the NNA (not lowered yet). */
import type { Node } from "../../../ir/graph.js";
import type { LowerCtx } from "./context.js";
import { unsupported } from "./elementwise.js";

export function lowerLayerNormalization(node: Node, _ctx: LowerCtx): void {
  throw unsupported(node, "not lowered yet");
}
