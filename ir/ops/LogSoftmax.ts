import type { OpDef } from "../op.js";
import { softmaxOp } from "../kernels/softmax.js";

export const LogSoftmax: OpDef = softmaxOp("LogSoftmax", true);
