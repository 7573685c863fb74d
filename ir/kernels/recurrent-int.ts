/**
 * Integer semantics shared by LSTM and GRU (docs/numerics.md). Inputs: X in a per-tensor
 * activation type; W and R as int8/int4 codes with zero point 0 and one scale per gate row
 * (axis 1, shared by the directions); B as int32 whose first half, at the input-product scales
 * s_x·s_w[r], joins the input accumulators and whose second half, at s_h·s_r[r], joins the
 * recurrent ones; initial states in any per-tensor type, rescaled once. Both accumulators are
 * requantized to Q3.12 separately and added with saturation; gates are Q0.15 from interpolated
 * tables; the hidden state has Y's type and the LSTM cell a power-of-two int16 format (Y_c's type).
 * The accumulators are exact integer GEMMs unless a caller passes its own RecurrentProducts (the
 * AIMC ops and interpreter: crossbar converters).
 *
 * The geometry is the float Recurrence's (recurrent.ts): time-major inside, layout 1 swapped at
 * the boundary, onnxruntime's sequence-length rules, with "zero" meaning the zero code.
 */
import { isInteger, type DType } from "../dtype.js";
import { HwacError } from "../errors.js";
import type { Node, TensorType } from "../graph.js";
import { quantizeMultiplier, requantize, Requantizer, type FixedMultiplier } from "../numeric.js";
import { attrsOf, opError, type IntCtx } from "../op.js";
import { perTensor, productMultipliers, quantOf, type Multipliers } from "../quant-params.js";
import { shapeStr, tensor, type Tensor } from "../tensor.js";
import { DEFAULT_CELL, formatDType, formatOf, formatRange, fracMultiplier, Q0_15, Q3_12, sigmoidTable, tanhTable, type QFormat } from "./fixed-point.js";
import { igemm, view, type IgemmKernel, type IntArray } from "./gemm.js";
import { batchFirst, directions, expectShape, sequenceLengths, swap01, sweep, type RecurrentCtx } from "./recurrent.js";
import { igemmWasm } from "./wasm/gemm.js";

/** What distinguishes the recurrent ops here: gate count and default activations. */
export interface RecurrentKind {
  readonly op: "LSTM" | "GRU";
  readonly gates: number;
  readonly activations: readonly string[];
}

export const LSTM_KIND: RecurrentKind = { op: "LSTM", gates: 4, activations: ["Sigmoid", "Tanh", "Tanh"] };
export const GRU_KIND: RecurrentKind = { op: "GRU", gates: 3, activations: ["Sigmoid", "Tanh"] };

/**
 * Why a node has no integer semantics, or undefined: only the default activations have tables,
 * and clip, LSTM peepholes and coupled input-forget gates are not part of the integer cell.
 */
export function integerUnsupported(node: Node, kind: RecurrentKind): string | undefined {
  const a = attrsOf(node);
  const given = a.strings("activations", []);
  const defaults = kind.activations;
  const dirs = a.string("direction", "forward") === "bidirectional" ? 2 : 1;
  if (given.length && given.length !== defaults.length * dirs) return `activations must name ${defaults.length * dirs} functions`;
  if (given.some((name, i) => name.toLowerCase() !== defaults[i % defaults.length]!.toLowerCase())) {
    return `activations ${given.join(", ")} are not the defaults (${defaults.join(", ")}); only those have integer tables`;
  }
  if (a.has("clip")) return "clip has no integer semantics";
  if (kind.op === "LSTM") {
    if (a.int("input_forget", 0) !== 0) return "input_forget has no integer semantics";
    if (node.inputs[7]) return "peepholes (input P) have no integer semantics";
  }
  return undefined;
}

/**
 * The hidden state's dtype in a quantized graph, fixed by X's so that the type rule can state
 * it: X's width (int4, int16) and int8 for every other input type. The LSTM cell is always int16.
 */
export function hiddenDType(x: DType): DType {
  return x === "int16" || x === "int4" ? x : "int8";
}

/** Output types of a node whose X is quantized: the float rule's shapes with the dtypes above. */
export function quantizedOutputTypes(types: TensorType[], x: TensorType | undefined): TensorType[] {
  if (!x || !isInteger(x.dtype)) return types;
  return types.map((t, k) => ({ ...t, dtype: k < 2 ? hiddenDType(x.dtype) : formatDType(DEFAULT_CELL) }));
}

/** The hidden state's quantization: the type of Y, or of Y_h when Y is not produced. */
export interface HiddenType {
  readonly dtype: DType;
  readonly scale: number;
  readonly zp: number;
  readonly lo: number;
  readonly hi: number;
}

/** A per-tensor initial state's own zero point and the multiplier taking it to the state's type. */
export interface StateRescale {
  readonly zp: number;
  readonly mul: FixedMultiplier;
}

/** Everything the integer recurrence derives from the quantized types: what a backend stores. */
export interface RecurrentIntParams {
  readonly xZero: number;
  readonly hidden: HiddenType;
  /** The LSTM cell state's format (Y_c's type, DEFAULT_CELL when Y_c is not produced). */
  readonly cell: QFormat;
  /** Per gate row r: s_x·s_w[r]·2^12, the input accumulator to Q3.12. */
  readonly inputMul: Multipliers;
  /** Per gate row r: s_h·s_r[r]·2^12, the recurrent accumulator to Q3.12. */
  readonly recurMul: Multipliers;
  /** 2^−30 / s_h: the product of two Q0.15 values to the hidden type. */
  readonly outMul: FixedMultiplier;
  /** initial_h from its type to the hidden type, initial_c to the cell format (when given). */
  readonly h0?: StateRescale;
  readonly c0?: StateRescale;
  /** Q3.12 → Q0.15 interpolated tables. */
  readonly sigmoid: Int16Array;
  readonly tanh: Int16Array;
}

/** One scale per gate row from a weight type quantized per tensor or along axis 1, zero point 0. */
function rowScales(t: TensorType | undefined, rows: number, what: string): Float64Array {
  const q = quantOf(t, what);
  const n = q.scale.length;
  if (n !== 1 && (n !== rows || q.axis !== 1)) {
    throw new HwacError("HW4003", `${what} must be quantized per tensor or per gate row (axis 1, ${rows} scales), got ${n} scales`);
  }
  if (q.zeroPoint.some((z) => z !== 0)) throw new HwacError("HW4051", `${what} must be symmetric (zero point 0)`);
  return Float64Array.from({ length: rows }, (_, r) => q.scale[n === 1 ? 0 : r]!);
}

function hiddenType(outTypes: readonly TensorType[]): HiddenType {
  const [y, yh] = [outTypes[0], outTypes[1]].map((t) => (t?.quant ? perTensor(t, "the hidden state") : undefined));
  const h = y ?? yh;
  if (!h) throw new HwacError("HW4002", "Y or Y_h must be a quantized output: it carries the hidden state's type");
  if (y && yh && (y.scale !== yh.scale || y.zp !== yh.zp || y.dtype !== yh.dtype)) {
    throw new HwacError("HW4051", "Y and Y_h must share one quantization: both hold the hidden state");
  }
  return h;
}

function rescale(t: TensorType | undefined, sOut: number, what: string): StateRescale | undefined {
  if (!t) return undefined;
  const p = perTensor(t, what);
  return { zp: p.zp, mul: quantizeMultiplier(p.scale / sOut) };
}

/**
 * The parameters of a node with `rows` = gates·hidden gate rows, from its input types
 * (X, W, R, B, sequence_lens, initial_h, initial_c) and output types (Y, Y_h, Y_c).
 */
export function recurrentIntParams(inTypes: readonly (TensorType | undefined)[], outTypes: readonly TensorType[], rows: number): RecurrentIntParams {
  const x = perTensor(inTypes[0], "X");
  const hidden = hiddenType(outTypes);
  const cell = outTypes[2]?.quant ? formatOf(outTypes[2], "Y_c") : DEFAULT_CELL;
  const pre = 2 ** -Q3_12.frac;
  return {
    xZero: x.zp,
    hidden,
    cell,
    inputMul: productMultipliers(x.scale, rowScales(inTypes[1], rows, "W"), pre),
    recurMul: productMultipliers(hidden.scale, rowScales(inTypes[2], rows, "R"), pre),
    outMul: fracMultiplier(2 * Q0_15.frac, hidden.scale),
    h0: rescale(inTypes[5], hidden.scale, "initial_h"),
    c0: rescale(inTypes[6], 2 ** -cell.frac, "initial_c"),
    sigmoid: sigmoidTable(),
    tanh: tanhTable(),
  };
}

const [PRE_LO, PRE_HI] = formatRange(Q3_12);

/** Saturating sum of two Q3.12 values. */
export function addPre(a: number, b: number): number {
  const s = a + b;
  return s < PRE_LO ? PRE_LO : s > PRE_HI ? PRE_HI : s;
}

/**
 * The two int32 accumulator products of a recurrence, weights at zero point 0. By default the
 * exact integer GEMMs; the analog recurrent ops pass the crossbar's converters
 * (ir/kernels/analog-recurrent.ts), the AIMC interpreter its tiles.
 */
export interface RecurrentProducts {
  /**
   * Direction d's input product over the whole time-major X [seq·batch, input]:
   * acc[i·G·H + r] = Σ_k (x[i·input + k] − z_x)·W_d[r, k]. Overwrites acc.
   */
  input(d: number, x: IntArray, acc: Int32Array): void;
  /** A product by direction d's recurrent weights that a cell runs every step (RecurrentRead). */
  recurrent(d: number, read: RecurrentRead): (rows: Int32Array) => void;
}

/**
 * One recurrent product of a cell: out[b·n + c] = Σ_j (a[b·H + j] − za)·R_d[r0 + c, j] for every
 * batch entry b whose sequence runs at the step (rows[b] ≥ 0, IntCell.step's rows; the others may
 * be left as they are). `read` numbers the products of one step: 1 for the GRU's reset-first
 * candidate (r⊙H₋₁ by Rh, after the z and r rows' read), 0 for every other.
 */
export interface RecurrentRead {
  readonly a: IntArray;
  readonly za: number;
  readonly r0: number;
  readonly n: number;
  readonly out: Int32Array;
  readonly read: 0 | 1;
}

/** Makes a node's products once its recurrence is validated. */
export type ProductsFactory = (rec: IntRecurrence) => RecurrentProducts;

/** The exact products: integer GEMMs over buffers fixed when a cell is built. */
function exactProducts(rec: IntRecurrence): RecurrentProducts {
  return {
    input(d, x, acc) {
      const n = rec.seq * rec.batch;
      const width = rec.gates * rec.hidden;
      const k = rec.inputSize;
      weightProduct(n)(n, width, k, view(x, 0, k), view(rec.inputWeights(d), 0, k, true), view(acc, 0, width), { aZero: rec.params.xZero });
    },
    recurrent(d, p) {
      const h = rec.hidden;
      const av = view(p.a, 0, h);
      const bv = view(rec.recurrenceWeights(d), p.r0 * h, h, true);
      const cv = view(p.out, 0, p.n);
      const opts = { aZero: p.za };
      const kernel = weightProduct(rec.batch);
      return () => kernel(rec.batch, p.n, h, av, bv, cv, opts);
    },
  };
}

/**
 * The integer GEMM for m rows against transposed weights, both bit-identical: WebAssembly from two
 * rows on; for one row (a batch-1 step) TypeScript is faster than copying the weights into panels.
 */
function weightProduct(m: number): IgemmKernel {
  return m > 1 ? igemmWasm : igemm;
}

/** One direction's integer recurrence, bound to its state rows. */
export interface IntCell {
  /**
   * Advances one time step. `xw` holds the Q3.12 input contribution of every (time, entry);
   * `rows[b]` is the offset of entry b's row for this step, or -1 when its sequence has ended.
   */
  step(xw: Int32Array, rows: Int32Array): void;
}

/** Zeroed storage for n codes of an integer type. */
function codeArray(dtype: DType, n: number): IntArray {
  return tensor(dtype, [n]).data as IntArray;
}

/** The integer codes of a quantized input. */
function codes(ctx: RecurrentCtx, t: Tensor, name: string): IntArray {
  const d = t.data;
  if (d instanceof Int8Array || d instanceof Uint8Array || d instanceof Int16Array || d instanceof Uint16Array || d instanceof Int32Array) return d;
  throw opError(ctx, `${name} must hold integer codes, got ${t.dtype}`, "HW4002");
}

/** A quantized recurrent node's validated inputs, parameters and time sweep. */
export class IntRecurrence {
  readonly seq: number;
  readonly batch: number;
  readonly inputSize: number;
  readonly hidden: number;
  readonly gates: number;
  readonly reverse: readonly boolean[];
  readonly batchFirst: boolean;
  readonly params: RecurrentIntParams;
  /** params.outMul prepared: a Q0.30 product to the hidden type. */
  readonly toHidden: Requantizer;
  private readonly inputReq: Requantizer;
  private readonly recurReq: Requantizer;
  private readonly lens: Int32Array;
  private readonly x: IntArray;
  private readonly w: IntArray;
  private readonly r: IntArray;
  private readonly b: Int32Array | undefined;
  private readonly products: RecurrentProducts;

  /** `products` replaces the exact GEMMs of the two accumulators (RecurrentProducts). */
  constructor(
    inputs: readonly (Tensor | undefined)[],
    private readonly ctx: IntCtx,
    kind: RecurrentKind,
    products: ProductsFactory = exactProducts,
  ) {
    const why = integerUnsupported(ctx.node, kind);
    if (why) throw opError(ctx, why, "HW4050");
    const [x, w, r, b, lens] = inputs;
    if (!x || !w || !r) throw opError(ctx, "inputs X, W and R are required", "HW3001");
    if (x.shape.length !== 3) throw opError(ctx, `X must have rank 3, got ${shapeStr(x.shape)}`);
    this.gates = kind.gates;
    this.reverse = directions(ctx);
    this.batchFirst = batchFirst(ctx);
    const [d0, d1, inputSize] = x.shape as [number, number, number];
    [this.seq, this.batch] = this.batchFirst ? [d1, d0] : [d0, d1];
    this.inputSize = inputSize;
    this.hidden = ctx.attrs.optInt("hidden_size") ?? r.shape[2] ?? 0;
    const rows = this.gates * this.hidden;
    expectShape(ctx, w, "W", [this.dirs, rows, inputSize]);
    expectShape(ctx, r, "R", [this.dirs, rows, this.hidden]);
    if (b) {
      expectShape(ctx, b, "B", [this.dirs, 2 * rows]);
      if (!(b.data instanceof Int32Array)) throw opError(ctx, `B must be int32, got ${b.dtype}`, "HW4002");
      this.b = b.data;
    }
    this.params = recurrentIntParams(ctx.inTypes, ctx.outTypes, rows);
    this.toHidden = Requantizer.of(this.params.outMul);
    this.inputReq = new Requantizer(this.params.inputMul);
    this.recurReq = new Requantizer(this.params.recurMul);
    const xc = codes(ctx, x, "X");
    this.x = this.batchFirst ? swap01(xc, this.batch, this.seq, inputSize) : xc;
    this.w = codes(ctx, w, "W");
    this.r = codes(ctx, r, "R");
    this.lens = sequenceLengths(ctx, lens, this.batch, this.seq);
    this.products = products(this);
  }

  get dirs(): number {
    return this.reverse.length;
  }

  /** Direction d's gates·hidden × input weight codes. */
  inputWeights(d: number): IntArray {
    const n = this.gates * this.hidden * this.inputSize;
    return this.w.subarray(d * n, (d + 1) * n);
  }

  /** A cell's per-step product by direction d's recurrent weights (RecurrentRead). */
  recurrentProduct(d: number, read: RecurrentRead): (rows: Int32Array) => void {
    return this.products.recurrent(d, read);
  }

  /** Direction d's gates·hidden × hidden recurrence weight codes. */
  recurrenceWeights(d: number): IntArray {
    const n = this.gates * this.hidden * this.hidden;
    return this.r.subarray(d * n, (d + 1) * n);
  }

  /** Direction d's half `half` of B (0: input bias, 1: recurrent bias); zeros when B is omitted. */
  private bias(d: number, half: 0 | 1): Int32Array {
    const n = this.gates * this.hidden;
    if (!this.b) return new Int32Array(n);
    const o = (2 * d + half) * n;
    return this.b.subarray(o, o + n);
  }

  /**
   * Direction d's recurrent term of gate row k in Q3.12: the recurrent accumulator plus the
   * recurrent bias (wrapping in int32), requantized by s_h·s_r[k]·2^12.
   */
  recurrentTerm(d: number): (acc: number, k: number) => number {
    const rb = this.bias(d, 1);
    const req = this.recurReq;
    return (acc, k) => req.requantize((acc + rb[k]!) | 0, k, 0, PRE_LO, PRE_HI);
  }

  /** A direction-major [dirs, batch, hidden] hidden state: initial_h in the hidden type, else the zero code. */
  initialHidden(t: Tensor | undefined): IntArray {
    const h = this.params.hidden;
    const out = this.stateArray(h.dtype);
    if (!t) return out.fill(h.zp);
    return this.initialState(t, "initial_h", this.params.h0!, h.zp, h.lo, h.hi, out);
  }

  /** The LSTM cell state in the cell format: initial_c rescaled, else 0. */
  initialCell(t: Tensor | undefined): IntArray {
    const cell = this.params.cell;
    const out = this.stateArray(formatDType(cell));
    if (!t) return out;
    const [lo, hi] = formatRange(cell);
    return this.initialState(t, "initial_c", this.params.c0!, 0, lo, hi, out);
  }

  private stateArray(dtype: DType): IntArray {
    return codeArray(dtype, this.dirs * this.batch * this.hidden);
  }

  private initialState(t: Tensor, name: string, p: StateRescale, zp: number, lo: number, hi: number, out: IntArray): IntArray {
    const { dirs, batch, hidden } = this;
    expectShape(this.ctx, t, name, this.batchFirst ? [batch, dirs, hidden] : [dirs, batch, hidden]);
    const src = codes(this.ctx, t, name);
    const v = this.batchFirst ? swap01(src, batch, dirs, hidden) : src;
    for (let i = 0; i < v.length; i++) out[i] = requantize(v[i]! - p.zp, p.mul.m0, p.mul.shift, zp, lo, hi);
    return out;
  }

  /**
   * Runs every direction from `states` (direction-major; states[0] the hidden state, any others
   * cell states with zero code 0), which end holding the final states. Returns Y, then one output
   * per state, in the node's layout.
   */
  run(states: readonly IntArray[], makeCell: (d: number, states: readonly IntArray[]) => IntCell): Tensor[] {
    const { seq, batch, hidden, dirs, lens } = this;
    const h = this.params.hidden;
    const width = this.gates * hidden;
    const slab = batch * hidden;
    const yData = codeArray(h.dtype, seq * dirs * slab).fill(h.zp);
    const xw = new Int32Array(seq * batch * width);
    for (let d = 0; d < dirs; d++) {
      const own = states.map((s) => s.subarray(d * slab, (d + 1) * slab));
      const cell = makeCell(d, own);
      this.project(d, xw);
      sweep({ batch, dirs, hidden, lens }, this.reverse[d]!, d, width, (rows) => cell.step(xw, rows), own[0]!, yData);
      for (let b = 0; b < batch; b++) {
        if (lens[b] === 0) own.forEach((st, k) => st.fill(k === 0 ? h.zp : 0, b * hidden, (b + 1) * hidden));
      }
    }
    const yShape = this.batchFirst ? [batch, seq, dirs, hidden] : [seq, dirs, batch, hidden];
    const stateShape = this.batchFirst ? [batch, dirs, hidden] : [dirs, batch, hidden];
    const cellType = formatDType(this.params.cell);
    return [
      this.output(yData, h.dtype, seq * dirs, yShape),
      ...states.map((s, k) => this.output(s, k === 0 ? h.dtype : cellType, dirs, stateShape)),
    ];
  }

  /**
   * xw = X·Wᵀ + Wb for all time steps of direction d (wrapping in int32), each gate row then
   * requantized in place to Q3.12 by s_x·s_w[r]·2^12.
   */
  private project(d: number, xw: Int32Array): void {
    const n = this.seq * this.batch;
    const width = this.gates * this.hidden;
    this.products.input(d, this.x, xw);
    const bias = this.bias(d, 0);
    const req = this.inputReq;
    for (let o = 0, i = 0; i < n; i++) {
      for (let r = 0; r < width; r++, o++) xw[o] = req.requantize((xw[o]! + bias[r]!) | 0, r, 0, PRE_LO, PRE_HI);
    }
  }

  /** A [lead, batch, hidden] result as a tensor, batch moved first for layout 1. */
  private output(v: IntArray, dtype: DType, lead: number, shape: readonly number[]): Tensor {
    return tensor(dtype, shape, this.batchFirst ? swap01(v, lead, this.batch, this.hidden) : v);
  }
}
