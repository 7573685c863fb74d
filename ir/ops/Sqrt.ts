import { FLOAT_TYPES } from "../kernels/elementwise.js";
import { sqrtWide, tableOp } from "../kernels/int-table.js";
import type { OpDef } from "../op.js";

/** 16-bit inputs run an integer routine instead of an interpolated table (docs/numerics-elementwise.md). */
export const Sqrt: OpDef = tableOp("Sqrt", { types: FLOAT_TYPES, f: Math.sqrt }, sqrtWide);
