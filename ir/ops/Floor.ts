import { FLOAT_TYPES, unaryOp } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

export const Floor: OpDef = unaryOp("Floor", { types: FLOAT_TYPES, f: Math.floor });
