/**
 * What LSTM and GRU share on the way to crossbars (LSTM.ts, GRU.ts): a quantized recurrent node
 * with the integer semantics of ir/kernels/recurrent-int.ts whose W [dirs, G·H, input] and
 * R [dirs, G·H, H] are constant int8/int4 codes, symmetric, one scale per gate row (axis 1) or one
 * per tensor, both of one width. Each direction's W and R is one crossbar layer [G·H outputs,
 * input or H rows]; B, sequence_lens and the initial states stay inputs of the node, for the
 * digital periphery. The DAC ranges cover every code of X (W's layers) and of the hidden state,
 * the type of Y or Y_h (R's layers).
 */
import { HwacError } from "../../../ir/errors.js";
import type { Node, TensorType } from "../../../ir/graph.js";
import { integerUnsupported, recurrentIntParams, type HiddenType, type RecurrentKind } from "../../../ir/kernels/recurrent-int.js";
import type { Tensor } from "../../../ir/tensor.js";
import type { LowerGraph, MvmInput } from "./index.js";

/** One matrix kind of every direction: codes [dirs, G·H, K] and s_w per gate row. */
export interface RecurrentMatrix {
  readonly codes: Tensor;
  readonly scale: Float32Array;
  /** Inputs per gate row: the input size for W, the hidden size for R. */
  readonly k: number;
}

export interface RecurrentParts {
  readonly op: "AnalogLSTM" | "AnalogGRU";
  readonly dirs: number;
  /** Gate rows, G·H: every layer's outputs. */
  readonly rows: number;
  readonly w: RecurrentMatrix;
  readonly r: RecurrentMatrix;
  /** The hidden state's type, which R's DAC reads. */
  readonly hidden: HiddenType;
}

/** Reads a recurrent node: its crossbar form, or why it stays digital. */
export function extractRecurrent(node: Node, g: LowerGraph, x: MvmInput, kind: RecurrentKind, op: RecurrentParts["op"]): RecurrentParts | string {
  const unsupported = integerUnsupported(node, kind);
  if (unsupported) return `no integer semantics: ${unsupported}`;
  const wt = g.constant(node.inputs[1]);
  const rt = g.constant(node.inputs[2]);
  if (!wt || !rt) return "W or R is not a constant";
  if (wt.shape.length !== 3 || rt.shape.length !== 3) return "W and R must have rank 3";
  const [dirs, rows, inputSize] = wt.shape as [number, number, number];
  const hidden = rt.shape[2]!;
  if (rows !== kind.gates * hidden || rt.shape[0] !== dirs || rt.shape[1] !== rows || x.shape[2] !== inputSize) {
    return `W [${wt.shape.join(", ")}] and R [${rt.shape.join(", ")}] do not fit X [${x.shape.join(", ")}] and ${kind.gates} gates`;
  }
  const w = g.weight(node.inputs[1], 1, rows, "W");
  if (typeof w === "string") return w;
  const r = g.weight(node.inputs[2], 1, rows, "R");
  if (typeof r === "string") return r;
  if (w.codes.dtype !== r.codes.dtype) return `W holds ${w.codes.dtype} codes and R ${r.codes.dtype}; the node's crossbars share one weight width`;
  const h = hiddenType(node, g, rows);
  if (typeof h === "string") return h;
  return {
    op,
    dirs,
    rows,
    w: { codes: w.codes, scale: w.scale, k: inputSize },
    r: { codes: r.codes, scale: r.scale, k: hidden },
    hidden: h,
  };
}

/** The hidden state's type as the integer recurrence derives it, or why it has none. */
function hiddenType(node: Node, g: LowerGraph, rows: number): HiddenType | string {
  const inTypes = node.inputs.map((v) => (v ? g.type(v) : undefined));
  const outTypes = node.outputs.map((v): TensorType => g.type(v) ?? { dtype: "float32", shape: null });
  try {
    return recurrentIntParams(inTypes, outTypes, rows).hidden;
  } catch (e) {
    if (e instanceof HwacError) return `no integer semantics: ${e.message}`;
    throw e;
  }
}
