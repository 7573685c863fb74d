/**
 * VEC (isa.ts): the vector unit, one accumulator vector per step of a 2-D loop. Requantization
 * and the interpolated table read are the hardware's defined functions, shared with the integer
 * reference (`requantize` of ir/numeric.ts, `lookupInterp` of ir/kernels/fixed-point.ts) as
 * SPEC.md §5 allows; every other lane operation is written out here.
 *
 * Each operation is a loop over one vector's lanes into `ys` (one function call per vector, not
 * per lane); the clamp and the write to acc or out follow in a second loop.
 */
import { HwacError } from "../../../ir/errors.js";
import { lookupInterp } from "../../../ir/numeric.js";
import { requantize } from "../../../ir/numeric.js";
import { LUT16_ENTRIES, type Vec } from "../isa.js";
import { DTYPE_BYTES } from "../access.js";
import type { Machine } from "./machine.js";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Writes the lanes of the operation on acc vector s (and src2's vector s2) into ys. */
type VectorOp = (s: number, s2: number, ys: Float64Array) => void;

/** An operation of two lane operands, b the immediate or src2's lane. */
function binary(m: Machine, v: Vec, f: (a: number, b: number) => number): VectorOp {
  const { acc } = m;
  const lanes = m.geo.lanes;
  if (v.useImm) {
    const b = v.imm;
    return (s, _s2, ys) => {
      for (let j = 0, a = s * lanes; j < lanes; j++) ys[j] = f(acc[a + j]!, b);
    };
  }
  return (s, s2, ys) => {
    for (let j = 0, a = s * lanes, b = s2 * lanes; j < lanes; j++) ys[j] = f(acc[a + j]!, acc[b + j]!);
  };
}

function vectorOp(m: Machine, v: Vec, lo: number, hi: number): VectorOp {
  const { acc, lut } = m;
  const lanes = m.geo.lanes;
  switch (v.fn) {
    case "add":
      return binary(m, v, (a, b) => (a + b) | 0);
    case "sub":
      return binary(m, v, (a, b) => (a - b) | 0);
    case "mul":
      return binary(m, v, (a, b) => Math.imul(a, b));
    case "min":
      return binary(m, v, (a, b) => (a < b ? a : b));
    case "max":
      return binary(m, v, (a, b) => (a > b ? a : b));
    case "shl":
      return binary(m, v, (a, b) => a << (b & 31));
    case "shr":
      return binary(m, v, (a, b) => a >> (b & 31));
    case "rshr":
      return binary(m, v, (a, b) => {
        const s = b & 31;
        return s === 0 ? a : Math.floor((a + 2 ** (s - 1)) / 2 ** s);
      });
    case "requant":
      return (s, s2, ys) => {
        for (let j = 0; j < lanes; j++) {
          const shift = acc[(s2 + 1) * lanes + j]!;
          if (shift < -31 || shift > 30) {
            throw new HwacError("HW5033", `requant shift ${shift} (acc vector ${s2 + 1}, lane ${j}) is outside [-31, 30]`);
          }
          ys[j] = requantize(acc[s * lanes + j]!, acc[s2 * lanes + j]!, shift, v.imm, lo, hi);
        }
      };
    case "lut8":
      return (s, _s2, ys) => {
        for (let j = 0; j < lanes; j++) ys[j] = lut[v.src2 + ((acc[s * lanes + j]! & 255) ^ 128)]!;
      };
    case "lut16": {
      const table = lut.subarray(v.src2, v.src2 + LUT16_ENTRIES);
      return (s, _s2, ys) => {
        for (let j = 0; j < lanes; j++) ys[j] = lookupInterp(table, (acc[s * lanes + j]! << 16) >> 16);
      };
    }
  }
}

export function vec(m: Machine, v: Vec): void {
  const lanes = m.geo.lanes;
  const lo = v.clamp ? v.lo : INT32_MIN;
  const hi = v.clamp ? v.hi : INT32_MAX;
  const op = vectorOp(m, v, lo, hi);
  const { acc, out, outView } = m;
  const size = DTYPE_BYTES[v.dtype];
  const ys = new Float64Array(lanes);
  for (let r = 0; r < v.rows; r++) {
    for (let c = 0; c < v.cols; c++) {
      const s = v.src + r * v.srcRowStride + c * v.srcColStride;
      const s2 = v.src2 + r * v.src2RowStride + c * v.src2ColStride;
      const d = v.dst + r * v.dstRowStride + c * v.dstColStride;
      op(s, s2, ys);
      for (let j = 0; j < lanes; j++) {
        const y = ys[j]! < lo ? lo : ys[j]! > hi ? hi : ys[j]!;
        if (v.dstMem === "acc") acc[d * lanes + j] = y;
        else if (size === 1) out[d + j] = y & 255;
        else if (size === 2) outView.setInt16(d + 2 * j, y, true);
        else outView.setInt32(d + 4 * j, y, true);
      }
    }
  }
}
