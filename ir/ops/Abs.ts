import { NUMERIC_TYPES, unaryOp } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

export const Abs: OpDef = unaryOp("Abs", { types: NUMERIC_TYPES, f: Math.abs, big: (x) => (x < 0n ? -x : x) });
