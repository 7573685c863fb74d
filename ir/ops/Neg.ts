import { FLOAT_TYPES, SIGNED_TYPES, unaryOp } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

/** Negating the most negative integer wraps to itself, as in C. */
export const Neg: OpDef = unaryOp("Neg", { types: [...FLOAT_TYPES, ...SIGNED_TYPES], f: (x) => -x, big: (x) => -x });
