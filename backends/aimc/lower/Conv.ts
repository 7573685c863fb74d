/**
 * Conv → AnalogMvm in conv mode. W keeps ONNX's [M, C, k…] layout, whose rows read as [M, K] are
 * the crossbar's W[out, in] in im2col order; the window keeps kernel_shape, strides and
 * dilations, and auto_pad becomes the explicit pads conv-geometry resolves for X's shape.
 * Only group 1: a grouped or depthwise convolution is a block-diagonal matrix that would mostly
 * program zeros, so it stays digital.
 */
import type { Node } from "../../../ir/graph.js";
import { convKernel, forwardWindow, readWindowAttrs, spatialRank } from "../../../ir/kernels/conv-geometry.js";
import { attrsOf } from "../../../ir/op.js";
import type { LowerGraph, MvmInput, MvmParts } from "./index.js";

export function extractConv(node: Node, g: LowerGraph, x: MvmInput): MvmParts | string {
  const ctx = { node, attrs: attrsOf(node) };
  const group = ctx.attrs.int("group", 1);
  if (group !== 1) {
    return group === x.shape[1] ? `depthwise Conv (group ${group}) has no crossbar form` : `grouped Conv (group ${group}) has no crossbar form`;
  }
  const wt = g.constant(node.inputs[1]);
  const m = wt?.shape[0] ?? 0;
  const w = g.weight(node.inputs[1], 0, m, "W");
  if (typeof w === "string") return w;
  const bias = g.bias(node.inputs[2], m, "B");
  if (typeof bias === "string") return bias;
  const rank = spatialRank(ctx, x.shape.length);
  const kernel = convKernel(ctx, w.codes.shape, rank)!;
  const win = forwardWindow(readWindowAttrs(ctx, rank, kernel), x.shape.slice(2));
  return {
    w: w.codes,
    scale: w.scale,
    ...(bias ? { bias } : {}),
    attrs: {
      kernel_shape: { kind: "ints", value: [...win.kernel] },
      strides: { kind: "ints", value: [...win.strides] },
      pads: { kind: "ints", value: [...win.padBegin, ...win.padEnd] },
      dilations: { kind: "ints", value: [...win.dilations] },
    },
  };
}
