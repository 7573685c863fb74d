import type { OpDef } from "../op.js";
import { notImplemented } from "./_stub.js";

export const Pad: OpDef = notImplemented("Pad");
