/**
 * GRU → hwac::AnalogGRU: W and R of every direction on crossbars (recurrent.ts), gates z, r, h as
 * the layers' output columns. With linear_before_reset = 0 the chip reads R's h columns a second
 * time per step, with r⊙(H₋₁ − z_h) as input (docs/numerics-aimc.md); the layers are the same.
 */
import type { Node } from "../../../ir/graph.js";
import { GRU_KIND } from "../../../ir/kernels/recurrent-int.js";
import type { LowerGraph, MvmInput } from "./index.js";
import { extractRecurrent, type RecurrentParts } from "./recurrent.js";

export function extractGRU(node: Node, g: LowerGraph, x: MvmInput): RecurrentParts | string {
  return extractRecurrent(node, g, x, GRU_KIND, "AnalogGRU");
}
