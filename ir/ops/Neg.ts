import { FLOAT_TYPES, SIGNED_TYPES } from "../kernels/elementwise.js";
import { tableOp } from "../kernels/int-table.js";
import type { OpDef } from "../op.js";

/** Negating the most negative integer wraps to itself, as in C. */
export const Neg: OpDef = tableOp("Neg", { types: [...FLOAT_TYPES, ...SIGNED_TYPES], f: (x) => -x, big: (x) => -x });
