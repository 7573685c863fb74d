import type { OpDef } from "../op.js";
import { notImplemented } from "./_stub.js";

export const Greater: OpDef = notImplemented("Greater");
