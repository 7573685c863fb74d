import type { OpDef } from "../op.js";
import { reduceOp } from "../kernels/reduce.js";

export const ReduceMean: OpDef = reduceOp("ReduceMean", "mean");
