import { FLOAT_TYPES } from "../kernels/elementwise.js";
import { logWide, tableOp } from "../kernels/int-table.js";
import type { OpDef } from "../op.js";

/** 16-bit inputs run an integer routine instead of an interpolated table (docs/numerics-elementwise.md). */
export const Log: OpDef = tableOp("Log", { types: FLOAT_TYPES, f: Math.log }, logWide);
