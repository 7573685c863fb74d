import { binaryOp, FLOAT_TYPES } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";
import { sigmoid } from "./Sigmoid.js";

/** y = Swish(a, alpha) · b: the gated linear unit of transformer feed-forward blocks. */
export const SwiGLU: OpDef = binaryOp<number>("SwiGLU", {
  types: FLOAT_TYPES,
  f: (a, b, alpha) => a * sigmoid(alpha * a) * b,
  params: (ctx) => ctx.attrs.float("alpha", 1),
});
