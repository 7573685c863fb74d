import { binaryOp, FLOAT_TYPES, NUMERIC_TYPES } from "../kernels/elementwise.js";
import type { OpDef } from "../op.js";

/** x^y; the output has the base's type, and an integer base with an integer exponent wraps like C. */
export const Pow: OpDef = binaryOp("Pow", {
  types: [...FLOAT_TYPES, "int32", "int64"],
  rhsTypes: NUMERIC_TYPES,
  f: pow,
  int: intPow,
  big: bigPow,
});

/** C's pow, which differs from Math.pow only where C gives 1: 1^y for any y, (−1)^±∞. */
function pow(x: number, y: number): number {
  if (x === 1 || (x === -1 && Math.abs(y) === Infinity)) return 1;
  return Math.pow(x, y);
}

/** A ≤32-bit integer base: repeated 32-bit products, which wrap as C's would. */
function intPow(x: number, y: number): number {
  // A fractional or negative exponent: the float power, truncated when stored.
  if (!Number.isInteger(y) || y < 0) return pow(x, y);
  let r = 1;
  let b = x;
  for (let e = y; e > 0; e = Math.floor(e / 2)) {
    if (e % 2 === 1) r = Math.imul(r, b);
    b = Math.imul(b, b);
  }
  return r;
}

function bigPow(x: bigint, y: bigint): bigint {
  if (y < 0n) {
    // Only |x| = 1 has a nonzero integer reciprocal power; 1/0 is undefined and gives 0.
    if (x === 1n || x === -1n) return y % 2n === 0n ? 1n : x;
    return 0n;
  }
  let r = 1n;
  let b = x;
  for (let e = y; e > 0n; e >>= 1n) {
    if (e & 1n) r = BigInt.asIntN(64, r * b);
    b = BigInt.asIntN(64, b * b);
  }
  return r;
}
