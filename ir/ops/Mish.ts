import { FLOAT_TYPES } from "../kernels/elementwise.js";
import { tableOp } from "../kernels/int-table.js";
import type { OpDef } from "../op.js";
import { softplus } from "./Softplus.js";

/** y = x · tanh(softplus(x)). */
export const Mish: OpDef = tableOp("Mish", { types: FLOAT_TYPES, f: (x) => x * Math.tanh(softplus(x)) });
