import { FLOAT_TYPES } from "../kernels/elementwise.js";
import { tableOp } from "../kernels/int-table.js";
import type { OpDef } from "../op.js";

/** y = x < 0 ? alpha·(e^x − 1) : x. */
export const Elu: OpDef = tableOp("Elu", {
  types: FLOAT_TYPES,
  params: (ctx) => ctx.attrs.float("alpha", 1),
  f: (x, alpha) => (x < 0 ? alpha * Math.expm1(x) : x),
});
