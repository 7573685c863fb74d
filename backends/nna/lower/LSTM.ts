/**
 * Quantized LSTM on the NNA, bit-exact with `LSTM.runInt` (docs/numerics.md "Integer LSTM";
 * docs/nna-isa.md "LSTM/GRU cells"). The direction and time loop, the input projection per chunk
 * of steps (Q3.12 in acc) and R resident in wgt when it fits are recurrent.ts's, shared with the
 * GRU. Every step, over the batch rows:
 *
 *   G = Rb;  G += (h₋₁ − z_h)·Rᵀ                 GEMMs, R resident in wgt when it fits
 *   G = sat16(requant(G) + xw_t)                 Q3.12, each term saturated as the reference does
 *   i, o, f = lut16 sigmoid;  c̃ = lut16 tanh     Q0.15, the reference's own tables
 *   C = sat(rshr(f·C, 15) + rshr(i·c̃, 30 − f_c)) mulRound is vec.mul + vec.rshr (|products| ≤ 2^30)
 *   h = requant(o · tanh(C to Q3.12))            the exact Q0.30 product to int8 codes
 *
 * The cell state stays in acc for the whole direction. A step whose previous hidden state is all
 * zero codes (no or a zero initial_h) skips the recurrent GEMMs: they would add exactly 0.
 */
import type { Node } from "../../../ir/graph.js";
import { formatRange, Q0_15, Q3_12 } from "../../../ir/kernels/fixed-point.js";
import { LSTM_KIND } from "../../../ir/kernels/recurrent-int.js";
import type { Insn, Vec } from "../isa.js";
import type { Buffer, LowerCtx } from "./context.js";
import { NO_MULTIPLIER, packPair, PRE_HI, PRE_LO, product, requantPre } from "./recurrent.js";
import {
  H0_PAIR, imm, initialState, OUT_PAIR, RecurrentEmitter, recurrentNode, sat, second, type Initial, type Reg, type RecurrentNode, type Start, type StepAt,
} from "./recurrent-loop.js";

const GATES = 4;
/** Gate order in W, R and B. */
const [I, O, F, C] = [0, 1, 2, 3];
/** acc registers: the cell state, and two temporaries. */
const [CELL, T1, T2] = [0, 1, 2];
/** initial_c's pair, after the hidden state's and initial_h's. */
const C0_PAIR = 2;

export function lowerLSTM(node: Node, ctx: LowerCtx): void {
  // out holds h's codes, then C's (int8 or int16) for Y_c.
  const rn = recurrentNode(node, ctx, LSTM_KIND, (p) => ({ pairs: 3, consts: 0, regs: 3, outRows: 1 + p.cell.bits / 8 }));
  const c0 = initialState(ctx, node, rn.f, rn.rec.hidden, node.inputs[6], (t) => rn.rec.initialCell(t));
  new LstmEmitter(node, ctx, rn, c0).emit();
}

class LstmEmitter extends RecurrentEmitter {
  private readonly cellBytes: number;
  private readonly yc: Buffer | undefined;
  /** initial_h computed on the NNA: its codes in the hidden type, the first GEMMs' input. */
  private readonly h0Slot: Buffer | undefined;

  constructor(node: Node, ctx: LowerCtx, rn: RecurrentNode, private readonly c0: Initial) {
    super(node, ctx, rn);
    this.cellBytes = this.p.cell.bits / 8;
    this.yc = this.used(2) ? ctx.activation(node.outputs[2]!, this.f.dirs * this.batch, this.cellBytes * this.hidden) : undefined;
    this.h0Slot = rn.h0.input ? ctx.activation(undefined, this.batch, this.hidden) : undefined;
  }

  protected tail(): Uint8Array[] {
    return [packPair(this.g, this.p.c0?.mul ?? NO_MULTIPLIER)];
  }

  /**
   * Direction d's initial states. Activations are rescaled here, in a step of their own (initial_h
   * then stored to its slot, the GEMMs' input); constants were rescaled at compile time: C joins
   * `setup` as a load, h as the codes the first step reads. A zero C is cleared after the first
   * projection.
   */
  protected begin(d: number, setup: Insn[]): Start {
    const { mem, hidden, steps, c0 } = this;
    const vh = this.grid.vh;
    const [cell, t1] = [mem.regs[CELL]!, mem.regs[T1]!];
    const h0 = this.rn.h0;
    const loads = [...(h0.input ? [this.loadState(t1.at, h0.input.buf, d)] : []), ...(c0.input ? [this.loadState(cell.at, c0.input.buf, d)] : [])];
    if (loads.length > 0) steps.load(...setup.splice(0), ...loads);
    const cells = this.slab(c0.values, d);
    let first: Insn[] | undefined;
    if (c0.input) {
      const [lo, hi] = formatRange(this.p.cell);
      steps.run(this.rowsOp("sub", cell, cell, vh, imm(c0.input.zp)), this.rowsOp("requant", cell, cell, vh, { src2: mem.pairs[C0_PAIR]!, ...sat(lo, hi) }));
    } else if (cells?.some((v) => v !== 0)) {
      setup.push(this.loadWords(cell, (e) => cells.subarray(e * hidden, (e + 1) * hidden)));
    } else {
      first = [this.zero(cell)];
    }
    if (h0.input) {
      steps.run(this.rowsOp("sub", t1, t1, vh, imm(h0.input.zp)), this.toHidden(t1, mem.pairs[H0_PAIR]!));
      const hFrom = { addr: this.h0Slot!.addr, stride: hidden };
      steps.end([this.storeRows(mem.hOut, mem.hRow, hFrom, hidden)]);
      return { hFrom, ...(first ? { first } : {}) };
    }
    const hFrom = this.constantCodes(this.slab(h0.values, d));
    return { ...(hFrom ? { hFrom } : {}), ...(first ? { first } : {}) };
  }

  /** One time step: the recurrent product (skipped while h₋₁ is all zero codes), the cell, and the stores — on the last step also C to Y_c. */
  protected step(at: StepAt): void {
    const { ctx, g, mem, grid, batch, steps } = this;
    const gates = { at: mem.gates, row: grid.stride };
    const init = this.rowsOp("add", gates, { at: mem.rb, row: 0 }, GATES * grid.vh, imm(0));
    if (at.hFrom) product(ctx, steps, grid, this.rn.plan.r, at.rAddr, { acc: mem.gates, inp: mem.hIn, rows: batch, izp: this.p.hidden.zp }, [this.loadRows(at.hFrom)], [init]);
    else steps.run(init);
    steps.run(...this.cellOps(at.xw));
    const stores = this.hStores(at);
    if (at.last && this.yc) {
      const bytes = this.cellBytes;
      const cOut = batch * mem.hRow;
      const cell = mem.regs[CELL]!;
      steps.run(ctx.vec({
        fn: "add", rows: batch, cols: grid.vh, src: cell.at, srcRowStride: cell.row, srcColStride: 1, ...imm(0),
        dstMem: "out", dtype: bytes === 2 ? "i16" : "i8", dst: cOut, dstRowStride: bytes * mem.hRow, dstColStride: bytes * g.lanes,
      }));
      stores.push(this.storeRows(cOut, bytes * mem.hRow, this.stateTo(this.yc, at.d, bytes), bytes * this.hidden));
    }
    steps.end(stores);
  }

  /** From the recurrent accumulators in G and the step's projection `xw` to the new C and h's codes in out. */
  private cellOps(xw: Reg): Insn[] {
    const { mem, grid, p } = this;
    const vh = grid.vh;
    const gate = (k: number): Reg => ({ at: mem.gates + k * vh, row: grid.stride });
    const [cell, t1, t2] = [mem.regs[CELL]!, mem.regs[T1]!, mem.regs[T2]!];
    const [cLo, cHi] = formatRange(p.cell);
    const toPre = p.cell.frac - Q3_12.frac;
    const op = this.rowsOp.bind(this);
    return [
      requantPre(this.ctx, grid, mem.gates, this.batch, grid.stride, mem.rm),
      op("add", gate(0), gate(0), GATES * vh, { ...second(xw), ...sat(PRE_LO, PRE_HI) }),
      op("lut16", gate(I), gate(I), 3 * vh, { src2: mem.sigmoid }), // i, o, f lie side by side
      op("lut16", gate(C), gate(C), vh, { src2: mem.tanh }),
      op("mul", t1, gate(F), vh, second(cell)),
      op("rshr", t1, t1, vh, imm(Q0_15.frac)),
      op("mul", t2, gate(I), vh, second(gate(C))),
      op("rshr", t2, t2, vh, imm(2 * Q0_15.frac - p.cell.frac)),
      op("add", cell, t1, vh, { ...second(t2), ...sat(cLo, cHi) }),
      // C in Q3.12 (shiftRound), saturating where tanh is ±1 anyway.
      ...(toPre === 0 ? [] : [op(toPre > 0 ? "rshr" : "shl", t1, cell, vh, { ...imm(Math.abs(toPre)), ...sat(PRE_LO, PRE_HI) })]),
      op("lut16", t1, toPre === 0 ? cell : t1, vh, { src2: mem.tanh }),
      op("mul", t1, gate(O), vh, second(t1)),
      this.toHidden(t1, mem.pairs[OUT_PAIR]!),
    ];
  }

  /** Hidden-type codes of the batch rows at `src` by the per-tensor pair at `pair`, into out. */
  private toHidden(src: Reg, pair: number): Vec {
    const h = this.p.hidden;
    return this.toOut("requant", src, this.mem.hOut, { src2: pair, imm: h.zp, ...sat(h.lo, h.hi) });
  }
}
