/**
 * The recurrent cells' node and loop on the NNA (docs/nna-isa.md "LSTM/GRU cells"): validation of
 * an LSTM or GRU node and its scratchpad map (`recurrentNode`), the initial state, and
 * `RecurrentEmitter`, the direction and time loop around a cell that LSTM.ts and GRU.ts subclass.
 * The gate grid, weight plan and projection they use are in recurrent.ts.
 */
import type { Node, TensorType } from "../../../ir/graph.js";
import type { IntArray } from "../../../ir/kernels/gemm.js";
import { integerUnsupported, IntRecurrence, type RecurrentIntParams, type RecurrentKind } from "../../../ir/kernels/recurrent-int.js";
import { attrsOf, type IntCtx } from "../../../ir/op.js";
import { perTensor } from "../../../ir/quant-params.js";
import { tensor, type Tensor } from "../../../ir/tensor.js";
import type { Geometry } from "../config.js";
import { LUT16_ENTRIES, VEC_MAX, type Insn, type Load, type Store, type Vec } from "../isa.js";
import type { Buffer, LowerCtx } from "./context.js";
import { unsupported } from "./elementwise.js";
import {
  checkShifts, chunkRows, concatBytes, gateGrid, leBytes, loadColumns, NO_MULTIPLIER, packGateParams, packGates, packPair, PAIR_VECTORS, planWeights, project,
  stateRows, Steps, yRows, type Frame, type GateGrid, type Pieces,
} from "./recurrent.js";

/** Rows of an acc region: the first vector and the step between batch entries. */
export interface Reg {
  readonly at: number;
  readonly row: number;
}

/** Where rows of a DRAM tensor are: the first row's address and the byte step between batch entries. */
export interface Rows {
  readonly addr: number;
  readonly stride: number;
}

/** What a cell keeps in the scratchpads besides the gate parameters, its gate rows and a chunk's projections. */
export interface CellSpace {
  /** Per-tensor multiplier pairs after the gate parameters: the hidden state's, initial_h's, then the cell's own. */
  readonly pairs: number;
  /** acc vectors of constants after the pairs. */
  readonly consts: number;
  /** acc registers of a row of vh vectors per batch entry: states and temporaries. */
  readonly regs: number;
  /** out bytes per batch entry, in rows of h codes (vh·lanes bytes). */
  readonly outRows: number;
}

/**
 * Scratchpad addresses. acc: [Wb | W pairs | Rb | R pairs] [pairs] [constants] [registers]
 * [G: the batch's gate rows] [xw: a chunk's gate rows]; inp: the rows of the previous hidden state
 * (or another GEMM input of one step), then the chunk's X rows; out: h codes (batch rows of hRow
 * bytes) from 0, then the cell's own; lut: sigmoid, then tanh.
 */
export interface RecurrentMemory {
  readonly wb: number;
  readonly wm: number;
  readonly rb: number;
  readonly rm: number;
  /** acc vector of each per-tensor pair (CellSpace.pairs). */
  readonly pairs: readonly number[];
  readonly consts: number;
  /** acc vectors of the parameters, one load per direction. */
  readonly params: number;
  readonly regs: readonly Reg[];
  readonly gates: number;
  readonly xw: number;
  readonly hIn: number;
  readonly xIn: number;
  /** Bytes of a batch entry's h codes in out. */
  readonly hRow: number;
  readonly hOut: number;
  readonly sigmoid: number;
  readonly tanh: number;
  /** Time steps per input projection. */
  readonly chunk: number;
}

/** Pairs every cell has: the hidden state's output multiplier, then initial_h's. */
export const [OUT_PAIR, H0_PAIR] = [0, 1];

/** The memory map of a node, or undefined when even one step does not fit. */
function recurrentMemory(g: Geometry, grid: GateGrid, f: Frame, kIn: number, kH: number, space: CellSpace): RecurrentMemory | undefined {
  const { vh, stride: s } = grid;
  const b = f.batch;
  const consts = 6 * s + space.pairs * PAIR_VECTORS;
  const params = consts + space.consts;
  const gates = params + space.regs * b * vh;
  const xw = gates + b * s;
  const xIn = b * kH;
  const hRow = vh * g.lanes;
  const chunk = Math.min(f.seq, Math.floor((g.accVectors - xw) / (b * s)), Math.floor((g.inpVectors - xIn) / (b * kIn)), Math.floor(VEC_MAX / b));
  const fits = chunk >= 1 && space.outRows * b * hRow <= g.outBytes && 2 * LUT16_ENTRIES <= g.lutEntries && s <= VEC_MAX;
  return fits ? {
    wb: 0, wm: s, rb: 3 * s, rm: 4 * s, pairs: Array.from({ length: space.pairs }, (_, k) => 6 * s + k * PAIR_VECTORS + 1), consts, params,
    regs: Array.from({ length: space.regs }, (_, k) => ({ at: params + k * b * vh, row: vh })), gates, xw, hIn: 0, xIn, hRow, hOut: 0,
    sigmoid: 0, tanh: LUT16_ENTRIES, chunk,
  } : undefined;
}

/** An initial state computed on the NNA: int8 codes of one scale and zero point, dense. */
export interface StateInput {
  readonly buf: Buffer;
  readonly zp: number;
}

/** An initial state: a constant's values in the state's type ([dirs, batch, hidden]), an activation, or absent. */
export interface Initial {
  readonly values?: IntArray;
  readonly input?: StateInput;
}

/** A validated recurrent node: its reference recurrence, weights, X, geometry and memory map. */
export interface RecurrentNode {
  readonly rec: IntRecurrence;
  readonly w: Tensor;
  readonly r: Tensor;
  readonly b: Tensor | undefined;
  readonly x: Buffer;
  readonly f: Frame;
  readonly grid: GateGrid;
  readonly plan: { readonly w: Pieces; readonly r: Pieces };
  readonly mem: RecurrentMemory;
  readonly h0: Initial;
}

function constantOf(ctx: LowerCtx, node: Node, name: string, what: string): Tensor {
  const t = ctx.graph.initializers.get(name);
  if (!t) throw unsupported(node, `${what} ('${name}') must be a constant`);
  return t;
}

/** The opset of the recurrent ops' current definitions (layout since 14); their integer semantics do not depend on it. */
const RECURRENT_OPSET = 14;

/** The reference's own recurrence on a placeholder X: its checks, parameters and initial states. */
function recurrence(node: Node, ctx: LowerCtx, kind: RecurrentKind, w: Tensor, r: Tensor, b: Tensor | undefined): IntRecurrence {
  const outTypes: TensorType[] = node.outputs.map((n) => (n ? ctx.type(n) : { dtype: "float32", shape: null }));
  const intCtx: IntCtx = {
    node, attrs: attrsOf(node), opset: RECURRENT_OPSET, inTypes: node.inputs.map((n) => (n ? ctx.type(n) : undefined)), outTypes,
    runSubgraph: () => {
      throw unsupported(node, "subgraphs are not lowered");
    },
  };
  return new IntRecurrence([tensor("int8", ctx.shape(node.inputs[0]!, node)), w, r, b], intCtx, kind);
}

/**
 * Validates a quantized LSTM or GRU for the NNA (HW5042 naming what is wrong) and plans its
 * scratchpads, the cell's own part from `space` of the node's parameters.
 */
export function recurrentNode(node: Node, ctx: LowerCtx, kind: RecurrentKind, space: (p: RecurrentIntParams) => CellSpace): RecurrentNode {
  const why = integerUnsupported(node, kind);
  if (why) throw unsupported(node, why);
  const [xName, wName, rName, bName, lensName, h0Name] = node.inputs;
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
  const rec = recurrence(node, ctx, kind, w, r, b);
  const p = rec.params;
  if (p.hidden.dtype !== "int8") throw unsupported(node, `the hidden state must be int8 codes, got ${p.hidden.dtype}`);
  checkShifts(node, p.inputMul.shift, "the input projection");
  checkShifts(node, p.recurMul.shift, "the recurrent product");
  checkShifts(node, [p.outMul.shift, p.h0?.mul.shift ?? 0, p.c0?.mul.shift ?? 0], "the hidden state");

  const g = ctx.geo;
  const f: Frame = { seq: rec.seq, batch: rec.batch, dirs: rec.dirs, input: rec.inputSize, batchFirst: rec.batchFirst };
  const grid = gateGrid(g, kind.gates, rec.hidden, w.dtype === "int4");
  const [kIn, kH] = [f.input, rec.hidden].map((k) => Math.ceil(k / g.vecBytes)) as [number, number];
  const plan = planWeights(g, grid, kIn, kH);
  const mem = recurrentMemory(g, grid, f, kIn, kH, space(p));
  if (!plan || !mem) {
    throw unsupported(node, `hidden size ${rec.hidden}, input size ${f.input} and batch ${f.batch} do not fit the scratchpads even one time step at a time`);
  }
  const h0 = initialState(ctx, node, f, rec.hidden, h0Name, (t) => rec.initialHidden(t));
  return { rec, w, r, b, x, f, grid, plan, mem, h0 };
}

/** An initial state input: a constant rescaled at compile time by the reference itself, an activation, or absent. */
export function initialState(ctx: LowerCtx, node: Node, f: Frame, hidden: number, name: string | undefined, rescale: (t: Tensor) => IntArray): Initial {
  const t = name ? ctx.graph.initializers.get(name) : undefined;
  if (t) return { values: rescale(t) };
  if (!name) return {};
  const shape = f.batchFirst ? [f.batch, f.dirs, hidden] : [f.dirs, f.batch, hidden];
  const type = ctx.type(name);
  const got = ctx.shape(name, node);
  if (type.dtype !== "int8" || got.join() !== shape.join()) {
    throw unsupported(node, `initial state '${name}' must be int8 codes of shape [${shape.join(", ")}], got ${type.dtype} [${got.join(", ")}]`);
  }
  const buf = ctx.buffer(name, node);
  if (buf.layout !== "dense") throw unsupported(node, `initial state '${name}' must be held dense`);
  return { input: { buf, zp: perTensor(type, `'${name}'`).zp } };
}

/** Where one time step of a direction reads and writes. */
export interface StepAt {
  readonly d: number;
  /** Direction d's packed R in DRAM. */
  readonly rAddr: number;
  /** h₋₁'s codes, undefined while they are all zero codes. */
  readonly hFrom: Rows | undefined;
  /** The step's projections in acc. */
  readonly xw: Reg;
  /** Where h goes: Y at the step's time, or a slot. */
  readonly hTo: Rows;
  /** The direction's last step, which also writes the final states. */
  readonly last: boolean;
}

/** What a cell's setup leaves: where h₋₁ is (undefined while all zero codes), and compute to run after the first projection. */
export interface Start {
  readonly hFrom?: Rows;
  readonly first?: Insn[];
}

export const second = (reg: Reg) => ({ src2: reg.at, src2RowStride: reg.row, src2ColStride: 1 });
export const imm = (v: number) => ({ useImm: true, imm: v });
export const sat = (lo: number, hi: number) => ({ clamp: true, lo, hi });

/**
 * The direction and time loop of a validated node. Per direction: its weights packed, one load of
 * its parameters (gate biases and pairs, then the cell's `tail`), the tables and resident weights,
 * the cell's `begin`; then, chunk by chunk, the input projection and the cell's `step` for each
 * time. h goes to `out` at hOut, is stored into Y at its time (or a slot without Y) and reloaded
 * from there as the next step's GEMM input: from the vector unit to the array the only way is
 * through DRAM.
 */
export abstract class RecurrentEmitter {
  protected readonly g: Geometry;
  protected readonly p: RecurrentIntParams;
  protected readonly f: Frame;
  protected readonly grid: GateGrid;
  protected readonly mem: RecurrentMemory;
  protected readonly hidden: number;
  protected readonly batch: number;
  protected readonly steps: Steps;
  protected readonly y: Buffer | undefined;
  protected readonly yh: Buffer | undefined;

  constructor(
    protected readonly node: Node,
    protected readonly ctx: LowerCtx,
    protected readonly rn: RecurrentNode,
  ) {
    this.g = ctx.geo;
    this.p = rn.rec.params;
    this.f = rn.f;
    this.grid = rn.grid;
    this.mem = rn.mem;
    this.hidden = rn.rec.hidden;
    this.batch = rn.f.batch;
    this.steps = new Steps(ctx);
    const rows = this.f.dirs * this.batch;
    this.y = this.used(0) ? ctx.activation(node.outputs[0]!, this.f.seq * rows, this.hidden) : undefined;
    this.yh = this.used(1) ? ctx.activation(node.outputs[1]!, rows, this.hidden) : undefined;
  }

  /** Whether output k is read by a node or the graph. */
  protected used(k: number): boolean {
    const n = this.node.outputs[k];
    return !!n && (this.ctx.consumers(n).length > 0 || this.ctx.graph.outputs.some((o) => o.name === n));
  }

  /** Acc images after the per-tensor pairs of the hidden state and initial_h: the cell's own pairs and constants. */
  protected abstract tail(): Uint8Array[];

  /** Direction d's initial states; `setup` holds the direction's first loads, which this may take or extend. */
  protected abstract begin(d: number, setup: Insn[]): Start;

  /** One time step: the recurrent products, the cell, and the stores (hStores and the cell's own). */
  protected abstract step(at: StepAt): void;

  emit(): void {
    const { ctx, node, f, g, grid, hidden, mem, rn } = this;
    // Without Y, each step's hidden state goes through one slot.
    const hSlot = this.y ?? ctx.activation(undefined, f.batch, hidden);
    const lut = ctx.constant(leBytes([...this.p.sigmoid, ...this.p.tanh], 2));
    const gateRows = grid.gates * hidden;
    const slice = (t: Tensor, d: number, k: number) => (t.data as Int8Array).subarray(d * gateRows * k, (d + 1) * gateRows * k);

    ctx.beginLayer(node);
    for (let d = 0; d < f.dirs; d++) {
      const wAddr = ctx.constant(packGates(g, grid, slice(rn.w, d, f.input), f.input));
      const rAddr = ctx.constant(packGates(g, grid, slice(rn.r, d, hidden), hidden));
      const setup: Insn[] = [this.loadParams(d)];
      if (d === 0) setup.push(ctx.load({ mem: "lut", mode: "i16", dram: lut, xSize: 2 * LUT16_ENTRIES, xStride: 2 }));
      if (rn.plan.r.resident) setup.push(loadColumns(ctx, grid, rn.plan.r, rAddr, 0, grid.cols));
      if (rn.plan.w.resident) setup.push(loadColumns(ctx, grid, rn.plan.w, wAddr, 0, grid.cols));
      const start = this.begin(d, setup);
      let hFrom = start.hFrom;

      const reverse = rn.rec.reverse[d]!;
      for (let s0 = 0; s0 < f.seq; s0 += mem.chunk) {
        const n = Math.min(mem.chunk, f.seq - s0);
        const tmin = reverse ? f.seq - s0 - n : s0;
        const regs = { bias: mem.wb, pairs: mem.wm, xw: mem.xw, xin: mem.xIn };
        project(ctx, this.steps, grid, rn.plan.w, wAddr, f, rn.x, tmin, n, regs, this.p.xZero, setup.splice(0));
        if (s0 === 0 && start.first) this.steps.run(...start.first);
        for (let s = s0; s < s0 + n; s++) {
          const t = reverse ? f.seq - 1 - s : s;
          const yAt = this.y ? yRows(f, t, d) : { row: 0, stride: 1 };
          const hTo: Rows = { addr: hSlot.addr + yAt.row * hidden, stride: yAt.stride * hidden };
          const xw = chunkRows(f, t, tmin, n);
          this.step({ d, rAddr, hFrom, xw: { at: mem.xw + xw.row * grid.stride, row: xw.stride * grid.stride }, hTo, last: s === f.seq - 1 });
          hFrom = hTo;
        }
      }
    }
  }

  /** Direction d's gate biases and pairs, the hidden state's and initial_h's pairs and the cell's tail, as one acc load. */
  private loadParams(d: number): Insn {
    const { g, grid, p, rn } = this;
    const rows = grid.gates * this.hidden;
    const bias = (half: number) => (rn.b ? (rn.b.data as Int32Array).subarray((2 * d + half) * rows, (2 * d + half + 1) * rows) : undefined);
    const data = concatBytes([
      packGateParams(g, grid, bias(0), p.inputMul), packGateParams(g, grid, bias(1), p.recurMul),
      packPair(g, p.outMul), packPair(g, p.h0?.mul ?? NO_MULTIPLIER), ...this.tail(),
    ]);
    return this.ctx.load({ mem: "acc", mode: "i32", dram: this.ctx.constant(data), xSize: this.mem.params, xStride: 4 * g.lanes });
  }

  /** One vector-unit operation over the batch rows; `more` names the second operand and the clamp. */
  protected rowsOp(fn: Vec["fn"], dst: Reg, src: Reg, cols: number, more: Partial<Vec> = {}): Vec {
    return this.ctx.vec({ fn, rows: this.batch, cols, dst: dst.at, dstRowStride: dst.row, dstColStride: 1, src: src.at, srcRowStride: src.row, srcColStride: 1, ...more });
  }

  /** One vector-unit operation from the batch rows at `src` to int8 codes in out at `at`, a row of hRow bytes per batch entry. */
  protected toOut(fn: Vec["fn"], src: Reg, at: number, more: Partial<Vec>): Vec {
    return this.ctx.vec({
      fn, rows: this.batch, cols: this.grid.vh, src: src.at, srcRowStride: src.row, srcColStride: 1, ...more,
      dstMem: "out", dtype: "i8", dst: at, dstRowStride: this.mem.hRow, dstColStride: this.g.lanes,
    });
  }

  /** The batch rows of h₋₁ (or another step input of hidden-state codes) into inp at hIn, the GEMMs' input. */
  protected loadRows(from: Rows): Load {
    return this.ctx.load({ mem: "inp", sram: this.mem.hIn, dram: from.addr, ySize: this.batch, yStride: from.stride, xSize: Math.ceil(this.hidden / this.g.vecBytes), xStride: this.g.vecBytes });
  }

  protected storeRows(sram: number, srcStride: number, to: Rows, bytes: number): Store {
    return this.ctx.store({ sram, dram: to.addr, ySize: this.batch, xSize: bytes, yStride: to.stride, srcStride });
  }

  /** The stores of h's codes from hOut: to `hTo`, and on the direction's last step to Y_h. */
  protected hStores(at: StepAt): Store[] {
    const { mem, hidden } = this;
    const stores = [this.storeRows(mem.hOut, mem.hRow, at.hTo, hidden)];
    if (at.last && this.yh) stores.push(this.storeRows(mem.hOut, mem.hRow, this.stateTo(this.yh, at.d, 1), hidden));
    return stores;
  }

  /** Direction d's rows of a state activation, widened into acc from `into`. */
  protected loadState(into: number, from: Buffer, d: number): Load {
    const st = stateRows(this.f, d);
    const h = this.hidden;
    return this.ctx.load({ mem: "acc", mode: "i8", sram: into, dram: from.addr + st.row * h, ySize: this.batch, yStride: st.stride * h, xSize: this.grid.vh, xStride: this.g.lanes });
  }

  /** Direction d's rows of a state output of `bytes` per element. */
  protected stateTo(buf: Buffer, d: number, bytes: number): Rows {
    const st = stateRows(this.f, d);
    return { addr: buf.addr + st.row * this.hidden * bytes, stride: st.stride * this.hidden * bytes };
  }

  /** Direction d's slab (batch rows of hidden values) of a direction-major state. */
  protected slab(values: IntArray | undefined, d: number): IntArray | undefined {
    const n = this.batch * this.hidden;
    return values?.subarray(d * n, (d + 1) * n);
  }

  /** Constant h₋₁ codes (batch rows) as the first step's GEMM input, or undefined when all are zero codes. */
  protected constantCodes(codes: IntArray | undefined): Rows | undefined {
    if (!codes || codes.every((v) => v === this.p.hidden.zp)) return undefined;
    const bytes = new Uint8Array(codes.length + this.g.vecBytes); // a row is read in whole input vectors
    bytes.set(new Uint8Array(codes.buffer, codes.byteOffset, codes.length));
    return { addr: this.ctx.constant(bytes), stride: this.hidden };
  }

  /** A load of int32 batch rows (`words(e)`: entry e's hidden values) into the acc register `reg`, its padding lanes 0. */
  protected loadWords(reg: Reg, words: (e: number) => ArrayLike<number>): Load {
    const all = new Int32Array(this.batch * this.mem.hRow);
    for (let e = 0; e < this.batch; e++) all.set(words(e), e * this.mem.hRow);
    return this.ctx.load({ mem: "acc", mode: "i32", sram: reg.at, dram: this.ctx.constant(leBytes(all, 4)), xSize: this.batch * this.grid.vh, xStride: 4 * this.g.lanes });
  }

  /** Zeroes the register's batch rows (whatever acc held there). */
  protected zero(reg: Reg): Vec {
    return this.ctx.vec({ fn: "mul", dst: reg.at, src: reg.at, cols: this.batch * this.grid.vh, dstColStride: 1, srcColStride: 1, ...imm(0) });
  }
}
