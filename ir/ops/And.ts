import { binaryOp } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

export const And: OpDef = binaryOp("And", { types: ["bool"], bool: true, f: (a, b) => a & b });
