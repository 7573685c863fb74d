import { FLOAT_TYPES, unaryOp } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

export const LeakyRelu: OpDef = unaryOp("LeakyRelu", {
  types: FLOAT_TYPES,
  params: (ctx) => ctx.attrs.float("alpha", 0.01),
  f: (x, alpha) => (x < 0 ? alpha * x : x),
});
