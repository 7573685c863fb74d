import { NUMERIC_TYPES, variadicOp } from "../kernels/elementwise.js";
import { extremumInt } from "../kernels/int-elementwise.js";
import type { OpDef } from "../op.js";

/** NaN wins, as in numpy's minimum. */
export const Min: OpDef = {
  ...variadicOp("Min", {
    types: NUMERIC_TYPES,
    f: (a, b) => Math.min(a, b),
    big: (a, b) => (a > b ? b : a),
  }),
  runInt: (inputs, ctx) => [extremumInt(inputs, ctx, false)],
};
