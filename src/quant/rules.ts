/**
 * How each op is quantized: which inputs are weights (and their output-channel axis), which
 * are bias, and which are parameters that stay float or integer (shapes, axes, bounds).
 */
import type { Node } from "../../ir/graph.js";
import { attrsOf } from "../../ir/op.js";

export interface WeightedRule {
  /** Input index of the weight tensor (a constant). */
  weight: number;
  /** Input index of the bias, quantized to int32 with scale s_in·s_w[c]. */
  bias?: number;
  /** The weight's output-channel axis. */
  axis(node: Node, rank: number): number;
}

const intAttr = (n: Node, name: string, dflt: number) => {
  const a = n.attrs[name];
  return a?.kind === "int" ? a.value : dflt;
};

/** Ops whose weights are quantized per output channel. */
export const WEIGHTED: Readonly<Record<string, WeightedRule>> = {
  Conv: { weight: 1, bias: 2, axis: () => 0 },
  Gemm: { weight: 1, bias: 2, axis: (n) => (intAttr(n, "transB", 0) ? 0 : 1) },
  MatMul: { weight: 1, axis: (_n, rank) => rank - 1 },
  // W[C_in, C_out/group, k…]: the output channel is axis 1 (shared across groups).
  ConvTranspose: { weight: 1, bias: 2, axis: () => 1 },
};

/**
 * Inputs that are not data: they keep their float or integer values (Clip's bounds, Pad's
 * amounts, Resize's scales, shapes, axes). Every other float input is quantized.
 */
export const PARAM_INPUTS: Readonly<Record<string, readonly number[]>> = {
  BatchNormalization: [1, 2, 3, 4],
  Clip: [1, 2],
  Pad: [1, 2, 3],
  Resize: [1, 2, 3],
  Reshape: [1],
  Slice: [1, 2, 3, 4],
  Squeeze: [1],
  Unsqueeze: [1],
  Split: [1],
  Expand: [1],
  Tile: [1],
  Gather: [1],
  ReduceMean: [1],
  ReduceMax: [1],
  ReduceMin: [1],
  ReduceSum: [1],
  Upsample: [1],
};

/** Ops whose integer semantics take at most 8-bit inputs (they stay float under 16-bit activations). */
export const EIGHT_BIT_ONLY: ReadonlySet<string> = new Set(["Softmax", "LogSoftmax"]);

/**
 * A node that only clamps its input (Relu, Clip, or Max/Min against a constant scalar): the value
 * it reads can take its output range, after which the clamp is exact on codes.
 */
export function isClamp(node: Node, isScalarConst: (v: string) => boolean): boolean {
  if (node.op === "Relu" || node.op === "Clip") return true;
  return (node.op === "Max" || node.op === "Min") && node.inputs.length === 2 && isScalarConst(node.inputs[1]!);
}

/**
 * The inverse of a unary op that is strictly increasing over all reals, so that the preimage of an
 * output range is an input range: LeakyRelu with α > 0. Undefined for other nodes.
 */
export function increasingInverse(node: Node): ((y: number) => number) | undefined {
  if (node.op !== "LeakyRelu") return undefined;
  const alpha = attrsOf(node).float("alpha", 0.01);
  return alpha > 0 ? (y) => (y < 0 ? y / alpha : y) : undefined;
}

export function isParamInput(node: Node, index: number): boolean {
  return PARAM_INPUTS[node.op]?.includes(index) ?? false;
}

/**
 * A constant factor of Mul (either side) or divisor of Div stays a real number: the integer
 * semantics apply it as one per-channel rescale, one rounding fewer than a quantized constant.
 */
export function isScaleConstant(node: Node, index: number, isConst: (v: string) => boolean): boolean {
  const v = node.inputs[index];
  if (!v || !isConst(v)) return false;
  return node.op === "Mul" || (node.op === "Div" && index === 1);
}
