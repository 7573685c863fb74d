import { FLOAT_TYPES, unaryOp } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

export const Log: OpDef = unaryOp("Log", { types: FLOAT_TYPES, f: Math.log });
