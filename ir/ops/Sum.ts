import { FLOAT_TYPES, variadicOp } from "../kernels/elementwise.js";
import { addInt } from "../kernels/int-elementwise.js";
import type { OpDef } from "../op.js";

export const Sum: OpDef = {
  ...variadicOp("Sum", { types: FLOAT_TYPES, f: (a, b) => a + b }),
  /** TFLite ADD over all inputs at once: one int32 sum, one requantization (docs/numerics-elementwise.md). */
  runInt: (inputs, ctx) => [addInt(inputs, inputs.map(() => 1), ctx)],
};
