import { binaryOp, NUMERIC_TYPES } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

const equal = <T>(a: T, b: T): boolean => a === b;

export const Equal: OpDef = binaryOp("Equal", {
  types: [...NUMERIC_TYPES, "bool", "string"],
  bool: true,
  f: equal,
  big: equal,
  str: equal,
});
