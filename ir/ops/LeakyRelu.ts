import { FLOAT_TYPES } from "../kernels/elementwise.js";
import { tableOp } from "../kernels/int-table.js";
import type { OpDef } from "../op.js";

export const LeakyRelu: OpDef = tableOp("LeakyRelu", {
  types: FLOAT_TYPES,
  params: (ctx) => ctx.attrs.float("alpha", 0.01),
  f: (x, alpha) => (x < 0 ? alpha * x : x),
});
