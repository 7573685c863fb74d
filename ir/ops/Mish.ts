import { FLOAT_TYPES, unaryOp } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";
import { softplus } from "./Softplus.js";

/** y = x · tanh(softplus(x)). */
export const Mish: OpDef = unaryOp("Mish", { types: FLOAT_TYPES, f: (x) => x * Math.tanh(softplus(x)) });
