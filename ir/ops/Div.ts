import { binaryOp, NUMERIC_TYPES } from "../kernels/elementwise.js";
import { divInt } from "../kernels/int-elementwise.js";
import type { OpDef } from "../op.js";

/** Integer division truncates toward zero (C); dividing by zero, undefined in ONNX, gives 0. */
export const Div: OpDef = {
  ...binaryOp("Div", {
    types: NUMERIC_TYPES,
    f: (a, b) => a / b,
    // ±Infinity and NaN from a zero divisor store as 0 into an integer array.
    int: (a, b) => Math.trunc(a / b),
    big: (a, b) => (b === 0n ? 0n : a / b),
  }),
  /** Quotient of two quantized tensors through the divisor's reciprocal multiplier (docs/numerics-elementwise.md). */
  runInt: (inputs, ctx) => [divInt(inputs, ctx)],
};
