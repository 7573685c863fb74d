import { FLOAT_TYPES, unaryOp } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

export const Exp: OpDef = unaryOp("Exp", { types: FLOAT_TYPES, f: Math.exp });
