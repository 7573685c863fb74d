import { FLOAT_TYPES } from "../kernels/elementwise.js";
import { tableOp } from "../kernels/int-table.js";
import type { OpDef } from "../op.js";

/** y = max(0, min(1, alpha·x + beta)). */
export const HardSigmoid: OpDef = tableOp("HardSigmoid", {
  types: FLOAT_TYPES,
  params: (ctx) => ({ alpha: ctx.attrs.float("alpha", 0.2), beta: ctx.attrs.float("beta", 0.5) }),
  f: (x, p) => Math.max(0, Math.min(1, p.alpha * x + p.beta)),
});
