import { binaryOp, NUMERIC_TYPES } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

const greater = <T extends number | bigint>(a: T, b: T): boolean => a > b;

export const Greater: OpDef = binaryOp("Greater", { types: NUMERIC_TYPES, bool: true, f: greater, big: greater });
