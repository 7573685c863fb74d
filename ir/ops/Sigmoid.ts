import { FLOAT_TYPES } from "../kernels/elementwise.js";
import { tableOp } from "../kernels/int-table.js";
import type { OpDef } from "../op.js";

export const Sigmoid: OpDef = tableOp("Sigmoid", { types: FLOAT_TYPES, f: sigmoid });

/** 1 / (1 + e^-x), evaluated so that e^|x| never overflows. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}
