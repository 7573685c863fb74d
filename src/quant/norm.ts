/**
 * Quantization of LayerNormalization and InstanceNormalization: the data input is an 8-bit
 * activation, γ and β are quantized by `quantizeNormAffine` (γ int16, β int32 at a scale tied to
 * γ's, as the integer semantics require), the output takes its calibrated range.
 */
import { numel } from "../../ir/tensor.js";
import { quantizeNormAffine } from "../../ir/kernels/normalize.js";
import { activationType, type CustomQuantizer } from "./quantize.js";

/** Elements normalized together: LayerNorm's dims from `axis` on; InstanceNorm's spatial dims. */
function groupSize(op: string, shape: readonly (number | string)[], axis: number): number | undefined {
  const dims = op === "LayerNormalization" ? shape.slice(axis < 0 ? axis + shape.length : axis) : shape.slice(2);
  return dims.every((d) => typeof d === "number") ? numel(dims as number[]) : undefined;
}

export const quantizeNorm: CustomQuantizer = (ctx) => {
  const { node, scheme } = ctx;
  if (scheme.actBits === 16) return "16-bit activations: normalizations take at most 8-bit inputs";
  if (node.outputs.slice(1).some((o) => o !== "")) return "its Mean/InvStdDev outputs are used";
  const [x, g, b] = node.inputs;
  const gamma = g ? ctx.constOf(g) : undefined;
  const beta = b ? ctx.constOf(b) : undefined;
  if (!gamma || (b && !beta)) return "scale and bias are not constants";
  const shape = ctx.typeOf(x!)?.shape;
  const axis = node.attrs["axis"]?.kind === "int" ? node.attrs["axis"].value : -1;
  const count = shape ? groupSize(node.op, shape, axis) : undefined;
  if (count === undefined) return "the normalized dimensions are not static";
  const range = ctx.rangeOf(node.outputs[0]!);
  if (!range) return `output '${node.outputs[0]}' has no calibrated range`;
  const xq = ctx.quantizedInput(x!);
  const affine = quantizeNormAffine(gamma, beta, count);
  const gName = ctx.addInitializer(`${g}_q`, affine.gamma.q, affine.gamma.type);
  const bName = affine.beta && ctx.addInitializer(`${b}_q`, affine.beta.q, affine.beta.type);
  const outShape = ctx.typeOf(node.outputs[0]!)?.shape ?? null;
  return {
    inputs: bName ? [xq, gName, bName] : [xq, gName],
    outTypes: [activationType(range, scheme.actBits, scheme.actSymmetric, outShape)],
  };
};
