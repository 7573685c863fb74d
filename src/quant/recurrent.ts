/**
 * The quantizer rule of LSTM and GRU (docs/numerics.md): W and R per gate row at the scheme's
 * weight bits, B folded to int32 at the input-product scales, the hidden state in an activation
 * type of X's width from the calibrated range of Y, the LSTM cell in a power-of-two int16 format
 * from the range of Y_c. A node the integer cell cannot run (other activations, clip, peepholes,
 * input_forget) stays float.
 */
import { clamp, roundHalfEven } from "../../ir/numeric.js";
import type { DType } from "../../ir/dtype.js";
import type { TensorType } from "../../ir/graph.js";
import { attrsOf } from "../../ir/op.js";
import { DEFAULT_CELL, formatType, type QFormat } from "../../ir/kernels/fixed-point.js";
import { GRU_KIND, hiddenDType, integerUnsupported, LSTM_KIND, type RecurrentKind } from "../../ir/kernels/recurrent-int.js";
import { tensor, toFloat64, type Tensor } from "../../ir/tensor.js";
import { activationType, type ActRange, type CustomQuantCtx, type CustomQuantizer, type CustomQuantResult } from "./quantize.js";

/**
 * Y_c holds only the final cell state, and the state can be larger in the middle of a sequence:
 * the format leaves this factor of headroom above the calibrated bound.
 */
export const CELL_HEADROOM = 2;

const HIDDEN_BITS: Partial<Record<DType, 4 | 8 | 16>> = { int4: 4, int8: 8, int16: 16 };

/** R's stochastic rounding seed is the node's XOR this, so W and R do not draw the same stream. */
const R_SEED_MASK = 0x5bd1e995;

/** The cell format for a calibrated range: int16 with the fewest integer bits holding HEADROOM·max|c|. */
export function cellFormat(range: ActRange | undefined): QFormat {
  if (!range) return DEFAULT_CELL;
  const bound = CELL_HEADROOM * Math.max(-range.min, range.max);
  const intBits = bound > 0 ? clamp(Math.ceil(Math.log2(bound)), 0, 15) : 0;
  return { bits: 16, frac: 15 - intBits };
}

function union(ranges: readonly (ActRange | undefined)[]): ActRange | undefined {
  const known = ranges.filter((r): r is ActRange => r !== undefined);
  if (!known.length) return undefined;
  return { min: Math.min(...known.map((r) => r.min)), max: Math.max(...known.map((r) => r.max)) };
}

interface Weights {
  name: string;
  /** Per gate row (a per-tensor scale repeated). */
  rowScale: Float64Array;
  size: number;
  clipped: number;
}

function quantizeWeight(ctx: CustomQuantCtx, input: number, w: Tensor, seed: number): Weights {
  const name = ctx.node.inputs[input]!;
  const r = ctx.weightFn(w, { scheme: ctx.scheme, axis: 1, seed, hessian: ctx.hessian(input) });
  const rows = w.shape[1]!;
  const type: TensorType = {
    dtype: r.q.dtype,
    shape: [...w.shape],
    quant: { scale: r.scale, zeroPoint: new Int32Array(r.scale.length), axis: 1 },
  };
  const rowScale = Float64Array.from({ length: rows }, (_, i) => r.scale[r.scale.length === 1 ? 0 : i]!);
  return { name: ctx.addInitializer(`${name}_q`, r.q, type), rowScale, size: w.data.length, clipped: r.clipped };
}

/**
 * B [dirs, 2·rows] to int32: row r's Wb + Rb at s_x·s_w[r] in the first half, except for rows
 * `recurrent(r)` (GRU's Rbh under linear_before_reset, which the reset gate scales), whose Rb
 * stays in the second half at s_h·s_r[r].
 */
function foldBias(b: Tensor, dirs: number, sx: number, w: Weights, sh: number, r: Weights, recurrent: (row: number) => boolean): { q: Tensor; type: TensorType } {
  const rows = w.rowScale.length;
  const v = toFloat64(b);
  const q = new Int32Array(v.length);
  const scale = new Float32Array(2 * rows);
  const toInt = (x: number, s: number) => clamp(roundHalfEven(x / s), -2147483648, 2147483647);
  for (let k = 0; k < rows; k++) {
    const si = sx * w.rowScale[k]!;
    const sr = sh * r.rowScale[k]!;
    scale[k] = si;
    scale[rows + k] = sr;
    for (let d = 0; d < dirs; d++) {
      const wb = v[2 * d * rows + k]!;
      const rb = v[(2 * d + 1) * rows + k]!;
      q[2 * d * rows + k] = toInt(recurrent(k) ? wb : wb + rb, si);
      q[(2 * d + 1) * rows + k] = recurrent(k) ? toInt(rb, sr) : 0;
    }
  }
  return {
    q: tensor("int32", b.shape, q),
    type: { dtype: "int32", shape: [...b.shape], quant: { scale, zeroPoint: new Int32Array(2 * rows), axis: 1 } },
  };
}

function quantizeRecurrent(ctx: CustomQuantCtx, kind: RecurrentKind): CustomQuantResult | string {
  const { node, scheme } = ctx;
  const unsupported = integerUnsupported(node, kind);
  if (unsupported) return unsupported;
  const [x, wIn, rIn, bIn, , h0, c0] = node.inputs;
  const W = wIn ? ctx.constOf(wIn) : undefined;
  const R = rIn ? ctx.constOf(rIn) : undefined;
  if (!x || !W || !R) return "W and R must be constants";
  const B = bIn ? ctx.constOf(bIn) : undefined;
  if (bIn && !B) return "B must be a constant";

  const [y, yh, yc] = node.outputs;
  const hiddenOuts = [y, yh].filter((v): v is string => !!v);
  if (!hiddenOuts.length) return "neither Y nor Y_h is used: one of them carries the hidden state's type";
  const missing = hiddenOuts.find((v) => !ctx.rangeOf(v));
  if (missing) return `output '${missing}' has no calibrated range`;
  const hRange = union([...hiddenOuts, h0].map((v) => (v ? ctx.rangeOf(v) : undefined)))!;
  const xq = ctx.quantizedInput(x);
  const xT = ctx.typeOf(xq)!;
  const sx = xT.quant!.scale[0]!;
  // The type rule fixes the hidden state's width by X's (the scheme's activation bits, unless X
  // was quantized upstream); 4 and 16 bits are symmetric.
  const bits = HIDDEN_BITS[hiddenDType(xT.dtype)]!;
  const hiddenType = (v: string | undefined): TensorType =>
    activationType(hRange, bits, scheme.actSymmetric, (v && ctx.typeOf(v)?.shape) || null);

  const sh = hiddenType(undefined).quant!.scale[0]!;
  const w = quantizeWeight(ctx, 1, W, ctx.seed);
  const r = quantizeWeight(ctx, 2, R, (ctx.seed ^ R_SEED_MASK) >>> 0);
  const hidden = R.shape[2]!;
  const lbr = kind === GRU_KIND && attrsOf(node).int("linear_before_reset", 0) !== 0;
  let bName = "";
  if (B) {
    const folded = foldBias(B, W.shape[0]!, sx, w, sh, r, (k) => lbr && k >= 2 * hidden);
    bName = ctx.addInitializer(`${bIn}_q`, folded.q, folded.type);
  }

  const outTypes = node.outputs.map((v, k) => {
    if (k < 2) return hiddenType(v);
    const cell = cellFormat(union([yc, c0].map((s) => (s ? ctx.rangeOf(s) : undefined))));
    return formatType(cell, (v && ctx.typeOf(v)?.shape) || null);
  });
  // sequence_lens (input 4) is an integer input and stays; the initial states are quantized.
  const replaced = [xq, w.name, r.name, bName];
  const inputs = node.inputs.map((v, i) => (i < 4 ? replaced[i]! : !v || i === 4 ? v : ctx.quantizedInput(v)));
  return {
    inputs,
    outTypes,
    weightBits: scheme.weightBits,
    clipped: (w.clipped * w.size + r.clipped * r.size) / (w.size + r.size),
  };
}

export const quantizeLSTM: CustomQuantizer = (ctx) => quantizeRecurrent(ctx, LSTM_KIND);
export const quantizeGRU: CustomQuantizer = (ctx) => quantizeRecurrent(ctx, GRU_KIND);
