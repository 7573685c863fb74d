/**
 * hwac's diagnostics. Every user-facing failure is a HwacError with a stable code:
 * HW1xxx import (ONNX files), HW2xxx IR verification and shape rules, HW3xxx interpretation,
 * HW4xxx quantization, HW5xxx backends, HW6xxx command line and I/O.
 * A HwacError is the user's to fix (exit 1); anything else escaping is an internal error (exit 2).
 */

export interface Where {
  /** The file being read or written. */
  file?: string;
  /** The node's name. */
  node?: string;
  /** The node's op type. */
  op?: string;
}

export class HwacError extends Error {
  readonly code: string;
  readonly where: Where;

  constructor(code: string, message: string, where: Where = {}) {
    super(message);
    this.name = "HwacError";
    this.code = code;
    this.where = where;
  }

  /** One paragraph: code, location, what is wrong and what was expected. */
  format(): string {
    const loc: string[] = [];
    if (this.where.file) loc.push(this.where.file);
    if (this.where.node !== undefined || this.where.op !== undefined) {
      loc.push(`node '${this.where.node ?? "?"}' (${this.where.op ?? "?"})`);
    }
    return `error ${this.code}${loc.length ? ` in ${loc.join(", ")}` : ""}: ${this.message}`;
  }

  /** The same error, located in `where` when it has no location of that kind yet. */
  at(where: Where): HwacError {
    const merged: Where = { ...where, ...stripUndefined(this.where) };
    const e = new HwacError(this.code, this.message, merged);
    e.stack = this.stack;
    return e;
  }
}

function stripUndefined(w: Where): Where {
  const out: Where = {};
  if (w.file !== undefined) out.file = w.file;
  if (w.node !== undefined) out.node = w.node;
  if (w.op !== undefined) out.op = w.op;
  return out;
}

/** Throws a HwacError: for input the user handed in that breaks a rule. */
export function fail(code: string, message: string, where?: Where): never {
  throw new HwacError(code, message, where);
}

/** Checks a rule about the user's input. */
export function check(cond: unknown, code: string, message: string | (() => string), where?: Where): asserts cond {
  if (!cond) throw new HwacError(code, typeof message === "string" ? message : message(), where);
}
