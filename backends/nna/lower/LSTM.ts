/**
 * Quantized LSTM on the NNA, bit-exact with `LSTM.runInt` (docs/numerics.md "Integer LSTM";
 * docs/nna-isa.md "LSTM/GRU cells"). Per direction, for each chunk of time steps whose input
 * projection fits acc, the projection of all its steps is one GEMM per weight column into acc,
 * requantized to Q3.12 there (recurrent.ts `project`). Then every step, over the batch rows:
 *
 *   G = Rb;  G += (h₋₁ − z_h)·Rᵀ                 GEMMs, R resident in wgt when it fits
 *   G = sat16(requant(G) + xw_t)                 Q3.12, each term saturated as the reference does
 *   i, o, f = lut16 sigmoid;  c̃ = lut16 tanh     Q0.15, the reference's own tables
 *   C = sat(rshr(f·C, 15) + rshr(i·c̃, 30 − f_c)) mulRound is vec.mul + vec.rshr (|products| ≤ 2^30)
 *   h = requant(o · tanh(C to Q3.12))            the exact Q0.30 product to int8 codes
 *
 * h goes to `out`, is stored into Y at its time and reloaded from there as the next step's GEMM
 * input: from the vector unit to the array the only way is through DRAM. The cell state stays in
 * acc for the whole direction. A step whose previous hidden state is all zero codes (no or a zero
 * initial_h) skips the recurrent GEMMs: they would add exactly 0.
 */
import type { Node, TensorType } from "../../../ir/graph.js";
import { formatRange, Q0_15, Q3_12 } from "../../../ir/kernels/fixed-point.js";
import type { IntArray } from "../../../ir/kernels/gemm.js";
import { integerUnsupported, IntRecurrence, LSTM_KIND, type RecurrentIntParams } from "../../../ir/kernels/recurrent-int.js";
import type { FixedMultiplier } from "../../../ir/numeric.js";
import { attrsOf, type IntCtx } from "../../../ir/op.js";
import { perTensor } from "../../../ir/quant-params.js";
import { tensor, type Tensor } from "../../../ir/tensor.js";
import type { Geometry } from "../config.js";
import { LUT16_ENTRIES, type Insn, type Store, type Vec, VEC_MAX } from "../isa.js";
import type { Buffer, LowerCtx } from "./context.js";
import { unsupported } from "./elementwise.js";
import {
  chunkRows, checkShifts, concatBytes, gateGrid, leBytes, loadColumns, PAIR_VECTORS, packGateParams, packGates, packPair, planWeights, PRE_HI,
  PRE_LO, product, project, requantPre, stateRows, Steps, yRows, type Frame, type GateGrid, type Pieces,
} from "./recurrent.js";

const GATES = 4;
/** Gate order in W, R and B. */
const [I, O, F, C] = [0, 1, 2, 3];
const NO_MULTIPLIER: FixedMultiplier = { m0: 0, shift: 0 };
/** The opset of LSTM's current definition (layout since 14); its integer semantics do not depend on it. */
const LSTM_OPSET = 14;

/** Rows of an acc region: the first vector and the step between batch entries. */
interface Reg {
  readonly at: number;
  readonly row: number;
}

/** Where rows of a DRAM tensor are: the first row's address and the byte step between batch entries. */
interface Rows {
  readonly addr: number;
  readonly stride: number;
}

/**
 * Scratchpad addresses. acc: [Wb | W pairs | Rb | R pairs] [outMul | h0 | c0 pairs] [C] [T1] [T2]
 * [G: the batch's gate rows] [xw: a chunk's gate rows]; inp: the previous hidden state's rows,
 * then the chunk's X rows; out: h codes (batch rows of vh·lanes bytes), then C for Y_c; lut:
 * sigmoid, then tanh.
 */
interface MemoryMap {
  readonly wb: number;
  readonly wm: number;
  readonly rb: number;
  readonly rm: number;
  readonly om: number;
  readonly h0m: number;
  readonly c0m: number;
  /** acc vectors of the parameters, one load per direction. */
  readonly params: number;
  readonly cell: Reg;
  readonly t1: Reg;
  readonly t2: Reg;
  readonly gates: number;
  readonly xw: number;
  readonly hIn: number;
  readonly xIn: number;
  /** Bytes of a batch entry's h codes in out. */
  readonly hRow: number;
  readonly hOut: number;
  readonly cOut: number;
  readonly sigmoid: number;
  readonly tanh: number;
  /** Time steps per input projection. */
  readonly chunk: number;
}

/** The memory map of a node, or undefined when even one step does not fit. */
function memoryMap(g: Geometry, grid: GateGrid, f: Frame, kIn: number, kH: number, cellBytes: number): MemoryMap | undefined {
  const { vh, stride: s } = grid;
  const b = f.batch;
  const params = 6 * s + 3 * PAIR_VECTORS;
  const [om, h0m, c0m] = [0, 1, 2].map((k) => 6 * s + k * PAIR_VECTORS + 1) as [number, number, number];
  const state = (k: number): Reg => ({ at: params + k * b * vh, row: vh });
  const gates = params + 3 * b * vh;
  const xw = gates + b * s;
  const xIn = b * kH;
  const hRow = vh * g.lanes;
  const chunk = Math.min(f.seq, Math.floor((g.accVectors - xw) / (b * s)), Math.floor((g.inpVectors - xIn) / (b * kIn)), Math.floor(VEC_MAX / b));
  const fits = chunk >= 1 && (1 + cellBytes) * b * hRow <= g.outBytes && 2 * LUT16_ENTRIES <= g.lutEntries && s <= VEC_MAX;
  return fits ? {
    wb: 0, wm: s, rb: 3 * s, rm: 4 * s, om, h0m, c0m, params, cell: state(0), t1: state(1), t2: state(2), gates, xw,
    hIn: 0, xIn, hRow, hOut: 0, cOut: b * hRow, sigmoid: 0, tanh: LUT16_ENTRIES, chunk,
  } : undefined;
}

function constantOf(ctx: LowerCtx, node: Node, name: string, what: string): Tensor {
  const t = ctx.graph.initializers.get(name);
  if (!t) throw unsupported(node, `${what} ('${name}') must be a constant`);
  return t;
}

/** An initial state computed on the NNA: int8 codes of one scale and zero point, dense. */
interface StateInput {
  readonly buf: Buffer;
  readonly zp: number;
}

/** An initial state: a constant's values in the state's type ([dirs, batch, hidden]), an activation, or absent. */
interface Initial {
  readonly values?: IntArray;
  readonly input?: StateInput;
}

function stateInput(ctx: LowerCtx, node: Node, name: string, shape: readonly number[]): StateInput {
  const t = ctx.type(name);
  const got = ctx.shape(name, node);
  if (t.dtype !== "int8" || got.join() !== shape.join()) {
    throw unsupported(node, `initial state '${name}' must be int8 codes of shape [${shape.join(", ")}], got ${t.dtype} [${got.join(", ")}]`);
  }
  const buf = ctx.buffer(name, node);
  if (buf.layout !== "dense") throw unsupported(node, `initial state '${name}' must be held dense`);
  return { buf, zp: perTensor(t, `'${name}'`).zp };
}

/** The reference's own recurrence on a placeholder X: its checks, parameters and initial states. */
function recurrence(node: Node, ctx: LowerCtx, w: Tensor, r: Tensor, b: Tensor | undefined): IntRecurrence {
  const outTypes: TensorType[] = node.outputs.map((n) => (n ? ctx.type(n) : { dtype: "float32", shape: null }));
  const intCtx: IntCtx = {
    node, attrs: attrsOf(node), opset: LSTM_OPSET, inTypes: node.inputs.map((n) => (n ? ctx.type(n) : undefined)), outTypes,
    runSubgraph: () => {
      throw unsupported(node, "subgraphs are not lowered");
    },
  };
  return new IntRecurrence([tensor("int8", ctx.shape(node.inputs[0]!, node)), w, r, b], intCtx, LSTM_KIND);
}

export function lowerLSTM(node: Node, ctx: LowerCtx): void {
  const why = integerUnsupported(node, LSTM_KIND);
  if (why) throw unsupported(node, why);
  const [xName, wName, rName, bName, lensName, h0Name, c0Name] = node.inputs;
  if (lensName) throw unsupported(node, "sequence_lens is not supported: every sequence must run the whole length");
  const w = constantOf(ctx, node, wName!, "W");
  const r = constantOf(ctx, node, rName!, "R");
  const b = bName ? constantOf(ctx, node, bName, "B") : undefined;
  if (w.dtype !== r.dtype || (w.dtype !== "int8" && w.dtype !== "int4")) {
    throw unsupported(node, `W and R must both be int8 or both int4 codes, got ${w.dtype} and ${r.dtype}`);
  }
  const xType = ctx.type(xName!);
  if (xType.dtype !== "int8") throw unsupported(node, `X must be int8 codes, got ${xType.dtype}`);
  const x = ctx.buffer(xName!, node);
  if (x.layout !== "dense") throw unsupported(node, `X ('${xName}') must be held dense`);
  const rec = recurrence(node, ctx, w, r, b);
  const p = rec.params;
  if (p.hidden.dtype !== "int8") throw unsupported(node, `the hidden state must be int8 codes, got ${p.hidden.dtype}`);
  checkShifts(node, p.inputMul.shift, "the input projection");
  checkShifts(node, p.recurMul.shift, "the recurrent product");
  checkShifts(node, [p.outMul.shift, p.h0?.mul.shift ?? 0, p.c0?.mul.shift ?? 0], "the hidden state");

  const g = ctx.geo;
  const f: Frame = { seq: rec.seq, batch: rec.batch, dirs: rec.dirs, input: rec.inputSize, batchFirst: rec.batchFirst };
  const grid = gateGrid(g, GATES, rec.hidden, w.dtype === "int4");
  const [kIn, kH] = [f.input, rec.hidden].map((k) => Math.ceil(k / g.vecBytes)) as [number, number];
  const plan = planWeights(g, grid, kIn, kH);
  const mem = memoryMap(g, grid, f, kIn, kH, p.cell.bits / 8);
  if (!plan || !mem) {
    throw unsupported(node, `hidden size ${rec.hidden}, input size ${f.input} and batch ${f.batch} do not fit the scratchpads even one time step at a time`);
  }
  const stateShape = f.batchFirst ? [f.batch, f.dirs, rec.hidden] : [f.dirs, f.batch, rec.hidden];
  // Constant initial states are rescaled at compile time by the reference itself.
  const initial = (name: string | undefined, rescale: (t: Tensor) => IntArray): Initial => {
    const t = name ? ctx.graph.initializers.get(name) : undefined;
    if (t) return { values: rescale(t) };
    return name ? { input: stateInput(ctx, node, name, stateShape) } : {};
  };
  const h0 = initial(h0Name, (t) => rec.initialHidden(t));
  const c0 = initial(c0Name, (t) => rec.initialCell(t));
  new LstmEmitter(node, ctx, rec, f, grid, mem, x).emit(w, r, b, plan, h0, c0);
}

/** Emits a validated node's program; the fields are what every step reads. */
class LstmEmitter {
  private readonly g: Geometry;
  private readonly p: RecurrentIntParams;
  private readonly hidden: number;
  private readonly batch: number;
  private readonly cellBytes: number;
  private readonly steps: Steps;

  constructor(
    private readonly node: Node,
    private readonly ctx: LowerCtx,
    private readonly rec: IntRecurrence,
    private readonly f: Frame,
    private readonly grid: GateGrid,
    private readonly mem: MemoryMap,
    private readonly x: Buffer,
  ) {
    this.g = ctx.geo;
    this.p = rec.params;
    this.hidden = rec.hidden;
    this.batch = rec.batch;
    this.cellBytes = this.p.cell.bits / 8;
    this.steps = new Steps(ctx);
  }

  emit(w: Tensor, r: Tensor, b: Tensor | undefined, plan: { w: Pieces; r: Pieces }, h0: Initial, c0: Initial): void {
    const { ctx, node, f, hidden } = this;
    const used = (k: number) => {
      const n = node.outputs[k];
      return !!n && (ctx.consumers(n).length > 0 || ctx.graph.outputs.some((o) => o.name === n));
    };
    const rows = f.dirs * f.batch;
    const out = {
      y: used(0) ? ctx.activation(node.outputs[0]!, f.seq * rows, hidden) : undefined,
      yh: used(1) ? ctx.activation(node.outputs[1]!, rows, hidden) : undefined,
      yc: used(2) ? ctx.activation(node.outputs[2]!, rows, this.cellBytes * hidden) : undefined,
    };
    // Without Y, each step's hidden state goes through one slot.
    const hSlot = out.y ?? ctx.activation(undefined, f.batch, hidden);
    const h0Slot = h0.input ? ctx.activation(undefined, f.batch, hidden) : undefined;
    const lut = ctx.constant(leBytes([...this.p.sigmoid, ...this.p.tanh], 2));
    const gateRows = GATES * hidden;

    ctx.beginLayer(node);
    for (let d = 0; d < f.dirs; d++) {
      const wAddr = ctx.constant(packGates(this.g, this.grid, (w.data as Int8Array).subarray(d * gateRows * f.input, (d + 1) * gateRows * f.input), f.input));
      const rAddr = ctx.constant(packGates(this.g, this.grid, (r.data as Int8Array).subarray(d * gateRows * hidden, (d + 1) * gateRows * hidden), hidden));
      const bias = (half: number) => (b ? (b.data as Int32Array).subarray((2 * d + half) * gateRows, (2 * d + half + 1) * gateRows) : undefined);
      const setup: Insn[] = [this.loadParams(bias(0), bias(1))];
      if (d === 0) setup.push(ctx.load({ mem: "lut", mode: "i16", dram: lut, xSize: 2 * LUT16_ENTRIES, xStride: 2 }));
      if (plan.r.resident) setup.push(loadColumns(ctx, this.grid, plan.r, rAddr, 0, this.grid.cols));
      if (plan.w.resident) setup.push(loadColumns(ctx, this.grid, plan.w, wAddr, 0, this.grid.cols));
      const initial = this.initialStates(d, setup, h0, c0, h0Slot);
      let hFrom = initial.hFrom;

      for (let s0 = 0; s0 < f.seq; s0 += this.mem.chunk) {
        const n = Math.min(this.mem.chunk, f.seq - s0);
        const tmin = this.rec.reverse[d] ? f.seq - s0 - n : s0;
        const regs = { bias: this.mem.wb, pairs: this.mem.wm, xw: this.mem.xw, xin: this.mem.xIn };
        project(ctx, this.steps, this.grid, plan.w, wAddr, f, this.x, tmin, n, regs, this.p.xZero, setup.splice(0));
        if (s0 === 0 && initial.zeroCell) this.steps.run(initial.zeroCell);
        for (let s = s0; s < s0 + n; s++) {
          const t = this.rec.reverse[d] ? f.seq - 1 - s : s;
          const yAt = out.y ? yRows(f, t, d) : { row: 0, stride: 1 };
          const hTo: Rows = { addr: hSlot.addr + yAt.row * hidden, stride: yAt.stride * hidden };
          const last = s === f.seq - 1;
          this.step(plan.r, rAddr, hFrom, chunkRows(f, t, tmin, n), hTo, d, last ? out : {});
          hFrom = hTo;
        }
      }
    }
  }

  /** The direction's biases, gate multipliers and per-tensor pairs, as one acc load. */
  private loadParams(wb: Int32Array | undefined, rb: Int32Array | undefined): Insn {
    const { g, grid, p } = this;
    const data = concatBytes([
      packGateParams(g, grid, wb, p.inputMul), packGateParams(g, grid, rb, p.recurMul),
      packPair(g, p.outMul), packPair(g, p.h0?.mul ?? NO_MULTIPLIER), packPair(g, p.c0?.mul ?? NO_MULTIPLIER),
    ]);
    return this.ctx.load({ mem: "acc", mode: "i32", dram: this.ctx.constant(data), xSize: this.mem.params, xStride: 4 * g.lanes });
  }

  /**
   * Direction d's initial states. Activations are rescaled here, in a step of their own (initial_h
   * then stored to `slot`, the GEMMs' input); constants were rescaled at compile time: C joins
   * `setup` as a load, h as the codes the first step reads. Returns where h₋₁ is (undefined while
   * it is all zero codes) and, for a zero C, the instruction clearing it.
   */
  private initialStates(d: number, setup: Insn[], h0: Initial, c0: Initial, slot: Buffer | undefined): { hFrom?: Rows; zeroCell?: Vec } {
    const { ctx, g, mem, batch, hidden, steps } = this;
    const vh = this.grid.vh;
    const { cell, t1 } = mem;
    const slab = batch * hidden;
    const loads = [...(h0.input ? [this.loadState(t1.at, h0.input.buf, d)] : []), ...(c0.input ? [this.loadState(cell.at, c0.input.buf, d)] : [])];
    if (loads.length > 0) steps.load(...setup.splice(0), ...loads);
    const cells = c0.values?.subarray(d * slab, (d + 1) * slab);
    let zeroCell: Vec | undefined;
    if (c0.input) {
      const [lo, hi] = formatRange(this.p.cell);
      steps.run(this.rowsOp("sub", cell, cell, vh, imm(c0.input.zp)), this.rowsOp("requant", cell, cell, vh, { src2: mem.c0m, ...sat(lo, hi) }));
    } else if (cells?.some((v) => v !== 0)) {
      const words = new Int32Array(batch * mem.hRow);
      for (let e = 0; e < batch; e++) words.set(cells.subarray(e * hidden, (e + 1) * hidden), e * mem.hRow);
      setup.push(ctx.load({ mem: "acc", mode: "i32", sram: cell.at, dram: ctx.constant(leBytes(words, 4)), xSize: batch * vh, xStride: 4 * g.lanes }));
    } else {
      zeroCell = ctx.vec({ fn: "mul", dst: cell.at, src: cell.at, cols: batch * vh, dstColStride: 1, srcColStride: 1, ...imm(0) });
    }
    if (h0.input) {
      steps.run(this.rowsOp("sub", t1, t1, vh, imm(h0.input.zp)), this.toHidden(t1, mem.h0m));
      const hFrom = { addr: slot!.addr, stride: hidden };
      steps.end([this.storeRows(mem.hOut, mem.hRow, hFrom, hidden)]);
      return { hFrom, zeroCell };
    }
    const codes = h0.values?.subarray(d * slab, (d + 1) * slab);
    if (!codes || codes.every((v) => v === this.p.hidden.zp)) return { zeroCell };
    const bytes = new Uint8Array(slab + g.vecBytes); // a row is read in whole input vectors
    bytes.set(new Uint8Array(codes.buffer, codes.byteOffset, slab));
    return { hFrom: { addr: ctx.constant(bytes), stride: hidden }, zeroCell };
  }

  /**
   * One time step: the recurrent product (skipped while h₋₁ is all zero codes), the cell, and the
   * stores of h to `hTo` — and on the last step of a direction to Y_h, with C to Y_c.
   */
  private step(r: Pieces, rAddr: number, hFrom: Rows | undefined, xw: { row: number; stride: number }, hTo: Rows, d: number, last: { yh?: Buffer; yc?: Buffer }): void {
    const { ctx, g, mem, grid, batch, hidden, steps } = this;
    const gates = { at: mem.gates, row: grid.stride };
    const init = this.rowsOp("add", gates, { at: mem.rb, row: 0 }, GATES * grid.vh, imm(0));
    if (hFrom) {
      const hLoad = ctx.load({ mem: "inp", sram: mem.hIn, dram: hFrom.addr, ySize: batch, yStride: hFrom.stride, xSize: Math.ceil(hidden / g.vecBytes), xStride: g.vecBytes });
      product(ctx, steps, grid, r, rAddr, { acc: mem.gates, inp: mem.hIn, rows: batch, izp: this.p.hidden.zp }, [hLoad], [init]);
    } else {
      steps.run(init);
    }
    steps.run(...this.cellOps({ at: mem.xw + xw.row * grid.stride, row: xw.stride * grid.stride }));
    const stores = [this.storeRows(mem.hOut, mem.hRow, hTo, hidden)];
    if (last.yh) stores.push(this.storeRows(mem.hOut, mem.hRow, this.stateTo(last.yh, d, 1), hidden));
    if (last.yc) {
      const bytes = this.cellBytes;
      steps.run(ctx.vec({
        fn: "add", rows: batch, cols: grid.vh, src: mem.cell.at, srcRowStride: mem.cell.row, srcColStride: 1, ...imm(0),
        dstMem: "out", dtype: bytes === 2 ? "i16" : "i8", dst: mem.cOut, dstRowStride: bytes * mem.hRow, dstColStride: bytes * g.lanes,
      }));
      stores.push(this.storeRows(mem.cOut, bytes * mem.hRow, this.stateTo(last.yc, d, bytes), bytes * hidden));
    }
    steps.end(stores);
  }

  /** From the recurrent accumulators in G and the step's projection `xw` to the new C and h's codes in out. */
  private cellOps(xw: Reg): Insn[] {
    const { mem, grid, p } = this;
    const vh = grid.vh;
    const gate = (k: number): Reg => ({ at: mem.gates + k * vh, row: grid.stride });
    const { cell, t1, t2 } = mem;
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
      this.toHidden(t1, mem.om),
    ];
  }

  /** One vector-unit operation over the batch rows; `more` names the second operand and the clamp. */
  private rowsOp(fn: Vec["fn"], dst: Reg, src: Reg, cols: number, more: Partial<Vec> = {}): Vec {
    return this.ctx.vec({ fn, rows: this.batch, cols, dst: dst.at, dstRowStride: dst.row, dstColStride: 1, src: src.at, srcRowStride: src.row, srcColStride: 1, ...more });
  }

  /** Hidden-type codes of the batch rows at `src` by the per-tensor pair at `pair`, into out. */
  private toHidden(src: Reg, pair: number): Vec {
    const h = this.p.hidden;
    return this.ctx.vec({
      fn: "requant", rows: this.batch, cols: this.grid.vh, src: src.at, srcRowStride: src.row, srcColStride: 1, src2: pair, imm: h.zp, ...sat(h.lo, h.hi),
      dstMem: "out", dtype: "i8", dst: this.mem.hOut, dstRowStride: this.mem.hRow, dstColStride: this.g.lanes,
    });
  }

  private storeRows(sram: number, srcStride: number, to: Rows, bytes: number): Store {
    return this.ctx.store({ sram, dram: to.addr, ySize: this.batch, xSize: bytes, yStride: to.stride, srcStride });
  }

  /** Direction d's rows of a state activation, widened into acc from `into`. */
  private loadState(into: number, from: Buffer, d: number): Insn {
    const st = stateRows(this.f, d);
    const h = this.hidden;
    return this.ctx.load({ mem: "acc", mode: "i8", sram: into, dram: from.addr + st.row * h, ySize: this.batch, yStride: st.stride * h, xSize: this.grid.vh, xStride: this.g.lanes });
  }

  /** Direction d's rows of a state output of `bytes` per element. */
  private stateTo(buf: Buffer, d: number, bytes: number): Rows {
    const st = stateRows(this.f, d);
    return { addr: buf.addr + st.row * this.hidden * bytes, stride: st.stride * this.hidden * bytes };
  }
}

const second = (reg: Reg) => ({ src2: reg.at, src2RowStride: reg.row, src2ColStride: 1 });
const imm = (v: number) => ({ useImm: true, imm: v });
const sat = (lo: number, hi: number) => ({ clamp: true, lo, hi });
