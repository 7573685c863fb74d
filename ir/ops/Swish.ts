import { FLOAT_TYPES } from "../kernels/elementwise.js";
import { tableOp } from "../kernels/int-table.js";
import type { OpDef } from "../op.js";
import { sigmoid } from "./Sigmoid.js";

/** y = x · sigmoid(alpha · x) (SiLU when alpha = 1). */
export const Swish: OpDef = tableOp<number>("Swish", {
  types: FLOAT_TYPES,
  f: (x, alpha) => x * sigmoid(alpha * x),
  params: (ctx) => ctx.attrs.float("alpha", 1),
});
