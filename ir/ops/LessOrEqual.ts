import { binaryOp, NUMERIC_TYPES } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

const lessOrEqual = <T extends number | bigint>(a: T, b: T): boolean => a <= b;

export const LessOrEqual: OpDef = binaryOp("LessOrEqual", {
  types: NUMERIC_TYPES,
  bool: true,
  f: lessOrEqual,
  big: lessOrEqual,
});
