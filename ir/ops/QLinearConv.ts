import type { OpDef } from "../op.js";
import { notImplemented } from "./_stub.js";

export const QLinearConv: OpDef = notImplemented("QLinearConv");
