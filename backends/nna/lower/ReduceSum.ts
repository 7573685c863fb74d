/** ReduceSum on the NNA: the sum of codes less count·z_in in acc lanes, or summed by the array over innermost axes (reduce.ts). */
import type { Node } from "../../../ir/graph.js";
import type { LowerCtx } from "./context.js";
import { lowerReduce } from "./reduce.js";

export function lowerReduceSum(node: Node, ctx: LowerCtx): void {
  lowerReduce(node, ctx, "sum");
}
