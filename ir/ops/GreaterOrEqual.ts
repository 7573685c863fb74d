import { binaryOp, NUMERIC_TYPES } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

const greaterOrEqual = <T extends number | bigint>(a: T, b: T): boolean => a >= b;

export const GreaterOrEqual: OpDef = binaryOp("GreaterOrEqual", {
  types: NUMERIC_TYPES,
  bool: true,
  f: greaterOrEqual,
  big: greaterOrEqual,
});
