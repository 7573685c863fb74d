/**
 * MatMul → AnalogMvm in matmul mode: Y = X·B with a constant 2-D B [K, N] (a layer's weight,
 * quantized along its last axis). The crossbar holds W[out, in] = Bᵀ [N, K]; X [..., K] keeps
 * its leading axes. A B that is an activation (attention's QKᵀ, PV) or has batch axes stays
 * digital: crossbars hold weights programmed once.
 */
import type { Node } from "../../../ir/graph.js";
import { transpose } from "../../../ir/kernels/layout.js";
import type { LowerGraph, MvmParts } from "./index.js";

export function extractMatMul(node: Node, g: LowerGraph): MvmParts | string {
  const b = g.constant(node.inputs[1]);
  if (b && b.shape.length !== 2) return `B has rank ${b.shape.length}; a crossbar holds a 2-D weight [K, N]`;
  const w = g.weight(node.inputs[1], 1, b ? b.shape[1]! : 0, "B");
  if (typeof w === "string") return w;
  return { w: transpose(w.codes, [1, 0]), scale: w.scale, attrs: {} };
}
