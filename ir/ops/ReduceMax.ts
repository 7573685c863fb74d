import type { OpDef } from "../op.js";
import { reduceOp } from "../kernels/reduce.js";

export const ReduceMax: OpDef = reduceOp("ReduceMax", "max");
