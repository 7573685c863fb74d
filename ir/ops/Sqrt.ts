import { FLOAT_TYPES, unaryOp } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

export const Sqrt: OpDef = unaryOp("Sqrt", { types: FLOAT_TYPES, f: Math.sqrt });
