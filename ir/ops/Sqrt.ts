import { FLOAT_TYPES } from "../kernels/elementwise.js";
import { tableOp } from "../kernels/int-table.js";
import type { OpDef } from "../op.js";

export const Sqrt: OpDef = tableOp("Sqrt", { types: FLOAT_TYPES, f: Math.sqrt });
