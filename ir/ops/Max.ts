import { NUMERIC_TYPES, variadicOp } from "../kernels/elementwise.js";
import { extremumInt } from "../kernels/int-elementwise.js";
import type { OpDef } from "../op.js";

/** NaN wins, as in numpy's maximum. */
export const Max: OpDef = {
  ...variadicOp("Max", {
    types: NUMERIC_TYPES,
    f: (a, b) => Math.max(a, b),
    big: (a, b) => (a < b ? b : a),
  }),
  runInt: (inputs, ctx) => [extremumInt(inputs, ctx, true)],
};
