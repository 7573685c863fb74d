/**
 * The integer reciprocal of ir/kernels/int-math.ts (`reciprocal`), times a fixed multiplier
 * (`mulMultipliers`), on the vector unit: per lane, d ≥ 1 becomes the (m0, shift) pair that a
 * `vec.requant` reads, bit for bit the reference's. Every step is the reference's own, written with
 * 32-bit lane operations (the 16-bit immediates cannot hold the large constants, so −2^31, 2^30 and
 * the folded multiplier come as constant vectors):
 *
 * 1. Normalization, b = bitLength(d), dn = d·2^(31−b): five conditional shifts by 16, 8, 4, 2, 1
 *    (c = min(dn >> (31 − s), 1) tells whether dn already has its top bits; the amount s·(1 − c)
 *    is added to `tot` = 31 − b).
 * 2. The restoring division of 2^61 by dn: q = 1 + [dn = 2^30], rem = 2^31 − q·dn, then 30 steps
 *    of doubling, compare and subtract, and one rounding step. Each compares 2·rem with dn as
 *    (rem − dn) + rem, which stays in int32 because rem < dn; s = (2·rem − dn) >> 31 is −1 when the
 *    subtraction is skipped, so rem' = (2·rem − dn) − s·dn and, counting p = q + 1, p' = 2p + s.
 * 3. q = 2^31 (a power of two) wraps to −2^31: m0 = max(q, 2^30) and the shift grows by one,
 *    shift = tot − 30 − (q >> 31) (= 1 − b, or 2 − b).
 * 4. The product with the fixed multiplier f: m0' = (m0·f.m0 + 2^30) >> 31 is one `vec.requant`
 *    by the pair (f.m0, 0), and the shifts add.
 *
 * About 250 instructions, each over the slab's columns: per 16 lines, not per element.
 */
import type { FixedMultiplier } from "../../../ir/numeric.js";
import type { Vec, VecFn } from "../isa.js";
import type { LowerCtx } from "./context.js";

/** Scratch registers the routine needs, each `cols` vectors. */
export const RECIPROCAL_SCRATCH = 6;

/** The constant vectors the routine reads, in this order from `consts`: −2^31, 2^30, then the pair (f.m0, 0). */
export function reciprocalConstants(f: FixedMultiplier): number[] {
  return [-(2 ** 31), 2 ** 30, f.m0, 0];
}

/** Where the routine works: registers of `cols` vectors, column g at base + g (pairs at base + 2g). */
export interface ReciprocalRegs {
  readonly cols: number;
  /** The divisors d ≥ 1, destroyed. */
  readonly d: number;
  /** RECIPROCAL_SCRATCH registers. */
  readonly scratch: number;
  /** The `reciprocalConstants` vectors. */
  readonly consts: number;
  /** The result: m0 at pair + 2g, shift at pair + 2g + 1. */
  readonly pair: number;
}

/** A register: vector base + g·step for column g (step 0: one vector shared by every column). */
interface Reg {
  readonly base: number;
  readonly step: number;
}

/** The instructions turning each lane's d into the pair of f/d (`reciprocal(d)` times f). */
export function reciprocalTimes(ctx: LowerCtx, r: ReciprocalRegs, f: FixedMultiplier): Vec[] {
  const reg = (base: number, step = 1): Reg => ({ base, step });
  const s = (k: number) => reg(r.scratch + k * r.cols);
  const [tot, amount, rem, diff, sign, p] = [s(0), s(1), s(2), s(3), s(4), s(5)];
  const dn = reg(r.d);
  const [min32, two30, fold] = [reg(r.consts, 0), reg(r.consts + 1, 0), reg(r.consts + 2, 0)];
  const [m0, shift] = [reg(r.pair, 2), reg(r.pair + 1, 2)];
  const out: Vec[] = [];
  const op = (fn: VecFn, dst: Reg, a: Reg, b: Reg | number, clamp?: readonly [number, number]) =>
    out.push(ctx.vec({
      fn, cols: r.cols, dst: dst.base, dstColStride: dst.step, src: a.base, srcColStride: a.step,
      ...(typeof b === "number" ? { useImm: true, imm: b } : { src2: b.base, src2ColStride: b.step }),
      ...(clamp ? { clamp: true, lo: clamp[0], hi: clamp[1] } : {}),
    }));

  // 1. dn = d·2^(31−b), tot = 31 − b.
  [16, 8, 4, 2, 1].forEach((sh, k) => {
    const a = k === 0 ? tot : amount;
    op("shr", a, dn, 31 - sh, [0, 1]);
    op("mul", a, a, -sh);
    op("add", a, a, sh);
    op("shl", dn, dn, a);
    if (k > 0) op("add", tot, tot, a);
  });
  // 2. q = 1 + [dn = 2^30], rem = 2^31 − q·dn (2^31 − dn is −2^31 − dn wrapped), p = q + 1.
  op("sub", rem, min32, dn);
  op("sub", diff, rem, dn);
  op("shr", sign, diff, 31);
  op("mul", p, sign, dn);
  op("sub", rem, diff, p);
  op("add", p, sign, 3);
  const compare = () => {
    op("sub", diff, rem, dn);
    op("add", diff, diff, rem);
    op("shr", sign, diff, 31);
  };
  for (let i = 0; i < 30; i++) {
    compare();
    op("mul", amount, sign, dn);
    op("sub", rem, diff, amount);
    op("shl", p, p, 1);
    op("add", p, p, sign);
  }
  // Rounding: q = p − 1 + [2·rem ≥ dn] = p + s.
  compare();
  op("add", p, p, sign);
  // 3. q = 2^31 wrapped: m0 = 2^30, one more in the shift; 4. times f.
  op("shr", sign, p, 31);
  op("sub", shift, tot, sign);
  op("add", shift, shift, f.shift - 30);
  op("max", p, p, two30);
  op("requant", m0, p, fold);
  return out;
}
