/** ReduceMean on the NNA: the running sum of codes in acc lanes, requantized by s_in/(count·s_out) (reduce.ts). */
import type { Node } from "../../../ir/graph.js";
import type { LowerCtx } from "./context.js";
import { lowerReduce } from "./reduce.js";

export function lowerReduceMean(node: Node, ctx: LowerCtx): void {
  lowerReduce(node, ctx, "mean");
}
