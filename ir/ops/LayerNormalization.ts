/**
 * LayerNormalization (opset 17): normalizes over the dims from `axis` (default -1) on, then applies
 * Scale and the optional B, which broadcast to X. The optional outputs Mean and InvStdDev have X's
 * shape with the normalized dims set to 1, in the stash_type element type.
 * Integer semantics: `normalizeRowsInt` with γ int16 and β int32 typed by `quantizeNormAffine`.
 */
import { need, opError, type OpDef } from "../op.js";
import { fromFloat64, tensor } from "../tensor.js";
import { affineParam, normalizeRows, normalizeRowsInt, normIntParams, splitAxis, stashType, statShape } from "../kernels/normalize.js";
import type { IntArray } from "../kernels/quantize.js";
import { invStdDev, moments, planRows, valuesOf } from "../kernels/reduce.js";

export const LayerNormalization: OpDef = {
  op: "LayerNormalization",
  inferTypes(ctx) {
    const x = ctx.inputs[0];
    if (!x) throw opError(ctx, "input 0 (X) is required");
    const stash = stashType(ctx);
    if (!x.shape) return [{ dtype: x.dtype, shape: null }, { dtype: stash, shape: null }, { dtype: stash, shape: null }];
    const shape = statShape(x.shape, splitAxis(x.shape.map(() => 1), ctx).axis);
    return [{ dtype: x.dtype, shape: x.shape }, { dtype: stash, shape }, { dtype: stash, shape }];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    const scale = need(inputs, 1, ctx);
    const bias = inputs[2];
    const { axis, rows, cols } = splitAxis(x.shape, ctx);
    const xv = valuesOf(x);
    const { mean, variance } = moments(xv, planRows(rows, cols));
    const inv = invStdDev(variance, ctx.attrs.float("epsilon", 1e-5));
    const w = affineParam(scale, x.shape, axis, "Scale", ctx);
    const b = bias ? affineParam(bias, x.shape, axis, "B", ctx) : null;
    const stash = stashType(ctx);
    const shape = statShape(x.shape, axis);
    return [
      fromFloat64(x.dtype, x.shape, normalizeRows(xv, cols, mean, inv, w, b)),
      fromFloat64(stash, shape, mean),
      fromFloat64(stash, shape, inv),
    ];
  },
  runInt(inputs, ctx) {
    if (ctx.node.outputs.slice(1).some((o) => o !== "")) {
      throw opError(ctx, "the integer LayerNormalization computes Y only: outputs Mean and InvStdDev must be unused", "HW4050");
    }
    const x = need(inputs, 0, ctx);
    const scale = need(inputs, 1, ctx);
    const bias = inputs[2];
    const { axis, rows, cols } = splitAxis(x.shape, ctx);
    const eps = ctx.attrs.float("epsilon", 1e-5);
    const p = normIntParams(cols, eps, ctx.inTypes[0], ctx.inTypes[1], bias && ctx.inTypes[2], ctx.outTypes[0]!);
    const w = affineParam(scale, x.shape, axis, "Scale", ctx);
    const b = bias ? affineParam(bias, x.shape, axis, "B", ctx) : null;
    const y = tensor(ctx.outTypes[0]!.dtype, x.shape);
    normalizeRowsInt(valuesOf(x), rows, cols, p, w, b, false, y.data as IntArray);
    return [y];
  },
};
