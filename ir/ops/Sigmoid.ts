import { FLOAT_TYPES, unaryOp } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

export const Sigmoid: OpDef = unaryOp("Sigmoid", { types: FLOAT_TYPES, f: sigmoid });

/** 1 / (1 + e^-x), evaluated so that e^|x| never overflows. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}
