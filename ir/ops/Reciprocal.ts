import { FLOAT_TYPES, unaryOp } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

export const Reciprocal: OpDef = unaryOp("Reciprocal", { types: FLOAT_TYPES, f: (x) => 1 / x });
