import { binaryOp, NUMERIC_TYPES } from "../kernels/elementwise.js";
import { addInt } from "../kernels/int-elementwise.js";
import type { OpDef } from "../op.js";

export const Sub: OpDef = {
  ...binaryOp("Sub", { types: NUMERIC_TYPES, f: (a, b) => a - b, big: (a, b) => a - b }),
  /** TFLite SUB: TFLite ADD with the second rescaled input subtracted (docs/numerics-elementwise.md). */
  runInt: (inputs, ctx) => [addInt(inputs, [1, -1], ctx)],
};
