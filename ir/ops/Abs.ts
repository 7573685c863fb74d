import { NUMERIC_TYPES } from "../kernels/elementwise.js";
import { tableOp } from "../kernels/int-table.js";
import type { OpDef } from "../op.js";

export const Abs: OpDef = tableOp("Abs", { types: NUMERIC_TYPES, f: Math.abs, big: (x) => (x < 0n ? -x : x) });
