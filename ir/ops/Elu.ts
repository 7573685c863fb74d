import type { OpDef } from "../op.js";
import { notImplemented } from "./_stub.js";

export const Elu: OpDef = notImplemented("Elu");
