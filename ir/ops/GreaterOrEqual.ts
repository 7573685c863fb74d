import type { OpDef } from "../op.js";
import { notImplemented } from "./_stub.js";

export const GreaterOrEqual: OpDef = notImplemented("GreaterOrEqual");
