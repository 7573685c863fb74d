/**
 * What the recurrent cells share on the NNA (docs/nna-isa.md "LSTM/GRU cells"): the node's
 * validation and scratchpad map, the gate grid, the weight residency plan, the input projection of
 * a chunk of time steps, and the step builder that groups loads, compute and stores into the
 * context's steps; recurrent-loop.ts has the node's validation and the direction and time loop.
 *
 * Gate grid: the vector unit cannot move a value across lanes, yet a cell combines gates unit by
 * unit (f·C, i·c̃, o·tanh C). So every gate is padded to whole acc vectors: unit j of gate k is lane
 * j mod lanes of vector k·vh + ⌊j / lanes⌋ of its batch entry's gate row, the same lane as unit j
 * of the cell state. The padding channels have zero weights, bias and multipliers (their
 * pre-activations are 0) and are never stored.
 */
import type { Node } from "../../../ir/graph.js";
import { formatRange, Q3_12 } from "../../../ir/kernels/fixed-point.js";
import type { FixedMultiplier } from "../../../ir/numeric.js";
import type { Multipliers } from "../../../ir/quant-params.js";
import type { Geometry } from "../config.js";
import { MAX_K_BLOCKS, type Gemm, type Insn, type Load, type Store, type Vec } from "../isa.js";
import type { Buffer, LowerCtx } from "./context.js";
import { unsupported } from "./elementwise.js";
import { columnLanes, packParams, packWeights } from "./pack.js";

/** How a node's gate rows lie in acc and in the weight columns. */
export interface GateGrid {
  readonly gates: number;
  readonly hidden: number;
  readonly lanes: number;
  /** acc vectors per gate: the hidden units padded to whole vectors. */
  readonly vh: number;
  readonly int4: boolean;
  /** Weight columns of all gates, and the acc vectors one column's GEMM writes. */
  readonly cols: number;
  readonly perCol: number;
  /** acc vectors per batch entry's gate row: cols · perCol ≥ gates · vh. */
  readonly stride: number;
}

export function gateGrid(g: Geometry, gates: number, hidden: number, int4: boolean): GateGrid {
  const vh = Math.ceil(hidden / g.lanes);
  const colLanes = columnLanes(g, int4);
  const cols = Math.ceil((gates * vh * g.lanes) / colLanes);
  const perCol = colLanes / g.lanes;
  return { gates, hidden, lanes: g.lanes, vh, int4, cols, perCol, stride: cols * perCol };
}

/** The gate row (gate · hidden + unit) padded channel n holds, or −1 for a padding channel. */
function gateRow(grid: GateGrid, n: number): number {
  const span = grid.vh * grid.lanes;
  const j = n % span;
  return n < grid.gates * span && j < grid.hidden ? Math.floor(n / span) * grid.hidden + j : -1;
}

/** Weight blocks (pack.ts) of a row-major [gates·hidden, k] matrix of codes, its rows as the padded channels. */
export function packGates(g: Geometry, grid: GateGrid, codes: ArrayLike<number>, k: number): Uint8Array {
  return packWeights(g, { k, n: grid.gates * grid.vh * grid.lanes, int4: grid.int4 }, (i, n) => {
    const r = gateRow(grid, n);
    return r < 0 ? 0 : codes[r * k + i]!;
  });
}

/** Per gate row bias and requantization pairs in the padded order: `stride` bias vectors, then a pair per vector (pack.ts packParams). */
export function packGateParams(g: Geometry, grid: GateGrid, bias: ArrayLike<number> | undefined, mul: Multipliers): Uint8Array {
  const n = grid.stride * grid.lanes;
  const b = new Int32Array(n);
  const m0 = new Int32Array(n);
  const shift = new Int8Array(n);
  for (let c = 0; c < n; c++) {
    const r = gateRow(grid, c);
    if (r < 0) continue;
    const k = mul.m0.length > 1 ? r : 0;
    if (bias) b[c] = bias[r]!;
    m0[c] = mul.m0[k]!;
    shift[c] = mul.shift[k]!;
  }
  return packParams(g, grid.stride, b, { m0, shift });
}

/** Acc vectors of one per-tensor multiplier: a zero vector, then the pair at offset 1. */
export const PAIR_VECTORS = 3;

export function packPair(g: Geometry, m: FixedMultiplier): Uint8Array {
  return packParams(g, 1, undefined, { m0: Int32Array.of(m.m0), shift: Int8Array.of(m.shift) });
}

/** The pair of a state that is not given: never read. */
export const NO_MULTIPLIER: FixedMultiplier = { m0: 0, shift: 0 };

/** Refuses multipliers whose shift `vec.requant` does not take (HW5033 at run time otherwise). */
export function checkShifts(node: Node, shifts: ArrayLike<number>, what: string): void {
  for (let i = 0; i < shifts.length; i++) {
    const s = shifts[i]!;
    if (s < -31 || s > 30) throw unsupported(node, `${what} needs a requantization shift of ${s}, outside the vector unit's [-31, 30]`);
  }
}

/** Where one weight matrix of a direction lives in wgt, and whether one load per direction keeps it there. */
export interface Pieces {
  /** wgt block of the first column loaded. */
  readonly base: number;
  /** Columns per load. */
  readonly group: number;
  readonly resident: boolean;
  /** K blocks per column. */
  readonly kBlocks: number;
}

/**
 * Where the input weights W (kIn blocks per column) and the recurrent weights R (kH) go: both
 * resident when they fit together; else R resident and W streamed through the rest, a group of
 * columns at a time; else both streamed through all of wgt (R again every step). Undefined when
 * not even one column fits.
 */
export function planWeights(g: Geometry, grid: GateGrid, kIn: number, kH: number): { w: Pieces; r: Pieces } | undefined {
  const [rSize, wSize, total] = [grid.cols * kH, grid.cols * kIn, g.wgtBlocks];
  const r = { base: 0, group: grid.cols, resident: true, kBlocks: kH };
  if (rSize + wSize <= total) return { r, w: { base: rSize, group: grid.cols, resident: true, kBlocks: kIn } };
  if (rSize + kIn <= total) return { r, w: { base: rSize, group: Math.floor((total - rSize) / kIn), resident: false, kBlocks: kIn } };
  const [gr, gw] = [Math.floor(total / kH), Math.floor(total / kIn)];
  if (gr < 1 || gw < 1) return undefined;
  return { r: { ...r, group: gr, resident: false }, w: { base: 0, group: gw, resident: false, kBlocks: kIn } };
}

/** The load of columns [c0, c1) of a direction's packed weights at DRAM `addr`. */
export function loadColumns(ctx: LowerCtx, grid: GateGrid, p: Pieces, addr: number, c0: number, c1: number): Load {
  const bytes = ctx.geo.blockBytes;
  return ctx.load({ mem: "wgt", mode: grid.int4 ? "i4" : "i8", sram: p.base, dram: addr + c0 * p.kBlocks * bytes, xSize: (c1 - c0) * p.kBlocks, xStride: bytes });
}

/** The rows of a product: `rows` input rows of kBlocks vectors from `inp`, accumulated into gate rows from `acc`. */
export interface ProductRows {
  readonly acc: number;
  readonly inp: number;
  readonly rows: number;
  readonly izp: number;
}

/** GEMMs of columns [c0, c1), whose weights lie in wgt from column `held` on. */
function columnGemms(ctx: LowerCtx, grid: GateGrid, p: Pieces, held: number, c0: number, c1: number, f: ProductRows): Gemm[] {
  const out: Gemm[] = [];
  for (let c = c0; c < c1; c++) {
    for (let kb = 0; kb < p.kBlocks; kb += MAX_K_BLOCKS) {
      out.push(ctx.gemm({
        mode: grid.int4 ? "i4" : "i8", acc: f.acc + c * grid.perCol, inp: f.inp + kb, wgt: p.base + (c - held) * p.kBlocks + kb, rows: f.rows,
        kBlocks: Math.min(MAX_K_BLOCKS, p.kBlocks - kb), inpStride: p.kBlocks, inpKStride: 1, accStride: grid.stride, izp: f.izp,
      }));
    }
  }
  return out;
}

/**
 * Groups instructions into the context's serial steps: loads join the current step until it has
 * compute, after which a load starts the next step (which waits for this one's compute, so it
 * may overwrite what this one read).
 */
export class Steps {
  private loads: Insn[] = [];
  private compute: Insn[] = [];

  constructor(private readonly ctx: LowerCtx) {}

  load(...loads: Insn[]): void {
    if (loads.length === 0) return;
    if (this.compute.length > 0) this.end();
    this.loads.push(...loads);
  }

  run(...compute: Insn[]): void {
    this.compute.push(...compute);
  }

  end(stores: Store[] = []): void {
    this.ctx.step(this.loads, this.compute, stores);
    this.loads = [];
    this.compute = [];
  }
}

/**
 * acc gate rows += input rows × a direction's weights (packed at DRAM `addr`) over weight columns
 * `cols` (all by default): resident weights in one go, else a group of columns per step, each
 * loaded over the last. `loads` join the first group's loads and `before` precedes its GEMMs.
 */
export function product(
  ctx: LowerCtx, steps: Steps, grid: GateGrid, p: Pieces, addr: number, f: ProductRows, loads: Insn[], before: Insn[],
  cols: readonly [number, number] = [0, grid.cols],
): void {
  const [from, to] = cols;
  if (p.resident) {
    steps.load(...loads);
    steps.run(...before, ...columnGemms(ctx, grid, p, 0, from, to, f));
    return;
  }
  for (let c0 = from; c0 < to; c0 += p.group) {
    const c1 = Math.min(to, c0 + p.group);
    steps.load(...(c0 === from ? loads : []), loadColumns(ctx, grid, p, addr, c0, c1));
    steps.run(...(c0 === from ? before : []), ...columnGemms(ctx, grid, p, c0, c0, c1, f));
  }
}

/**
 * The time/batch/direction geometry of a recurrent node's tensors in DRAM (rows of `hidden` or
 * `input` elements): X [seq, batch, input] or, batch-first, [batch, seq, input]; Y [seq, dirs,
 * batch, hidden] or [batch, seq, dirs, hidden]; states [dirs, batch, hidden] or [batch, dirs, hidden].
 */
export interface Frame {
  readonly seq: number;
  readonly batch: number;
  readonly dirs: number;
  readonly input: number;
  readonly batchFirst: boolean;
}

/** Row of Y holding (t, d, batch entry 0), and the row step between batch entries. */
export function yRows(f: Frame, t: number, d: number): { row: number; stride: number } {
  return f.batchFirst ? { row: t * f.dirs + d, stride: f.seq * f.dirs } : { row: (t * f.dirs + d) * f.batch, stride: 1 };
}

/** Row of a state tensor holding (d, batch entry 0), and the row step between batch entries. */
export function stateRows(f: Frame, d: number): { row: number; stride: number } {
  return f.batchFirst ? { row: d, stride: f.dirs } : { row: d * f.batch, stride: 1 };
}

/** acc/inp row of time t (in a chunk of n steps from time tmin) and batch entry 0, and the row step between batch entries. */
export function chunkRows(f: Frame, t: number, tmin: number, n: number): { row: number; stride: number } {
  return f.batchFirst ? { row: t - tmin, stride: n } : { row: (t - tmin) * f.batch, stride: 1 };
}

/** Loads of X's rows for times [tmin, tmin + n), every batch entry, into inp from `sram` in chunkRows order. */
function loadInputs(ctx: LowerCtx, f: Frame, x: Buffer, tmin: number, n: number, sram: number): Load[] {
  const g = ctx.geo;
  const kIn = Math.ceil(f.input / g.vecBytes);
  const run = (dram: number, rows: number, at: number) =>
    ctx.load({ mem: "inp", sram: at, dram, ySize: rows, yStride: f.input, xSize: kIn, xStride: g.vecBytes });
  if (!f.batchFirst) return [run(x.addr + tmin * f.batch * f.input, n * f.batch, sram)];
  return Array.from({ length: f.batch }, (_, b) => run(x.addr + (b * f.seq + tmin) * f.input, n, sram + b * n * kIn));
}

/** Gate pre-activations: Q3.12 in int16. */
export const [PRE_LO, PRE_HI] = formatRange(Q3_12);

/**
 * acc gate rows (`rows` of them, `rowStride` apart) requantized in place to Q3.12 by per-row pairs
 * at `pairs`, saturating: the first `cols` vectors of each row (every gate by default).
 */
export function requantPre(ctx: LowerCtx, grid: GateGrid, at: number, rows: number, rowStride: number, pairs: number, cols = grid.gates * grid.vh): Vec {
  return ctx.vec({
    fn: "requant", dst: at, src: at, rows, cols, dstRowStride: rowStride, dstColStride: 1, srcRowStride: rowStride, srcColStride: 1,
    src2: pairs, src2ColStride: 2, clamp: true, lo: PRE_LO, hi: PRE_HI,
  });
}

/** Where the input projection's operands are: acc vectors of its bias, pairs and results, inp vectors of X's rows. */
export interface ProjectionRegs {
  readonly bias: number;
  readonly pairs: number;
  readonly xw: number;
  readonly xin: number;
}

/**
 * The input projection of times [tmin, tmin + n): xw = X·Wᵀ + Wb (int32, wrapping) requantized
 * to Q3.12, one gate row per (time, batch entry) in chunkRows order. `loads` join the first step.
 */
export function project(ctx: LowerCtx, steps: Steps, grid: GateGrid, w: Pieces, wAddr: number, f: Frame, x: Buffer, tmin: number, n: number, regs: ProjectionRegs, izp: number, loads: Insn[]): void {
  const rows = n * f.batch;
  // Each row starts as the bias (broadcast: srcrow = 0).
  const init = ctx.vec({ fn: "add", dst: regs.xw, src: regs.bias, rows, cols: grid.gates * grid.vh, dstRowStride: grid.stride, dstColStride: 1, srcColStride: 1, useImm: true });
  const xLoads = loadInputs(ctx, f, x, tmin, n, regs.xin);
  product(ctx, steps, grid, w, wAddr, { acc: regs.xw, inp: regs.xin, rows, izp }, [...loads, ...xLoads], [init]);
  steps.run(requantPre(ctx, grid, regs.xw, rows, grid.stride, regs.pairs));
}

/** Little-endian bytes of integers of `size` bytes each: the DRAM image LOAD reads as i16/i32 lanes. */
export function leBytes(values: ArrayLike<number>, size: 2 | 4): Uint8Array {
  const bytes = new Uint8Array(size * values.length);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) {
    if (size === 2) view.setInt16(2 * i, values[i]!, true);
    else view.setInt32(4 * i, values[i]!, true);
  }
  return bytes;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, q) => n + q.length, 0));
  let o = 0;
  for (const q of parts) {
    out.set(q, o);
    o += q.length;
  }
  return out;
}
