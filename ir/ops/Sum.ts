import { FLOAT_TYPES, variadicOp } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

export const Sum: OpDef = variadicOp("Sum", { types: FLOAT_TYPES, f: (a, b) => a + b });
