import { FLOAT_TYPES, unaryOp } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

export const Ceil: OpDef = unaryOp("Ceil", { types: FLOAT_TYPES, f: Math.ceil });
