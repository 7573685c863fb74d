/**
 * Lowering of a quantized model (docs/quantization.md) to an NNA program (docs/nna-isa.md).
 *
 * The host runs the model's float ends (boundary.ts): the float pre-processing up to the
 * QuantizeLinear nodes that make the program's input codes, and the DequantizeLinear nodes of
 * its output codes with the float post-processing after them. A program tensor takes the float
 * value's name (`x`, `logits`) and the codes' scale and zero point, so it stands for exactly that
 * value. Every other node, in graph order, goes to the lowering registered under its op name in
 * `LOWERINGS`; an op without one is HW5040.
 */
import { HwacError } from "../../../ir/errors.js";
import { defaultOpset, type Model, type Node } from "../../../ir/graph.js";
import { perTensor } from "../../../ir/quant-params.js";
import { configHash, DEFAULT_CONFIG, type NnaConfig } from "../config.js";
import type { IoDType, IoTensor, Program } from "../program.js";
import { hostBoundary } from "./boundary.js";
import { featureMap, LowerCtx, nhwcLanes, type Layout } from "./context.js";
import { DIRECT_CHANNELS, lowerConv } from "./Conv.js";
import { lowerMaxPool } from "./MaxPool.js";
import { lowerAveragePool } from "./AveragePool.js";
import { lowerGlobalAveragePool } from "./GlobalAveragePool.js";
import { lowerGlobalMaxPool } from "./GlobalMaxPool.js";
import { denseCopy, lowerReshape } from "./Reshape.js";
import { lowerAdd } from "./Add.js";
import { lowerMul } from "./Mul.js";
import { lowerSub } from "./Sub.js";
import { lowerMax } from "./Max.js";
import { lowerMin } from "./Min.js";
import { lowerClip } from "./Clip.js";
import { lowerSigmoid } from "./Sigmoid.js";
import { lowerAbs } from "./Abs.js";
import { lowerElu } from "./Elu.js";
import { lowerErf } from "./Erf.js";
import { lowerExp } from "./Exp.js";
import { lowerGelu } from "./Gelu.js";
import { lowerHardSigmoid } from "./HardSigmoid.js";
import { lowerHardSwish } from "./HardSwish.js";
import { lowerLeakyRelu } from "./LeakyRelu.js";
import { lowerLog } from "./Log.js";
import { lowerMish } from "./Mish.js";
import { lowerNeg } from "./Neg.js";
import { lowerSoftplus } from "./Softplus.js";
import { lowerSqrt } from "./Sqrt.js";
import { lowerSwish } from "./Swish.js";
import { lowerTanh } from "./Tanh.js";
import { lowerLSTM } from "./LSTM.js";
import { lowerDiv } from "./Div.js";
import { lowerReduceMax } from "./ReduceMax.js";
import { lowerReduceMean } from "./ReduceMean.js";
import { lowerReduceMin } from "./ReduceMin.js";
import { lowerReduceSum } from "./ReduceSum.js";
import { lowerMatMul } from "./MatMul.js";
import { lowerSoftmax } from "./Softmax.js";
import { lowerGather } from "./Gather.js";
import { lowerConcat } from "./Concat.js";
import { lowerSlice } from "./Slice.js";
import { lowerPad } from "./Pad.js";
import { lowerDequantizeLinear } from "./DequantizeLinear.js";
import { lowerGemm } from "./Gemm.js";
import { lowerTranspose } from "./Transpose.js";
import { lowerRelu } from "./Relu.js";
import { lowerGRU } from "./GRU.js";
import { lowerLayerNormalization } from "./LayerNormalization.js";
import { lowerConvTranspose } from "./ConvTranspose.js";

export { LowerCtx, type Buffer } from "./context.js";

/** Emits a node's instructions, reading its inputs from and writing its outputs to `ctx.buffers`. */
export type Lowering = (node: Node, ctx: LowerCtx) => void;

/** Each op's lowering, under the op's name. */
export const LOWERINGS: Readonly<Record<string, Lowering>> = {
  Abs: lowerAbs,
  Add: lowerAdd,
  AveragePool: lowerAveragePool,
  Clip: lowerClip,
  Concat: lowerConcat,
  Conv: lowerConv,
  ConvTranspose: lowerConvTranspose,
  DequantizeLinear: lowerDequantizeLinear,
  Div: lowerDiv,
  Elu: lowerElu,
  Erf: lowerErf,
  Exp: lowerExp,
  Flatten: lowerReshape,
  Gather: lowerGather,
  Gelu: lowerGelu,
  Gemm: lowerGemm,
  GlobalAveragePool: lowerGlobalAveragePool,
  GlobalMaxPool: lowerGlobalMaxPool,
  GRU: lowerGRU,
  HardSigmoid: lowerHardSigmoid,
  HardSwish: lowerHardSwish,
  LSTM: lowerLSTM,
  LayerNormalization: lowerLayerNormalization,
  LeakyRelu: lowerLeakyRelu,
  Log: lowerLog,
  MatMul: lowerMatMul,
  Max: lowerMax,
  MaxPool: lowerMaxPool,
  Min: lowerMin,
  Mish: lowerMish,
  Mul: lowerMul,
  Neg: lowerNeg,
  Pad: lowerPad,
  ReduceMax: lowerReduceMax,
  ReduceMean: lowerReduceMean,
  ReduceMin: lowerReduceMin,
  ReduceSum: lowerReduceSum,
  Relu: lowerRelu,
  Reshape: lowerReshape,
  Sigmoid: lowerSigmoid,
  Slice: lowerSlice,
  Softmax: lowerSoftmax,
  Softplus: lowerSoftplus,
  Sqrt: lowerSqrt,
  Squeeze: lowerReshape,
  Sub: lowerSub,
  Swish: lowerSwish,
  Tanh: lowerTanh,
  Transpose: lowerTranspose,
  Unsqueeze: lowerReshape,
};

export interface LowerOptions {
  /** The machine to build for (default: SPEC.md §3's). */
  config?: NnaConfig;
  /** Values of the symbolic dimensions (`{ batch: 16 }`): a program has static shapes. */
  dims?: Readonly<Record<string, number>>;
}

/** The code types the lowerings read and write so far. */
const CODE_DTYPES: ReadonlySet<string> = new Set<IoDType>(["int8"]);

/** Ops whose first input is a feature map they read in nhwc layout. */
const NHWC_READERS: ReadonlySet<string> = new Set(["Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"]);

/**
 * Whether a program input of `shape` is placed in nhwc layout by the host: an [N, C, spatial…]
 * map that only convolutions and pools read, unless it has so few channels that the
 * convolutions reading it take it dense, in place (Conv.ts DIRECT_CHANNELS).
 */
function nhwcInput(ctx: LowerCtx, codes: string, shape: readonly number[]): boolean {
  const readers = ctx.consumers(codes);
  if (shape.length < 3 || nhwcLanes(ctx.geo) === undefined || readers.length === 0) return false;
  if (!readers.every((r) => NHWC_READERS.has(r.op) && r.inputs[0] === codes)) return false;
  return !(shape[1]! <= DIRECT_CHANNELS && readers.every((r) => r.op === "Conv" || r.op === "ConvTranspose"));
}

/**
 * The program tensor of a graph input's or output's codes. Inputs are placed dense or nhwc
 * (`nhwcInput`); an output is read from where its producer left it: dense, or nhwc when that
 * buffer holds its feature map with padding lanes (the host drops them), else from a dense copy.
 */
function ioTensor(ctx: LowerCtx, node: Node, codes: string, name: string, kind: IoTensor["kind"]): IoTensor {
  const t = ctx.type(codes);
  if (!CODE_DTYPES.has(t.dtype)) {
    throw new HwacError("HW5045", `the program's ${kind} '${name}' must be int8 codes, got ${t.dtype}`, { node: node.name, op: node.op });
  }
  const q = perTensor(t, `the program's ${kind} '${name}'`);
  const shape = ctx.shape(codes, node);
  const io = { name, kind, dtype: t.dtype as IoDType, shape, scale: q.scale, zeroPoint: q.zp };
  if (kind === "input") {
    if (nhwcInput(ctx, codes, shape)) {
      const pixels = shape.reduce((a, b) => a * b, 1) / shape[1]!;
      return { ...io, addr: ctx.featureBuffer(codes, pixels, shape[1]!).addr, layout: "nhwc" };
    }
    return { ...io, addr: ctx.activation(codes, shape.slice(0, -1).reduce((a, b) => a * b, 1), shape.at(-1) ?? 1).addr };
  }
  const b = ctx.buffer(codes, node);
  if (b.layout === "dense" || (b.rows === shape[0] && b.cols === b.channels)) return { ...io, addr: b.addr };
  if (featureMap(b, shape)) return { ...io, addr: b.addr, layout: "nhwc" };
  ctx.beginLayer(node);
  return { ...io, addr: denseCopy(ctx, node, codes).addr };
}

export function lowerModel(q: Model, opts: LowerOptions = {}): Program {
  return lowerWithProbes(q, opts).program;
}

/**
 * Where a value computed on the NNA sits in DRAM after the run: DRAM is never handed out twice,
 * so a finished program still holds every activation, and `hwac verify` reads them to name the
 * first layer that differs from the reference.
 */
export interface Probe {
  readonly value: string;
  readonly node: string;
  readonly addr: number;
  readonly rows: number;
  readonly cols: number;
  readonly layout: Layout;
  readonly channels?: number;
}

/** The program and the DRAM placement of every value its lowerings produced, in graph order. */
export function lowerWithProbes(q: Model, opts: LowerOptions = {}): { program: Program; probes: Probe[] } {
  const config = opts.config ?? DEFAULT_CONFIG;
  const ctx = new LowerCtx(q.graph, config, opts.dims ?? {}, defaultOpset(q));
  const host = hostBoundary(q.graph);
  const onHost = new Set([...host.before, ...host.after]);
  const crossings = new Map([...host.inputs, ...host.outputs].map((c) => [c.node, c]));
  const inputs: IoTensor[] = [];
  const outputs: IoTensor[] = [];
  for (const node of q.graph.nodes) {
    const c = crossings.get(node);
    if (c && node.op === "QuantizeLinear") inputs.push(ioTensor(ctx, node, c.codes, c.name, "input"));
    else if (c) outputs.push(ioTensor(ctx, node, c.codes, c.name, "output"));
    else if (!onHost.has(node)) {
      const lower = LOWERINGS[node.op];
      if (!lower) throw new HwacError("HW5040", `the NNA has no lowering for ${node.op} yet`, { node: node.name, op: node.op });
      lower(node, ctx);
    }
  }
  ctx.finish();
  const probes: Probe[] = [];
  const producer = new Map(q.graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  for (const node of q.graph.nodes) {
    if (onHost.has(node) || crossings.has(node)) continue;
    // A node fused into its producer (a Relu into its Gemm's clamp) is computed by that layer.
    const layer = ctx.fused.has(node) ? (producer.get(node.inputs[0]!) ?? node) : node;
    for (const value of node.outputs) {
      const b = value ? ctx.buffers.get(value) : undefined;
      if (b) probes.push({ value, node: layer.name, addr: b.addr, rows: b.rows, cols: b.cols, layout: b.layout, ...(b.channels === undefined ? {} : { channels: b.channels }) });
    }
  }
  const program: Program = {
    configHash: configHash(config),
    dramBytes: ctx.dramBytes,
    tensors: [...inputs, ...outputs],
    layers: ctx.layers,
    segments: ctx.segments,
    insns: ctx.insns,
  };
  return { program, probes };
}
