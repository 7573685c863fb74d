import { FLOAT_TYPES, SIGNED_TYPES, unaryOp } from "../kernels/elementwise.js";
import { clampInt } from "../kernels/int-elementwise.js";
import { need, type OpDef } from "../op.js";

export const Relu: OpDef = {
  ...unaryOp("Relu", {
    types: [...FLOAT_TYPES, ...SIGNED_TYPES],
    // NaN stays NaN, as numpy's maximum(x, 0) keeps it.
    f: (x) => (x < 0 ? 0 : x),
    big: (x) => (x < 0n ? 0n : x),
  }),
  /** max(q, z) when input and output share a type; otherwise rescaled, then clamped at z_out. */
  runInt: (inputs, ctx) => [clampInt(need(inputs, 0, ctx), ctx, (o) => [o.zp, o.hi])],
};
