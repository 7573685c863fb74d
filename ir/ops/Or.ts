import { binaryOp } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

export const Or: OpDef = binaryOp("Or", { types: ["bool"], bool: true, f: (a, b) => a | b });
