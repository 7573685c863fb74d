import { FLOAT_TYPES, unaryOp } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

/** y = x · HardSigmoid(x) with alpha = 1/6, beta = 0.5. */
export const HardSwish: OpDef = unaryOp("HardSwish", {
  types: FLOAT_TYPES,
  f: (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5)),
});
