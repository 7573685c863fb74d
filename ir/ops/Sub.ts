import { binaryOp, NUMERIC_TYPES } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

export const Sub: OpDef = binaryOp("Sub", { types: NUMERIC_TYPES, f: (a, b) => a - b, big: (a, b) => a - b });
