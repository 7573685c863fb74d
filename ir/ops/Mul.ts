import { binaryOp, NUMERIC_TYPES } from "../kernels/elementwise.js";
import { mulInt } from "../kernels/int-elementwise.js";
import type { OpDef } from "../op.js";

export const Mul: OpDef = {
  ...binaryOp("Mul", {
    types: NUMERIC_TYPES,
    f: (a, b) => a * b,
    // A 32-bit product can exceed 2^53, where float64 drops the low bits the wrap keeps.
    int: (a, b) => Math.imul(a, b),
    big: (a, b) => a * b,
  }),
  runInt: (inputs, ctx) => [mulInt(inputs, ctx)],
};
