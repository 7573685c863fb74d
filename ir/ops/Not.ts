import { unaryOp } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

export const Not: OpDef = unaryOp("Not", { types: ["bool"], f: (x) => (x === 0 ? 1 : 0) });
