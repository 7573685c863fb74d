/**
 * LayerNormalization on the NNA, bit for bit `normalizeRowsInt` (ir/kernels/normalize.ts): per row
 * of N codes, S1 = Σq and Q = Σq² (int32), V = N·Q − S1² + E (= N·S2 − S1² of the centred codes
 * plus the ε term, up to 52 bits), the multiplier I = 2^F/sqrt(V) (`invSqrtMultiplier`), and per
 * element n = round(I·(N·q − S1)), acc = n·γ + β and y = requantize(acc, M). The input's zero
 * point cancels from both V and N·q − S1, so the raw codes serve.
 *
 * Rows go one per acc lane (lanes.ts; a row is a run of bytes of the dense input, so 16 rows come
 * transposed through the array), the row's elements in consecutive acc vectors:
 * - statistics: running `vec.add`s of q and of q·q (`vec.mul` into a temporary of 64 elements);
 * - V in two 26-bit limbs: each 46-bit product a·b is hi = `vec.requant` of a by the pair
 *   (b, 5) (round(a·b/2^26), b per lane) or by N/2^26 as a constant pair, and lo = a·b − hi·2^26
 *   from wrapping `vec.mul`/`vec.shl`/`vec.sub` (exact: the true lo lies within ±2^25); one carry;
 * - I (`invSqrtPairs`): the limbs normalized by even shifts into [2^50, 2^52) (a limb move, then
 *   conditional shifts by 16, 8, 4, 2 bits), the 26-bit square root digit by digit (26 steps of
 *   shift, compare and subtract on values below 2^29), and the reciprocal routine (reciprocal.ts)
 *   times −1 — the multiplier (−2^31, F) negates m0 exactly, so the lowering feeds S1 − N·q, and
 *   the shift gains the normalization's count; about 660 instructions per 16 rows, not per element;
 * - per element: `vec.mul` by N, `vec.sub` from S1, `vec.requant` by the row's pair, `vec.mul` γ,
 *   `vec.add` β (splat vectors, int16 and int32 constants), `vec.requant` by M to out.
 * Per group of 16 rows, a step computes the statistics and I, and a second one loads γ and β and
 * writes the outputs to out and DRAM: the first leaves out alone, so the next group's statistics
 * run while this group's outputs drain (lower/sync.ts). A row that fits one transposition (256
 * elements: inp holds 16 vectors per element) and acc with γ and β stays in acc between the two;
 * a longer one is processed in chunks, twice: the statistics, each chunk's transposed codes
 * spilled to DRAM as int8 vectors (a `vec.add` to out and one STORE), then the outputs, each chunk
 * reloaded by one `load.acc` — the array transposes every element once either way.
 * Refused (HW5042): the Mean/InvStdDev outputs, Scale or B that are not constants or that vary
 * along the leading axes, codes that are not int8.
 */
import type { Node } from "../../../ir/graph.js";
import { affineParam, normIntParams, splitAxis } from "../../../ir/kernels/normalize.js";
import type { Values } from "../../../ir/kernels/reduce.js";
import { quantizeMultiplier, type FixedMultiplier } from "../../../ir/numeric.js";
import { attrsOf } from "../../../ir/op.js";
import type { Insn, Load, Vec, VecFn } from "../isa.js";
import type { LowerCtx } from "./context.js";
import { codes, unsupported } from "./elementwise.js";
import { chunkOf, columnsOf, foldRows, gather, isDirect, selectionLoad, slabs, splatLoad, storeElements, type Lines } from "./lanes.js";
import { RECIPROCAL_SCRATCH, reciprocalConstants, reciprocalTimes } from "./reciprocal.js";
import { denseCopy } from "./Reshape.js";

/** Bits of a limb: V = hi·2^26 + lo, and the square root's 26 digit pairs split 13 and 13. */
const LIMB = 26;
/** The requantization shift of round(a·b/2^26): t = 31 − shift = 26. */
const LIMB_SHIFT = 31 - LIMB;

/** A register: vector base + g·step for column g (step 0: one constant vector shared by every column). */
interface Reg {
  readonly base: number;
  readonly step: number;
}

const reg = (base: number, step = 1): Reg => ({ base, step });

type LaneOp = (fn: VecFn, dst: Reg, a: Reg, b: Reg | number, clamp?: readonly [number, number]) => void;

/** A builder of lane operations over `cols` columns, appended to `out`. */
function laneOps(ctx: LowerCtx, cols: number, out: Vec[]): LaneOp {
  return (fn, dst, a, b, clamp) => {
    out.push(ctx.vec({
      fn, cols, dst: dst.base, dstColStride: dst.step, src: a.base, srcColStride: a.step,
      ...(typeof b === "number" ? { useImm: true, imm: b } : { src2: b.base, src2ColStride: b.step }),
      ...(clamp ? { clamp: true, lo: clamp[0], hi: clamp[1] } : {}),
    }));
  };
}

/** The reciprocal's fold: −1 (m0 = −2^31, negating exactly) with the shift F. */
const minusOne = (frac: number): FixedMultiplier => ({ m0: -(2 ** 31), shift: frac });

/** The constant vectors `invSqrtPairs` reads from `consts`: the reciprocal routine's, then 26. */
export function invSqrtConstants(frac: number): number[] {
  return [...reciprocalConstants(minusOne(frac)), LIMB];
}

/** Where `invSqrtPairs` works: registers of `cols` vectors, column g at base + g (pairs at base + 2g). */
export interface InvSqrtRegs {
  readonly cols: number;
  /** V = hi·2^26 + lo with 0 ≤ lo < 2^26 and 0 ≤ V < 2^52; both destroyed. */
  readonly hi: number;
  readonly lo: number;
  /** The normalization's count of digit pairs. */
  readonly k: number;
  /** RECIPROCAL_SCRATCH registers. */
  readonly scratch: number;
  /** The `invSqrtConstants` vectors. */
  readonly consts: number;
  /** The result: m0 at pair + 2g, shift at pair + 2g + 1. */
  readonly pair: number;
}

/**
 * The instructions turning each lane's V into the pair (−m0, shift) of `invSqrtMultiplier(V, F)`
 * (V = 0, whose rows have only zero deviations, gets some pair with a valid shift).
 */
export function invSqrtPairs(ctx: LowerCtx, r: InvSqrtRegs, frac: number): Vec[] {
  const out: Vec[] = [];
  const op = laneOps(ctx, r.cols, out);
  const s = (i: number) => reg(r.scratch + i * r.cols);
  const [hi, lo, k] = [reg(r.hi), reg(r.lo), reg(r.k)];
  const limb = reg(r.consts + reciprocalConstants(minusOne(frac)).length, 0);

  // 1. w = V·4^e in [2^50, 2^52), k = e: a limb move when hi = 0, then shifts by 16, 8, 4, 2 bits
  //    while hi < 2^(26 − s) (k counts bits first, halved at the end).
  const [a, u, carry] = [s(0), s(1), s(2)];
  op("min", a, hi, 1);
  op("add", hi, hi, lo);
  op("mul", lo, lo, a);
  op("sub", hi, hi, lo);
  op("mul", k, a, -LIMB);
  op("add", k, k, LIMB);
  for (const sh of [16, 8, 4, 2]) {
    op("shr", a, hi, LIMB - sh, [0, 1]);
    op("mul", a, a, -sh);
    op("add", a, a, sh);
    op("sub", u, limb, a);
    op("shr", carry, lo, u);
    op("shl", hi, hi, a);
    op("add", hi, hi, carry);
    // (lo << a) mod 2^26: both terms wrap, their difference is exact.
    op("shl", carry, carry, LIMB);
    op("shl", lo, lo, a);
    op("sub", lo, lo, carry);
    op("add", k, k, a);
  }
  op("shr", k, k, 1);

  // 2. y = floor(sqrt(w)) digit by digit, two bits of w per step from the top of hi, then of lo:
  //    rem = 4·rem + digits; with t = 4y + 1, rem ≥ t subtracts t and appends a 1 to y, so
  //    y' = 2y + 1 + s and t' = 2(t + 2s) + 3 for s = −1 (rem < t) or 0. rem ≤ 2y < 2^27.
  const [rem, t, d, tmp, sgn] = [s(0), s(1), s(2), s(3), s(4)];
  op("add", rem, hi, 0, [0, 0]);
  op("add", t, hi, 0, [1, 1]);
  for (const word of [hi, lo]) {
    for (let i = 0; i < LIMB / 2; i++) {
      op("shr", d, word, LIMB - 2);
      if (i < LIMB / 2 - 1) {
        op("shl", tmp, d, LIMB - 2);
        op("sub", word, word, tmp);
        op("shl", word, word, 2);
      }
      op("shl", rem, rem, 2);
      op("add", rem, rem, d);
      op("sub", d, rem, t);
      op("shr", sgn, d, 31);
      op("mul", tmp, sgn, t);
      op("sub", rem, d, tmp);
      op("add", t, t, sgn);
      op("add", t, t, sgn);
      op("shl", t, t, 1);
      op("add", t, t, 3);
    }
  }
  op("shr", hi, t, 2);

  // 3. The pair of −reciprocal(y) with the shift raised by F (the fold), then by k. V = 0 leaves y
  //    = 0 and a shift past 30, clamped: its rows only ever multiply zero.
  out.push(...reciprocalTimes(ctx, { cols: r.cols, d: r.hi, scratch: r.scratch, consts: r.consts, pair: r.pair }, minusOne(frac)));
  const shift = reg(r.pair + 1, 2);
  op("add", shift, shift, k, [-31, 30]);
  return out;
}

/** Registers per column: S1, Q, k, hi, lo, the pairs (S1, 5) and I, and the routines' scratch. */
const REGS = 9 + RECIPROCAL_SCRATCH;
/** Elements squared at a time (per column) into a temporary that the running sum of squares reads. */
const SQUARES = 64;

/** Constant vectors of a node, after `invSqrtConstants`: N, the pair of N/2^26, M, and E's limbs. */
interface Consts {
  readonly n: Reg;
  readonly nPair: Reg;
  readonly out: Reg;
  readonly eLo: Reg;
  readonly eHi: Reg;
}

/** One row per lane: the per-column registers of a slab of `cols` columns (see REGS). */
interface Rows {
  readonly cols: number;
  readonly s1: Reg;
  readonly q2: Reg;
  readonly hi: Reg;
  readonly lo: Reg;
  /** m0 = S1, shift = 5: round(S1·b/2^26) by `vec.requant`. */
  readonly s1Pair: Reg;
  readonly scratch: number;
}

/** V = N·Q − S1² + E as limbs (hi, lo) with 0 ≤ lo < 2^26, from S1 and Q. */
function varianceLimbs(ctx: LowerCtx, r: Rows, c: Consts): Vec[] {
  const out: Vec[] = [];
  const op = laneOps(ctx, r.cols, out);
  const [hi2, lo2, tmp] = [0, 1, 2].map((i) => reg(r.scratch + i * r.cols)) as [Reg, Reg, Reg];
  const { s1, q2, hi, lo, s1Pair } = r;
  const split = (h: Reg, l: Reg, a: Reg, pair: Reg, b: Reg) => {
    op("requant", h, a, pair);
    op("mul", l, a, b);
    op("shl", tmp, h, LIMB);
    op("sub", l, l, tmp);
  };
  op("add", s1Pair, s1, 0);
  op("add", reg(s1Pair.base + 1, 2), s1, 0, [LIMB_SHIFT, LIMB_SHIFT]);
  split(hi, lo, q2, c.nPair, c.n);
  split(hi2, lo2, s1, s1Pair, s1);
  op("sub", hi, hi, hi2);
  op("add", hi, hi, c.eHi);
  op("sub", lo, lo, lo2);
  op("add", lo, lo, c.eLo);
  op("shr", tmp, lo, LIMB);
  op("add", hi, hi, tmp);
  op("shl", tmp, tmp, LIMB);
  op("sub", lo, lo, tmp);
  return out;
}

/** Int16 (γ) or int32 (β) values as splat vectors, one per element, for acc loads of mode i16/i32. */
function splats(lanes: number, values: Values, bytes: 2 | 4): Uint8Array {
  const data = new Uint8Array(bytes * lanes * values.length);
  const view = new DataView(data.buffer);
  for (let x = 0; x < values.length; x++) {
    for (let j = 0; j < lanes; j++) {
      const at = bytes * (x * lanes + j);
      if (bytes === 2) view.setInt16(at, values[x]!, true);
      else view.setInt32(at, values[x]!, true);
    }
  }
  return data;
}

/** Scale or B as one value per element of the normalized block (a constant that does not vary along the leading axes). */
function affineValues(ctx: LowerCtx, node: Node, name: string, shape: readonly number[], axis: number, count: number, what: string): Values {
  const t = ctx.graph.initializers.get(name);
  if (!t) throw unsupported(node, `${what} ('${name}') must be a constant`);
  const v = affineParam(t, shape, axis, what, { node });
  if (v.length !== count) throw unsupported(node, `${what} must hold one value per element of the normalized block; '${name}' varies along the leading axes`);
  return v;
}

export function lowerLayerNormalization(node: Node, ctx: LowerCtx): void {
  const [xName, gName, bName] = [node.inputs[0]!, node.inputs[1]!, node.inputs[2] || undefined];
  const yName = node.outputs[0]!;
  if (node.outputs.slice(1).some((o) => o !== "")) throw unsupported(node, "only Y is computed: the Mean and InvStdDev outputs must be unused");
  codes(ctx, node, xName);
  codes(ctx, node, yName);
  const shape = ctx.shape(xName, node);
  const attrs = attrsOf(node);
  const { axis, rows, cols: n } = splitAxis(shape, { node, attrs });
  const p = normIntParams(n, attrs.float("epsilon", 1e-5), ctx.type(xName), ctx.type(gName), bName ? ctx.type(bName) : undefined, ctx.type(yName));
  const gamma = affineValues(ctx, node, gName, shape, axis, n, "Scale");
  const beta = bName === undefined ? undefined : affineValues(ctx, node, bName, shape, axis, n, "B");

  ctx.beginLayer(node);
  const x = denseCopy(ctx, node, xName);
  const y = ctx.activation(yName, rows, n);
  if (rows * n === 0) return;
  const g = ctx.geo;
  const lanes = g.lanes;
  const lines: Lines = { addr: x.addr, blocks: 1, blockStride: 0, count: rows, lineStride: n, length: n, elemStride: 1 };

  // acc: the constants, then per column the REGS registers and up to SQUARES squares, then the
  // chunk's codes (per column), γ and β (one splat vector per element, shared by the columns).
  const nPair = quantizeMultiplier(n / 2 ** LIMB);
  const eHi = Math.floor(p.epsTerm / 2 ** LIMB);
  const inv = invSqrtConstants(p.frac);
  const consts = [...inv, n, nPair.m0, nPair.shift, p.out.m0, p.out.shift, p.epsTerm - eHi * 2 ** LIMB, eHi];
  const ci = inv.length;
  const c: Consts = { n: reg(ci, 0), nPair: reg(ci + 1, 0), out: reg(ci + 3, 0), eLo: reg(ci + 5, 0), eHi: reg(ci + 6, 0) };
  // Several columns only for rows of one element (16 rows per vector, read directly).
  const cols = Math.min(columnsOf(ctx, lines), Math.max(1, Math.floor((g.accVectors - consts.length) / (REGS + 2 * n + 2))));
  const base = consts.length;
  const squares = base + REGS * cols;
  // The squares' temporary takes at most as many elements as a chunk.
  const sq = Math.min(SQUARES, n, Math.floor((g.accVectors - squares) / (2 * cols + 2)));
  const codesAt = squares + sq * cols;
  const all = slabs(ctx, lines, cols);
  const fit = Math.floor((g.accVectors - codesAt) / (cols + 2));
  const chunk = Math.min(n, chunkOf(ctx, lines, all[0]!, fit * cols), Math.floor(g.outBytes / (cols * lanes)));
  if (!(chunk >= 1)) throw unsupported(node, "the scratchpads are too small for one element of 16 rows");
  const [gammaAt, betaAt] = [codesAt + chunk * cols, codesAt + chunk * cols + chunk];
  const single = chunk === n;
  // Two passes: the first spills each chunk's codes, as they lie in acc (int8 vectors of 16
  // rows), to DRAM, and the second reloads them there instead of transposing them again.
  const spill = single ? 0 : ctx.alloc(n * cols * lanes);

  // γ and β come with each chunk's outputs (see the loop below).
  const affine: { at: number; dram: number; bytes: 2 | 4 }[] = [{ at: gammaAt, dram: ctx.constant(splats(lanes, gamma, 2)), bytes: 2 }];
  if (beta) affine.push({ at: betaAt, dram: ctx.constant(splats(lanes, beta, 4)), bytes: 4 });
  const affineLoads = (x0: number, count: number): Load[] => affine.map((a) =>
    ctx.load({ mem: "acc", mode: a.bytes === 2 ? "i16" : "i32", sram: a.at, dram: a.dram + x0 * a.bytes * lanes, xSize: count, xStride: a.bytes * lanes }));
  const setup: Insn[] = [splatLoad(ctx, 0, consts)];
  if (!isDirect(lines)) setup.push(selectionLoad(ctx));

  const outLines = { ...lines, addr: y.addr };
  for (const slab of all) {
    const sc = slab.cols;
    const at = (i: number, step = 1) => reg(base + i * cols, step);
    const r: Rows = { cols: sc, s1: at(0), q2: at(1), hi: at(3), lo: at(4), s1Pair: reg(base + 5 * cols, 2), scratch: base + 9 * cols };
    const pair = base + 7 * cols;
    const rowRoutine = [
      ...varianceLimbs(ctx, r, c),
      ...invSqrtPairs(ctx, { cols: sc, hi: r.hi.base, lo: r.lo.base, k: base + 2 * cols, scratch: r.scratch, consts: 0, pair }, p.frac),
    ];
    const each = (count: number) => ({ rows: count, cols: sc, dstRowStride: sc, dstColStride: 1, srcRowStride: sc, srcColStride: 1 });
    /** S1 and Q over a chunk's codes, started by the first chunk. */
    const statistics = (count: number, first: boolean): Vec[] => {
      // The first chunk zeroes both sums (a clamp to [0, 0]).
      const start = first ? [r.s1, r.q2].map((d) => ctx.vec({ fn: "add", dst: d.base, src: d.base, cols: sc, dstColStride: 1, srcColStride: 1, useImm: true, clamp: true })) : [];
      const out = [...start, foldRows(ctx, "add", r.s1.base, codesAt, count, sc)];
      for (let x = 0; x < count; x += sq) {
        const from = codesAt + x * sc;
        out.push(ctx.vec({ fn: "mul", dst: squares, src: from, src2: from, ...each(Math.min(sq, count - x)), src2RowStride: sc, src2ColStride: 1 }));
        out.push(foldRows(ctx, "add", r.q2.base, squares, Math.min(sq, count - x), sc));
      }
      return out;
    };
    /** The chunk's outputs to out: n = I·(S1 − N·q), n·γ + β, requantized by M. */
    const elements = (count: number): Vec[] => {
      const inPlace = { dst: codesAt, src: codesAt, ...each(count) };
      const perElement = (fn: VecFn, src2: number) => ctx.vec({ fn, ...inPlace, src2, src2RowStride: 1 });
      return [
        ctx.vec({ fn: "mul", ...inPlace, src2: c.n.base }),
        ctx.vec({ fn: "sub", ...inPlace, src: r.s1.base, srcRowStride: 0, src2: codesAt, src2RowStride: sc, src2ColStride: 1 }),
        ctx.vec({ fn: "requant", ...inPlace, src2: pair, src2ColStride: 2 }),
        perElement("mul", gammaAt),
        ...(beta ? [perElement("add", betaAt)] : []),
        ctx.vec({
          fn: "requant", ...inPlace, dst: 0, src2: c.out.base, imm: p.zOut, clamp: true, lo: p.lo, hi: p.hi,
          dstMem: "out", dtype: "i8", dstRowStride: sc * lanes, dstColStride: lanes,
        }),
      ];
    };
    const stores = (x0: number, count: number) => storeElements(ctx, { ...outLines, addr: outLines.addr + x0, length: count }, slab);
    const spilled = (x0: number) => spill + x0 * sc * lanes;

    // The statistics and I, in steps that leave out alone: the next group's run while this
    // group's outputs still drain from out.
    for (let x0 = 0; x0 < n; x0 += chunk) {
      const count = Math.min(chunk, n - x0);
      const { loads, compute } = gather(ctx, lines, slab, x0, count, codesAt);
      loads.unshift(...setup.splice(0));
      compute.push(...statistics(count, x0 === 0));
      if (x0 + count === n) compute.push(...rowRoutine);
      if (single) {
        ctx.step(loads, compute);
        continue;
      }
      compute.push(ctx.vec({ fn: "add", src: codesAt, ...each(count), useImm: true, dstMem: "out", dtype: "i8", dstRowStride: sc * lanes, dstColStride: lanes }));
      ctx.step(loads, compute, ctx.store({ dram: spilled(x0), ySize: count * sc, xSize: lanes, yStride: lanes, srcStride: lanes }));
    }
    // The outputs, chunk by chunk with their γ and β (the codes still in acc, or reloaded).
    for (let x0 = 0; x0 < n; x0 += chunk) {
      const count = Math.min(chunk, n - x0);
      const reload = single ? [] : [ctx.load({ mem: "acc", mode: "i8", sram: codesAt, dram: spilled(x0), xSize: count * sc, xStride: lanes })];
      ctx.step([...reload, ...affineLoads(x0, count)], elements(count), stores(x0, count));
    }
  }
}
