/**
 * Quantized GRU on the NNA, bit-exact with `GRU.runInt` (docs/numerics.md "Integer GRU";
 * docs/nna-isa.md "LSTM/GRU cells"). The direction and time loop, the input projection per chunk
 * of steps (Q3.12 in acc) and R resident in wgt when it fits are recurrent.ts's, shared with the
 * LSTM. The cell keeps δ = H₋₁ − z_h (int32) in acc for the whole direction and, every step, over
 * the batch rows (gates z, r, h):
 *
 *   linear_before_reset ≠ 0:
 *     G = Rb;  G += (h₋₁ − z_h)·Rᵀ                  GEMMs, izp = z_h
 *     G = requant(G) to Q3.12;  z, r = σ(sat(G + xw))      the reference's own tables (lut16)
 *     ĥ = tanh(sat(xw_h + rshr(r·G_h, 15)))
 *   linear_before_reset = 0:
 *     G_zr = Rb_zr;  G_zr += (h₋₁ − z_h)·R_zrᵀ;  z, r as above
 *     ρ = rshr(r·δ, 15), stored as the codes ρ + z_h (|ρ| ≤ |δ|, so they are int8 codes) and
 *     reloaded as the second GEMM's input: G_h = Rb_h;  G_h += ρ·R_hᵀ (izp = z_h)
 *     ĥ = tanh(sat(requant(G_h) + xw_h))
 *   then δ = sat(requant((2^15 − z)·ĥ) + rshr(z·δ, 15)) to [lo − z_h, hi − z_h], and h's codes
 *   δ + z_h to out, stored into Y at its time and reloaded as the next step's GEMM input.
 *
 * 2^15 − z is one `vec.sub` from a constant vector of 2^15. A step whose previous hidden state is
 * all zero codes (the first, without or with a zero initial_h) skips the recurrent GEMMs and, at
 * linear_before_reset = 0, the round trip of ρ: they would add exactly 0.
 */
import type { Node } from "../../../ir/graph.js";
import { Q0_15 } from "../../../ir/kernels/fixed-point.js";
import { GRU_KIND } from "../../../ir/kernels/recurrent-int.js";
import { attrsOf } from "../../../ir/op.js";
import type { Insn } from "../isa.js";
import type { Buffer, LowerCtx } from "./context.js";
import { leBytes, PRE_HI, PRE_LO, product, requantPre } from "./recurrent.js";
import {
  H0_PAIR, imm, OUT_PAIR, RecurrentEmitter, recurrentNode, sat, second, type CellSpace, type Reg, type RecurrentNode, type Rows, type Start, type StepAt,
} from "./recurrent-loop.js";

/** Gate order in W, R and B. */
const [Z, R, H] = [0, 1, 2];
/** acc registers: δ = h − z_h, and two temporaries. */
const [DELTA, T1, T2] = [0, 1, 2];
/** out regions (rows of h codes): h, then ρ's codes. */
const RHO_OUT = 1;
const ONE = 2 ** Q0_15.frac;
/** Pairs: the hidden state's and initial_h's; one constant vector of 2^15. */
const SPACE: CellSpace = { pairs: 2, consts: 1, regs: 3, outRows: 2 };

export function lowerGRU(node: Node, ctx: LowerCtx): void {
  const rn = recurrentNode(node, ctx, GRU_KIND, () => SPACE);
  new GruEmitter(node, ctx, rn, attrsOf(node).int("linear_before_reset", 0) !== 0).emit();
}

class GruEmitter extends RecurrentEmitter {
  /** initial_h computed on the NNA: its codes in the hidden type, the first GEMMs' input. */
  private readonly h0Slot: Buffer | undefined;
  /** linear_before_reset = 0: ρ's codes on their way to the second GEMM. */
  private readonly rhoSlot: Buffer | undefined;

  constructor(node: Node, ctx: LowerCtx, rn: RecurrentNode, private readonly linear: boolean) {
    super(node, ctx, rn);
    this.h0Slot = rn.h0.input ? ctx.activation(undefined, this.batch, this.hidden) : undefined;
    this.rhoSlot = linear ? undefined : ctx.activation(undefined, this.batch, this.hidden);
  }

  protected tail(): Uint8Array[] {
    return [leBytes(new Int32Array(this.g.lanes).fill(ONE), 4)];
  }

  /**
   * δ of direction d: an activation rescaled here in a step of its own (and its codes stored to
   * the slot the first GEMMs read), a constant's codes (rescaled at compile time) joining `setup`
   * as a load of δ, or zero.
   */
  protected begin(d: number, setup: Insn[]): Start {
    const { mem, steps, hidden, p, grid } = this;
    const [delta, t1] = [mem.regs[DELTA]!, mem.regs[T1]!];
    const h = p.hidden;
    const input = this.rn.h0.input;
    if (input) {
      steps.load(...setup.splice(0), this.loadState(t1.at, input.buf, d));
      steps.run(
        this.rowsOp("sub", t1, t1, grid.vh, imm(input.zp)),
        this.rowsOp("requant", delta, t1, grid.vh, { src2: mem.pairs[H0_PAIR]!, ...sat(h.lo - h.zp, h.hi - h.zp) }),
        this.toOut("add", delta, mem.hOut, imm(h.zp)),
      );
      const hFrom = { addr: this.h0Slot!.addr, stride: hidden };
      steps.end([this.storeRows(mem.hOut, mem.hRow, hFrom, hidden)]);
      return { hFrom };
    }
    const codes = this.slab(this.rn.h0.values, d);
    const hFrom = this.constantCodes(codes);
    if (!hFrom) return { first: [this.zero(delta)] };
    setup.push(this.loadWords(delta, (e) => Int32Array.from(codes!.subarray(e * hidden, (e + 1) * hidden), (v) => v - h.zp)));
    return { hFrom };
  }

  protected step(at: StepAt): void {
    const { ctx, mem, grid, steps, p, batch } = this;
    const vh = grid.vh;
    const gate = (k: number): Reg => ({ at: mem.gates + k * vh, row: grid.stride });
    const xw = (k: number): Reg => ({ at: at.xw.at + k * vh, row: at.xw.row });
    const bias = (k: number): Reg => ({ at: mem.rb + k * vh, row: 0 });
    const [delta, t1, t2] = [mem.regs[DELTA]!, mem.regs[T1]!, mem.regs[T2]!];
    const rows = { acc: mem.gates, inp: mem.hIn, rows: batch, izp: p.hidden.zp };
    // Gates [from, from + n) start as Rb and, unless `input` is all zero codes, accumulate its product by R's columns `cols`.
    const recur = (from: number, n: number, cols: readonly [number, number], input: Rows | undefined) => {
      const init = this.rowsOp("add", gate(from), bias(from), n * vh, imm(0));
      if (input) product(ctx, steps, grid, this.rn.plan.r, at.rAddr, rows, [this.loadRows(input)], [init], cols);
      else steps.run(init);
    };
    const toPre = (from: number, n: number) => requantPre(ctx, grid, gate(from).at, batch, grid.stride, mem.rm + 2 * from * vh, n * vh);
    const sigmoid = [
      this.rowsOp("add", gate(Z), gate(Z), 2 * vh, { ...second(xw(Z)), ...sat(PRE_LO, PRE_HI) }),
      this.rowsOp("lut16", gate(Z), gate(Z), 2 * vh, { src2: mem.sigmoid }), // z and r lie side by side
    ];
    if (this.linear) {
      recur(Z, 3, [0, grid.cols], at.hFrom);
      steps.run(
        toPre(Z, 3), ...sigmoid,
        this.rowsOp("mul", t1, gate(R), vh, second(gate(H))),
        this.rowsOp("rshr", t1, t1, vh, imm(Q0_15.frac)),
        this.rowsOp("add", gate(H), xw(H), vh, { ...second(t1), ...sat(PRE_LO, PRE_HI) }),
      );
    } else {
      // z and r fill whole weight columns (2vh vectors; a column writes 1 or 2), h starts the next.
      const split = (2 * vh) / grid.perCol;
      recur(Z, 2, [0, split], at.hFrom);
      steps.run(toPre(Z, 2), ...sigmoid);
      recur(H, 1, [split, grid.cols], at.hFrom && this.reset(gate(R), delta, t2));
      steps.run(toPre(H, 1), this.rowsOp("add", gate(H), gate(H), vh, { ...second(xw(H)), ...sat(PRE_LO, PRE_HI) }));
    }
    const h = p.hidden;
    steps.run(
      this.rowsOp("lut16", gate(H), gate(H), vh, { src2: mem.tanh }),
      // δ = sat(requant((2^15 − z)·ĥ) + rshr(z·δ, 15)), the reference's blend less z_h.
      this.rowsOp("sub", t1, { at: mem.consts, row: 0 }, vh, { srcColStride: 0, ...second(gate(Z)) }),
      this.rowsOp("mul", t1, t1, vh, second(gate(H))),
      this.rowsOp("requant", t1, t1, vh, { src2: mem.pairs[OUT_PAIR]! }),
      this.rowsOp("mul", t2, gate(Z), vh, second(delta)),
      this.rowsOp("rshr", t2, t2, vh, imm(Q0_15.frac)),
      this.rowsOp("add", delta, t1, vh, { ...second(t2), ...sat(h.lo - h.zp, h.hi - h.zp) }),
      this.toOut("add", delta, mem.hOut, imm(h.zp)),
    );
    steps.end(this.hStores(at));
  }

  /**
   * ρ = rshr(r·δ, 15) as the codes ρ + z_h, stored to the slot the second GEMM reads (ending the
   * step); returns the slot's rows.
   */
  private reset(r: Reg, delta: Reg, tmp: Reg): Rows {
    const { mem, steps, batch, hidden } = this;
    const at = RHO_OUT * batch * mem.hRow;
    const rho: Rows = { addr: this.rhoSlot!.addr, stride: hidden };
    steps.run(
      this.rowsOp("mul", tmp, r, this.grid.vh, second(delta)),
      this.rowsOp("rshr", tmp, tmp, this.grid.vh, imm(Q0_15.frac)),
      this.toOut("add", tmp, at, imm(this.p.hidden.zp)),
    );
    steps.end([this.storeRows(at, mem.hRow, rho, hidden)]);
    return rho;
  }
}
