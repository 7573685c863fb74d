/** ReduceMax on the NNA: the running max of codes in acc lanes (reduce.ts). */
import type { Node } from "../../../ir/graph.js";
import type { LowerCtx } from "./context.js";
import { lowerReduce } from "./reduce.js";

export function lowerReduceMax(node: Node, ctx: LowerCtx): void {
  lowerReduce(node, ctx, "max");
}
