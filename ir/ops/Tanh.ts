import { FLOAT_TYPES, unaryOp } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

export const Tanh: OpDef = unaryOp("Tanh", { types: FLOAT_TYPES, f: Math.tanh });
