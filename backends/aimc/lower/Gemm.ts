/**
 * Gemm → AnalogMvm in matmul mode: Y = X·B′ + C with X = A [M, K] (transA 0) and a constant
 * B′. The crossbar holds W[out, in] = B′ᵀ, so W = B when transB = 1 ([N, K] already) and Bᵀ
 * otherwise; C, the int32 bias ([N] or [1, N]), becomes B [N]. The quantizer folds alpha and
 * beta into B and C, so a Gemm that still has them ≠ 1 is not in the integer form and stays
 * digital, as does a transposed A (its rows are not the MVM's inputs).
 */
import type { Node } from "../../../ir/graph.js";
import { transpose } from "../../../ir/kernels/layout.js";
import { attrsOf } from "../../../ir/op.js";
import type { LowerGraph, MvmParts } from "./index.js";

export function extractGemm(node: Node, g: LowerGraph): MvmParts | string {
  const attrs = attrsOf(node);
  if (attrs.int("transA", 0) !== 0) return "transA = 1: the rows of A are not the MVM's inputs";
  if (attrs.float("alpha", 1) !== 1 || attrs.float("beta", 1) !== 1) return "alpha or beta ≠ 1 (not the quantizer's integer form)";
  const transB = attrs.int("transB", 0) !== 0;
  const b = g.constant(node.inputs[1]);
  if (b && b.shape.length !== 2) return `B has rank ${b.shape.length}, expected a matrix`;
  const n = b ? b.shape[transB ? 0 : 1]! : 0;
  const w = g.weight(node.inputs[1], transB ? 0 : 1, n, "B");
  if (typeof w === "string") return w;
  const bias = g.bias(node.inputs[2], n, "C");
  if (typeof bias === "string") return bias;
  return {
    w: transB ? w.codes : transpose(w.codes, [1, 0]),
    scale: w.scale,
    ...(bias ? { bias } : {}),
    attrs: {},
  };
}
