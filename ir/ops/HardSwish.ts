import { FLOAT_TYPES } from "../kernels/elementwise.js";
import { tableOp } from "../kernels/int-table.js";
import type { OpDef } from "../op.js";

/** y = x · HardSigmoid(x) with alpha = 1/6, beta = 0.5. */
export const HardSwish: OpDef = tableOp("HardSwish", {
  types: FLOAT_TYPES,
  f: (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5)),
});
