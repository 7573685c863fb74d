/** ReduceMin on the NNA: the running min of codes in acc lanes (reduce.ts). */
import type { Node } from "../../../ir/graph.js";
import type { LowerCtx } from "./context.js";
import { lowerReduce } from "./reduce.js";

export function lowerReduceMin(node: Node, ctx: LowerCtx): void {
  lowerReduce(node, ctx, "min");
}
