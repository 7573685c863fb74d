/**
 * VEC (isa.ts): the vector unit, one accumulator vector per step of a 2-D loop. Requantization
 * and the interpolated table read are the hardware's defined functions, shared with the integer
 * reference (`requantize` of ir/numeric.ts, `lookupInterp` of ir/kernels/fixed-point.ts) as
 * SPEC.md §5 allows; every other lane operation is written out here.
 */
import { HwacError } from "../../../ir/errors.js";
import { lookupInterp } from "../../../ir/numeric.js";
import { requantize } from "../../../ir/numeric.js";
import { LUT16_ENTRIES, type Vec } from "../isa.js";
import { DTYPE_BYTES } from "../access.js";
import type { Machine } from "./machine.js";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** y for lane operand a, operand b (the immediate or src2's lane), src2's vector index s2 and lane j. */
type LaneOp = (a: number, b: number, s2: number, j: number) => number;

function laneOp(m: Machine, v: Vec, lo: number, hi: number): LaneOp {
  const { acc, lut } = m;
  const lanes = m.geo.lanes;
  switch (v.fn) {
    case "add":
      return (a, b) => (a + b) | 0;
    case "sub":
      return (a, b) => (a - b) | 0;
    case "mul":
      return (a, b) => Math.imul(a, b);
    case "min":
      return (a, b) => (a < b ? a : b);
    case "max":
      return (a, b) => (a > b ? a : b);
    case "shl":
      return (a, b) => a << (b & 31);
    case "shr":
      return (a, b) => a >> (b & 31);
    case "rshr":
      return (a, b) => {
        const s = b & 31;
        return s === 0 ? a : Math.floor((a + 2 ** (s - 1)) / 2 ** s);
      };
    case "requant":
      return (a, _b, s2, j) => {
        const shift = acc[(s2 + 1) * lanes + j]!;
        if (shift < -31 || shift > 30) {
          throw new HwacError("HW5033", `requant shift ${shift} (acc vector ${s2 + 1}, lane ${j}) is outside [-31, 30]`);
        }
        return requantize(a, acc[s2 * lanes + j]!, shift, v.imm, lo, hi);
      };
    case "lut8":
      return (a) => lut[v.src2 + ((a & 255) ^ 128)]!;
    case "lut16": {
      const table = lut.subarray(v.src2, v.src2 + LUT16_ENTRIES);
      return (a) => lookupInterp(table, (a << 16) >> 16);
    }
  }
}

export function vec(m: Machine, v: Vec): void {
  const lanes = m.geo.lanes;
  const lo = v.clamp ? v.lo : INT32_MIN;
  const hi = v.clamp ? v.hi : INT32_MAX;
  const op = laneOp(m, v, lo, hi);
  const { acc, out, outView } = m;
  const size = DTYPE_BYTES[v.dtype];
  // Tables and multipliers are read by the lane operation; only arithmetic takes src2's lane as b.
  const bFromAcc = !v.useImm && v.fn !== "requant" && v.fn !== "lut8" && v.fn !== "lut16";
  for (let r = 0; r < v.rows; r++) {
    for (let c = 0; c < v.cols; c++) {
      const s = v.src + r * v.srcRowStride + c * v.srcColStride;
      const s2 = v.src2 + r * v.src2RowStride + c * v.src2ColStride;
      const d = v.dst + r * v.dstRowStride + c * v.dstColStride;
      for (let j = 0; j < lanes; j++) {
        const a = acc[s * lanes + j]!;
        let y = op(a, bFromAcc ? acc[s2 * lanes + j]! : v.imm, s2, j);
        y = y < lo ? lo : y > hi ? hi : y;
        if (v.dstMem === "acc") acc[d * lanes + j] = y;
        else if (size === 1) out[d + j] = y & 255;
        else if (size === 2) outView.setInt16(d + 2 * j, y, true);
        else outView.setInt32(d + 4 * j, y, true);
      }
    }
  }
}
