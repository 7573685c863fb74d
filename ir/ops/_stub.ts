// Placeholder for an op whose file is being written; the conformance harness skips it.
import type { OpDef } from "../op.js";
import { HwacError } from "../errors.js";

const stubs = new WeakSet<OpDef>();

export function notImplemented(op: string): OpDef {
  const def: OpDef = {
    op,
    inferTypes() {
      throw new HwacError("HW2001", `op ${op} is not implemented`);
    },
    run() {
      throw new HwacError("HW2001", `op ${op} is not implemented`);
    },
  };
  stubs.add(def);
  return def;
}

export function isStub(def: OpDef): boolean {
  return stubs.has(def);
}
