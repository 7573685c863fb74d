/**
 * What RNN, GRU and LSTM share: attribute decoding, the batch-first layout, the sweep over time
 * per direction with per-entry sequence lengths, and the activation functions ONNX lets them
 * name. Each op supplies only its cell: how one time step turns the input projection and the
 * previous state into the next state.
 *
 * Sequence lengths follow onnxruntime: an entry of length L runs steps 0..L-1 (a reverse
 * direction runs L-1..0, so it starts at the entry's own last step, not at the padded end);
 * Y is zero past L; the final states are those after step L-1, and zero when L is 0.
 */
import { isFloat, type DType } from "../dtype.js";
import { typeOf, type Dim, type TensorType } from "../graph.js";
import { opError, type EvalCtx, type TypeCtx } from "../op.js";
import { fromFloat64, shapeStr, tensor, toFloat64, toNumbers, type Tensor } from "../tensor.js";
import { sgemm, view, type IntArray } from "./gemm.js";

export type Activation = (x: number) => number;

/** `alpha`/`beta` are present when the function takes that parameter, holding its default. */
interface ActivationSpec {
  readonly alpha?: number;
  readonly beta?: number;
  make(alpha: number, beta: number): Activation;
}

const sigmoid: Activation = (x) => 1 / (1 + Math.exp(-x));
// Written so that exp never overflows: log(1 + e^x) = x + log(1 + e^-x) for x > 0.
const softplus: Activation = (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

// Defaults are onnxruntime's (the spec gives none): parameters it has no default for are 0.
const ACTIVATIONS: Readonly<Record<string, ActivationSpec>> = {
  sigmoid: { make: () => sigmoid },
  tanh: { make: () => Math.tanh },
  relu: { make: () => (x) => (x > 0 ? x : 0) },
  affine: { alpha: 0, beta: 0, make: (a, b) => (x) => a * x + b },
  leakyrelu: { alpha: 0.01, make: (a) => (x) => (x >= 0 ? x : a * x) },
  thresholdedrelu: { alpha: 0, make: (a) => (x) => (x > a ? x : 0) },
  scaledtanh: { alpha: 0, beta: 0, make: (a, b) => (x) => a * Math.tanh(b * x) },
  hardsigmoid: { alpha: 0.2, beta: 0.5, make: (a, b) => (x) => Math.min(Math.max(a * x + b, 0), 1) },
  elu: { alpha: 1, make: (a) => (x) => (x >= 0 ? x : a * (Math.exp(x) - 1)) },
  softsign: { make: () => (x) => x / (1 + Math.abs(x)) },
  softplus: { make: () => softplus },
};

const ACTIVATION_NAMES = "Sigmoid, Tanh, Relu, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus";

/** What the shared decoding reads of a node's context: the float ops' and the integer ones' alike. */
export type RecurrentCtx = Pick<EvalCtx, "node" | "attrs">;

/** Per direction: true when it runs from the last time step to the first. */
export function directions(ctx: RecurrentCtx): boolean[] {
  const d = ctx.attrs.string("direction", "forward");
  if (d === "forward") return [false];
  if (d === "reverse") return [true];
  if (d === "bidirectional") return [false, true];
  throw opError(ctx, `direction must be forward, reverse or bidirectional, got '${d}'`);
}

/** Whether X, Y and the states are batch-first (layout 1). */
export function batchFirst(ctx: RecurrentCtx): boolean {
  const layout = ctx.attrs.int("layout", 0);
  if (layout !== 0 && layout !== 1) throw opError(ctx, `layout must be 0 or 1, got ${layout}`);
  return layout === 1;
}

/**
 * The activation functions of each direction. Parameters are consumed in order by the functions
 * that take them, as onnxruntime does: `activation_alpha` lists only the alphas that are used.
 */
function activations(ctx: RecurrentCtx, defaults: readonly string[], dirs: number): Activation[][] {
  const given = ctx.attrs.strings("activations", []);
  const names = given.length ? given : Array.from({ length: dirs }, () => defaults).flat();
  if (names.length !== defaults.length * dirs) {
    throw opError(ctx, `activations must name ${defaults.length * dirs} functions (${defaults.length} per direction), got ${names.length}`);
  }
  const alphas = ctx.attrs.floats("activation_alpha", []);
  const betas = ctx.attrs.floats("activation_beta", []);
  let ai = 0;
  let bi = 0;
  const fns = names.map((name) => {
    const spec = ACTIVATIONS[name.toLowerCase()];
    if (!spec) throw opError(ctx, `unknown activation '${name}'; expected one of ${ACTIVATION_NAMES}`);
    const alpha = spec.alpha === undefined ? 0 : (alphas[ai++] ?? spec.alpha);
    const beta = spec.beta === undefined ? 0 : (betas[bi++] ?? spec.beta);
    return spec.make(alpha, beta);
  });
  return Array.from({ length: dirs }, (_, d) => fns.slice(d * defaults.length, (d + 1) * defaults.length));
}

/** Output types: Y [seq, dirs, batch, hidden] (batch-first: [batch, seq, dirs, hidden]), then the final states. */
export function inferRecurrent(ctx: TypeCtx, gates: number): TensorType[] {
  const x = ctx.inputs[0];
  if (!x) throw opError(ctx, "input X is required");
  const xs = x.shape;
  if (xs && xs.length !== 3) throw opError(ctx, `X must have rank 3, got ${shapeStr(xs)}`);
  const dirs = directions(ctx).length;
  const bf = batchFirst(ctx);
  const seq: Dim = xs ? xs[bf ? 1 : 0]! : "?";
  const batch: Dim = xs ? xs[bf ? 0 : 1]! : "?";
  const hidden: Dim = ctx.attrs.optInt("hidden_size") ?? ctx.inputs[2]?.shape?.[2] ?? "?";
  const rows = ctx.inputs[1]?.shape?.[1];
  if (typeof rows === "number" && typeof hidden === "number" && rows !== gates * hidden) {
    throw opError(ctx, `W must have ${gates}·hidden_size = ${gates * hidden} rows, got ${rows}`);
  }
  const y = bf ? [batch, seq, dirs, hidden] : [seq, dirs, batch, hidden];
  const state = bf ? [batch, dirs, hidden] : [dirs, batch, hidden];
  return ctx.node.outputs.map((_, i) => typeOf(x.dtype, i === 0 ? y : state));
}

/**
 * out[m×n] = a[m×k]·bᵀ over fixed buffers, with b row-major n×k as W and R store their gate rows:
 * a cell builds its products once and runs them every step without allocating.
 */
export function product(a: Float32Array, b: Float32Array, out: Float32Array, m: number, n: number, k: number): () => void {
  const av = view(a, 0, k);
  const bv = view(b, 0, k, true);
  const cv = view(out, 0, n);
  return () => sgemm(m, n, k, av, bv, cv, OVERWRITE);
}

const OVERWRITE = { accumulate: false } as const;

/** Bounds a gate's pre-activation to [-clip, clip]; clip is Infinity when the node sets none. */
export function clamp(x: number, clip: number): number {
  return x > clip ? clip : x < -clip ? -clip : x;
}

/** One direction's recurrence, bound to that direction's state rows ([batch, hidden] each). */
export interface Cell {
  /** Added to X·Wᵀ once for all time steps; gates·hidden wide. */
  readonly inputBias: Float32Array;
  /**
   * Advances one time step. `xw` holds X·Wᵀ + inputBias for every (time, entry); `rows[b]` is the
   * offset of entry b's row for this step, or -1 when its sequence has ended and its state stays.
   */
  step(xw: Float32Array, rows: Int32Array): void;
}

function floats(ctx: RecurrentCtx, t: Tensor, name: string): Float32Array {
  if (!isFloat(t.dtype)) throw opError(ctx, `${name} must be a float tensor, got ${t.dtype}`);
  // float16/bfloat16 already live in Float32Arrays; float64 is computed in float32 like the rest.
  return t.data instanceof Float32Array ? t.data : Float32Array.from(toFloat64(t));
}

/** Throws unless `t` has exactly `shape`. */
export function expectShape(ctx: RecurrentCtx, t: Tensor, name: string, shape: readonly number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw opError(ctx, `${name} must have shape ${shapeStr(shape)}, got ${shapeStr(t.shape)}`);
  }
}

/** Each batch entry's sequence length from sequence_lens, checked to lie in [0, seq]; seq for all when omitted. */
export function sequenceLengths(ctx: RecurrentCtx, t: Tensor | undefined, batch: number, seq: number): Int32Array {
  if (!t) return new Int32Array(batch).fill(seq);
  expectShape(ctx, t, "sequence_lens", [batch]);
  const lens = Int32Array.from(toNumbers(t));
  for (const l of lens) {
    if (l < 0 || l > seq) throw opError(ctx, `sequence_lens values must lie in [0, ${seq}], got ${l}`);
  }
  return lens;
}

/** Swaps the two leading axes of a row-major [a, b, inner] array (float values or integer codes). */
export function swap01<T extends Float32Array | IntArray>(src: T, a: number, b: number, inner: number): T {
  const out = new (src.constructor as new (n: number) => T)(src.length);
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) {
      const from = (i * b + j) * inner;
      const to = (j * a + i) * inner;
      for (let k = 0; k < inner; k++) out[to + k] = src[from + k]!;
    }
  }
  return out;
}

/** A recurrent node's validated inputs in time-major float32 form. */
export class Recurrence {
  readonly seq: number;
  readonly batch: number;
  readonly inputSize: number;
  readonly hidden: number;
  readonly gates: number;
  readonly reverse: readonly boolean[];
  readonly batchFirst: boolean;
  readonly clip: number;
  readonly activations: readonly (readonly Activation[])[];
  /** X as [seq, batch, input]. */
  readonly x: Float32Array;
  readonly lens: Int32Array;
  private readonly dtype: DType;
  private readonly w: Float32Array;
  private readonly r: Float32Array;
  private readonly b: Float32Array | undefined;

  constructor(
    inputs: readonly (Tensor | undefined)[],
    private readonly ctx: RecurrentCtx,
    gates: number,
    defaultActivations: readonly string[],
  ) {
    const [x, w, r, b, lens] = inputs;
    if (!x || !w || !r) throw opError(ctx, "inputs X, W and R are required", "HW3001");
    if (x.shape.length !== 3) throw opError(ctx, `X must have rank 3, got ${shapeStr(x.shape)}`);
    this.gates = gates;
    this.dtype = x.dtype;
    this.reverse = directions(ctx);
    this.batchFirst = batchFirst(ctx);
    const dirs = this.reverse.length;
    const [d0, d1, inputSize] = x.shape as [number, number, number];
    [this.seq, this.batch] = this.batchFirst ? [d1, d0] : [d0, d1];
    this.inputSize = inputSize;
    this.hidden = ctx.attrs.optInt("hidden_size") ?? r.shape[2] ?? 0;
    const rows = gates * this.hidden;
    this.expect(w, "W", [dirs, rows, inputSize]);
    this.expect(r, "R", [dirs, rows, this.hidden]);
    if (b) this.expect(b, "B", [dirs, 2 * rows]);
    this.clip = ctx.attrs.optFloat("clip") ?? Infinity;
    if (!(this.clip > 0)) throw opError(ctx, `clip must be positive, got ${this.clip}`);
    this.activations = activations(ctx, defaultActivations, dirs);
    const xf = floats(ctx, x, "X");
    this.x = this.batchFirst ? swap01(xf, this.batch, this.seq, inputSize) : xf;
    this.w = floats(ctx, w, "W");
    this.r = floats(ctx, r, "R");
    this.b = b && floats(ctx, b, "B");
    this.lens = sequenceLengths(ctx, lens, this.batch, this.seq);
  }

  get dirs(): number {
    return this.reverse.length;
  }

  /** A float input's values as float32. */
  values(t: Tensor, name: string): Float32Array {
    return floats(this.ctx, t, name);
  }

  /** Throws unless `t` has exactly `shape`. */
  expect(t: Tensor, name: string, shape: readonly number[]): void {
    expectShape(this.ctx, t, name, shape);
  }

  /** Direction d's gates·hidden × input weights. */
  inputWeights(d: number): Float32Array {
    const n = this.gates * this.hidden * this.inputSize;
    return this.w.subarray(d * n, (d + 1) * n);
  }

  /** Direction d's gates·hidden × hidden recurrence weights. */
  recurrenceWeights(d: number): Float32Array {
    const n = this.gates * this.hidden * this.hidden;
    return this.r.subarray(d * n, (d + 1) * n);
  }

  /** Direction d's Wb and Rb (zeros when B is omitted). */
  biases(d: number): { wb: Float32Array; rb: Float32Array } {
    const n = this.gates * this.hidden;
    if (!this.b) return { wb: new Float32Array(n), rb: new Float32Array(n) };
    return { wb: this.b.subarray(2 * d * n, (2 * d + 1) * n), rb: this.b.subarray((2 * d + 1) * n, (2 * d + 2) * n) };
  }

  /** Direction d's Wb + Rb: the whole bias, for cells that add both outside the activations. */
  summedBias(d: number): Float32Array {
    const { wb, rb } = this.biases(d);
    return wb.map((v, i) => v + rb[i]!);
  }

  /** Direction-major [dirs, batch, hidden] copy of an optional initial state (zeros when omitted). */
  initialState(t: Tensor | undefined, name: string): Float32Array {
    const { dirs, batch, hidden } = this;
    if (!t) return new Float32Array(dirs * batch * hidden);
    this.expect(t, name, this.batchFirst ? [batch, dirs, hidden] : [dirs, batch, hidden]);
    const v = floats(this.ctx, t, name);
    return this.batchFirst ? swap01(v, batch, dirs, hidden) : v.slice();
  }

  /**
   * Runs every direction from `states` (direction-major, states[0] the hidden state), which end
   * holding the final states. Returns Y followed by one output per state, in the node's layout.
   */
  run(states: readonly Float32Array[], makeCell: (d: number, states: readonly Float32Array[]) => Cell): Tensor[] {
    const { seq, batch, hidden, dirs, lens } = this;
    const width = this.gates * hidden;
    const slab = batch * hidden;
    const y = new Float32Array(seq * dirs * slab);
    const xw = new Float32Array(seq * batch * width);
    for (let d = 0; d < dirs; d++) {
      const own = states.map((s) => s.subarray(d * slab, (d + 1) * slab));
      const cell = makeCell(d, own);
      this.project(d, cell.inputBias, xw);
      sweep({ batch, dirs, hidden, lens }, this.reverse[d]!, d, width, (rows) => cell.step(xw, rows), own[0]!, y);
      for (let b = 0; b < batch; b++) {
        if (lens[b] === 0) for (const st of own) st.fill(0, b * hidden, (b + 1) * hidden);
      }
    }
    const yShape = this.batchFirst ? [batch, seq, dirs, hidden] : [seq, dirs, batch, hidden];
    const stateShape = this.batchFirst ? [batch, dirs, hidden] : [dirs, batch, hidden];
    return [
      this.output(y, seq * dirs, yShape),
      ...states.map((s) => this.output(s, dirs, stateShape)),
    ];
  }

  /** xw = X·Wᵀ + bias for all time steps of direction d at once. */
  private project(d: number, bias: Float32Array, xw: Float32Array): void {
    const n = this.seq * this.batch;
    const width = bias.length;
    for (let i = 0; i < n; i++) xw.set(bias, i * width);
    const k = this.inputSize;
    sgemm(n, width, k, view(this.x, 0, k), view(this.inputWeights(d), 0, k, true), view(xw, 0, width), { accumulate: true });
  }

  /** A [lead, batch, hidden] result as a tensor of X's type, batch moved first for layout 1. */
  private output(v: Float32Array, lead: number, shape: readonly number[]): Tensor {
    const data = this.batchFirst ? swap01(v, lead, this.batch, this.hidden) : v;
    return this.dtype === "float32" ? tensor("float32", shape, data) : fromFloat64(this.dtype, shape, data);
  }
}

/** Values indexable by number: float and integer state arrays alike. */
interface NumberArray {
  [i: number]: number;
}

/**
 * The time sweep of direction d, shared by the float and integer recurrences: at step s, batch
 * entry b reads the projected-input row of its time t (counted back from its own last step when
 * reversed), `step` advances every entry still within its length, and Y[t, d, b] receives the new
 * hidden state `h[b]`.
 */
export function sweep<A extends NumberArray>(
  shape: { readonly batch: number; readonly dirs: number; readonly hidden: number; readonly lens: ArrayLike<number> },
  reverse: boolean,
  d: number,
  width: number,
  step: (rows: Int32Array) => void,
  h: A,
  y: A,
): void {
  const { batch, dirs, hidden, lens } = shape;
  let maxLen = 0;
  for (let b = 0; b < batch; b++) maxLen = Math.max(maxLen, lens[b]!);
  const rows = new Int32Array(batch);
  const times = new Int32Array(batch);
  for (let s = 0; s < maxLen; s++) {
    for (let b = 0; b < batch; b++) {
      const t = reverse ? lens[b]! - 1 - s : s;
      times[b] = t;
      rows[b] = s < lens[b]! ? (t * batch + b) * width : -1;
    }
    step(rows);
    for (let b = 0; b < batch; b++) {
      if (rows[b]! < 0) continue;
      const o = ((times[b]! * dirs + d) * batch + b) * hidden;
      for (let j = 0, i = b * hidden; j < hidden; j++, i++) y[o + j] = h[i]!;
    }
  }
}
