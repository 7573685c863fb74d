import type { OpDef } from "../op.js";
import { softmaxOp } from "../kernels/softmax.js";

export const Softmax: OpDef = softmaxOp("Softmax", false);
