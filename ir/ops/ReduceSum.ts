import type { OpDef } from "../op.js";
import { reduceOp } from "../kernels/reduce.js";

export const ReduceSum: OpDef = reduceOp("ReduceSum", "sum");
