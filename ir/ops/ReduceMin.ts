import type { OpDef } from "../op.js";
import { reduceOp } from "../kernels/reduce.js";

export const ReduceMin: OpDef = reduceOp("ReduceMin", "min");
