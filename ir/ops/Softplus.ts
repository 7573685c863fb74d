import { FLOAT_TYPES } from "../kernels/elementwise.js";
import { tableOp } from "../kernels/int-table.js";
import type { OpDef } from "../op.js";

export const Softplus: OpDef = tableOp("Softplus", { types: FLOAT_TYPES, f: softplus });

/** ln(1 + e^x), evaluated so that e^x never overflows and small results keep their precision. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}
