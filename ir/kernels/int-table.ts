/**
 * Unary functions on quantized tensors (docs/numerics-elementwise.md). The float function is
 * evaluated at compile time only, into a table, so the run-time step is an index:
 * - inputs of at most 8 bits: `unaryTable`, one entry per input code (16 for int4, 256 for int8),
 *   each the correctly rounded output code — exact by construction;
 * - 16-bit inputs: 513 int16 nodes, one every 128 codes, interpolated linearly (TFLite's int16 LUT,
 *   the tables of the integer LSTM); Log and Sqrt, whose slope is unbounded at 0, instead run
 *   integer routines of int-math.ts.
 */
import type { Node, TensorType } from "../graph.js";
import { clamp, requantize, roundHalfEven } from "../numeric.js";
import { need, type OpDef } from "../op.js";
import { perTensor, unaryTable } from "../quant-params.js";
import { tensor } from "../tensor.js";
import { HwacError } from "../errors.js";
import { unaryOp, type UnarySpec } from "./elementwise.js";
import { multiplier } from "./int-elementwise.js";
import { lookupInterp, TABLE_SIZE } from "./fixed-point.js";
import { isqrt, lnFixed, lnTable, roundShift } from "./int-math.js";
import { saturateRound, type IntArray } from "./quantize.js";

/** Integer semantics of a unary op between two types, built once per node: codes x in, codes y out. */
export type UnaryKernel = (x: IntArray, y: IntArray) => void;

/** A kernel for 16-bit inputs that replaces the interpolated table. */
export type WideKernel = (inT: TensorType | undefined, outT: TensorType) => UnaryKernel;

/**
 * The interpolated table of f for an input type of 65536 codes, the recipe of `interpTable`
 * (fixed-point.ts, TFLite's LUTPopulate) on any per-tensor types: node i stands for the code
 * c_i = lo + 128·i (c_512 = hi + 1, one past the range, for the last slope). With
 * v(c) = f(s_in·(c − z_in))/s_out and r = round half to even, node i < 512 is lowered by half the
 * interpolation error at its segment's midpoint:
 *   T[i] = sat(r(v_i) − r((r((v_{i+1} + r(v_i))/2) − r(v(c_i + 64)))/2) + z_out),  T[512] = sat(r(v_512) + z_out).
 * Entries are int16, so the output type must fit int16.
 */
export function interpolatedTable(f: (x: number) => number, inT: TensorType, outT: TensorType): Int16Array {
  const a = perTensor(inT, "the table's input");
  const b = perTensor(outT, "the table's output");
  if (b.lo < -32768 || b.hi > 32767) throw new HwacError("HW4061", `a 16-bit input's table needs an output that fits int16, got ${b.dtype}`);
  const v = (c: number) => f(a.scale * (c - a.zp)) / b.scale;
  const step = 128;
  const t = new Int16Array(TABLE_SIZE);
  for (let i = 0; i < TABLE_SIZE; i++) {
    const c = a.lo + step * i;
    const sample = roundHalfEven(v(c));
    const bias = i < TABLE_SIZE - 1 ? roundHalfEven((roundHalfEven((v(c + step) + sample) / 2) - roundHalfEven(v(c + step / 2))) / 2) : 0;
    // Infinite samples saturate and NaN (outside f's domain) takes the zero point, as in `unaryTable`.
    t[i] = saturateRound(Number.isFinite(bias) ? sample - bias : sample, b.zp, b.lo, b.hi);
  }
  return t;
}

/** y = T[q − lo]. */
function directKernel(t: Int32Array, lo: number): UnaryKernel {
  return (x, y) => {
    for (let i = 0; i < y.length; i++) y[i] = t[x[i]! - lo]!;
  };
}

/** `lookupInterp` (fixed-point.ts) at q − lo − 2^15, the code's offset as an int16. */
function interpolatedKernel(t: Int16Array, lo: number): UnaryKernel {
  const offset = lo + 32768;
  return (x, y) => {
    for (let i = 0; i < y.length; i++) y[i] = lookupInterp(t, x[i]! - offset);
  };
}

/** The kernel of `f` from inT to outT: a direct table up to 8 bits, `wide` or an interpolated table for 16 bits. */
export function unaryKernel(f: (x: number) => number, inT: TensorType | undefined, outT: TensorType, op: string, wide?: WideKernel): UnaryKernel {
  const a = perTensor(inT, "the input");
  const levels = a.hi - a.lo + 1;
  if (levels <= 256) return directKernel(unaryTable(f, inT!, outT), a.lo);
  if (levels !== 65536) throw new HwacError("HW4061", `integer ${op} takes inputs of at most 16 bits, got ${a.dtype}`);
  return wide ? wide(inT, outT) : interpolatedKernel(interpolatedTable(f, inT!, outT), a.lo);
}

/**
 * A unary op whose integer semantics is the table of its own float element function `spec.f`
 * (with the node's parameters), or `wide` for 16-bit inputs. The kernel is built on first use per
 * node and kept while the node runs with the same input and output types.
 */
export function tableOp<P = undefined>(op: string, spec: UnarySpec<P>, wide?: WideKernel): OpDef {
  const cache = new WeakMap<Node, { inT: TensorType | undefined; outT: TensorType; kernel: UnaryKernel }>();
  return {
    ...unaryOp(op, spec),
    runInt(inputs, ctx) {
      const x = need(inputs, 0, ctx);
      const inT = ctx.inTypes[0];
      const outT = ctx.outTypes[0]!;
      let c = cache.get(ctx.node);
      if (!c || c.inT !== inT || c.outT !== outT) {
        const p = spec.params?.(ctx, inputs) as P;
        c = { inT, outT, kernel: unaryKernel((v) => spec.f(v, p), inT, outT, op, wide) };
        cache.set(ctx.node, c);
      }
      const out = tensor(outT.dtype, x.shape);
      c.kernel(x.data as IntArray, out.data as IntArray);
      return [out];
    },
  };
}

// ---- 16-bit Log and Sqrt ----

/** Fraction bits of the 16-bit Log's working unit s_out·2^-8. */
const LOG_FRAC = 8;

/**
 * ln(s_in·d)/s_out for d = q − z_in ≥ 1, in the unit s_out·2^-8: `lnFixed(d)` (257-entry mantissa
 * table, linear interpolation) plus C = roundHalfEven(ln(s_in)·2^8/s_out), then
 * y = saturate(z_out + roundShift(·, 8)). d = 0 is ln 0 = −∞ (the lowest code), d < 0 NaN (z_out).
 */
export const logWide: WideKernel = (inT, outT) => {
  const a = perTensor(inT, "the input");
  const b = perTensor(outT, "the output");
  const unit = b.scale / 2 ** LOG_FRAC;
  const ln = lnTable(unit);
  const c = roundHalfEven(Math.log(a.scale) / unit);
  return (x, y) => {
    for (let i = 0; i < y.length; i++) {
      const d = x[i]! - a.zp;
      y[i] = d > 0 ? clamp(b.zp + roundShift(lnFixed(d, ln) + c, LOG_FRAC), b.lo, b.hi) : d === 0 ? b.lo : b.zp;
    }
  };
};

/**
 * sqrt(s_in·d)/s_out for d = q − z_in ≥ 0: r = isqrt(d·2^32) = floor(√d·2^16) (below 2^24), then
 * y = requantize(r, √s_in/(2^16·s_out), z_out). d < 0 is NaN (z_out).
 */
export const sqrtWide: WideKernel = (inT, outT) => {
  const a = perTensor(inT, "the input");
  const b = perTensor(outT, "the output");
  const { m0, shift } = multiplier(Math.sqrt(a.scale) / (2 ** 16 * b.scale), "the square root");
  return (x, y) => {
    for (let i = 0; i < y.length; i++) {
      const d = x[i]! - a.zp;
      y[i] = d < 0 ? b.zp : requantize(isqrt(d * 2 ** 32), m0, shift, b.zp, b.lo, b.hi);
    }
  };
};
