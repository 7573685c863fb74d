import { binaryOp, NUMERIC_TYPES } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

const less = <T extends number | bigint>(a: T, b: T): boolean => a < b;

export const Less: OpDef = binaryOp("Less", { types: NUMERIC_TYPES, bool: true, f: less, big: less });
