/**
 * The AIMC compiler's back half: a quantized model with static shapes (docs/quantization.md) →
 * the AIMC-quantized graph, in which every MVM-shaped node that goes onto crossbars is one
 * `hwac::AnalogMvm` node (ir/ops/AnalogMvm.ts) and every recurrent one an `hwac::AnalogLSTM` or
 * `hwac::AnalogGRU` (ir/ops/AnalogLSTM.ts, AnalogGRU.ts), plus its mapping.json and weights.bin
 * (backends/aimc/format.ts). Everything else stays as it is and runs on the chip's
 * digital periphery with the integer reference.
 *
 * Rules of the rewrite:
 * - Which nodes: a quantized Conv with group 1 (any spatial rank), a Gemm with transA 0, alpha =
 *   beta = 1 and a constant B (transB either way), a MatMul with a constant 2-D B [K, N] — each
 *   when X is quantized per tensor and the weight is int8 or int4, symmetric (zero point 0),
 *   per output channel or per tensor (its scale is then repeated per output). Conv.ts, Gemm.ts
 *   and MatMul.ts read the node; `LowerGraph` holds the checks they share. Every other MVM-shaped
 *   node (grouped or depthwise Conv, activation × activation MatMul, float nodes, ConvTranspose,
 *   RNN, …) stays digital and is listed in `digital` with the reason.
 * - Recurrent nodes: a quantized LSTM or GRU with integer semantics and constant W, R (LSTM.ts,
 *   GRU.ts, recurrent.ts) becomes AnalogLSTM / AnalogGRU with the same inputs (W, R and B stay
 *   initializers), outputs and attributes, plus w_row_blocks / w_input_range over the input size
 *   (r from X's type), r_row_blocks / r_input_range over the hidden size (r from the hidden
 *   state's type, Y's or Y_h's), weight_bits and the converters.
 * - The new node: inputs X, W (`<layer>.w`: conv layout [M, C, k…], else [N, K] — Gemm's B
 *   transposed unless transB, MatMul's B transposed), B (`<layer>.b`, int32 [N]) when the node
 *   had a bias; output and its type unchanged. W's type is the quantizer's form, per-channel
 *   along axis 0 with zero point 0 (scale s_w[n]); B's is int32 with scale s_x·s_w[n] rounded
 *   to float32 (as quantizeBias declares it). The old weight and bias initializers go when no
 *   node reads them any more. The model gets opset `hwac` 1.
 * - Attributes: conv mode has kernel_shape, strides, dilations and explicit pads (auto_pad is
 *   resolved against X's static shape by conv-geometry); row_blocks = splitSizes(K, tile rows);
 *   input_range = r per row block, r = s_x·max(|q_min − z_x|, |q_max − z_x|) over X's code type
 *   (the DAC's full scale covers every code X can hold), rounded to float32 because ONNX float
 *   attributes are float32; weight_bits = 4 for int4 weights, else 8 (the quantizer stores
 *   5–8-bit weights in int8, so 8 is the width that always holds them); dac_bits, dac_bound,
 *   adc_bits, adc_bound from the chip config.
 * - Layers: in graph order, one per AnalogMvm node, named after the node, and per recurrent node
 *   one per direction d and matrix, `<node>.W<d>` then `<node>.R<d>` (rows = input or hidden
 *   size, cols = gates·hidden, s_w per gate row, no bias). A node without a name, or whose name
 *   another node also carries, or whose layer names are node names, is renamed `<op>_<node
 *   index>` (`_2`, `_3`, … appended while that is taken). Column splitting and packing are
 *   mapLayers'.
 * Everything iterates the graph in order over Maps kept in insertion order, so the same model
 * and config give byte-identical files.
 */
import { intRange } from "../../../ir/dtype.js";
import { HwacError } from "../../../ir/errors.js";
import { isStatic, type Attr, type Graph, type Model, type Node, type TensorType } from "../../../ir/graph.js";
import { nodeReads } from "../../../ir/interpret.js";
import { tensor, type Tensor } from "../../../ir/tensor.js";
import { levels, type AimcConfig } from "../config.js";
import { assemble, type LayerWeights, type MappingFile, type WeightsImage } from "../format.js";
import { mapLayers, splitSizes } from "../mapping.js";
import { extractConv } from "./Conv.js";
import { extractGemm } from "./Gemm.js";
import { extractGRU } from "./GRU.js";
import { extractLSTM } from "./LSTM.js";
import { extractMatMul } from "./MatMul.js";
import type { RecurrentParts } from "./recurrent.js";

/** What an op file reads from a node that goes onto crossbars. */
export interface MvmParts {
  /** Weight codes: [M, C, k…] in conv mode, [N, K] in matmul mode. */
  readonly w: Tensor;
  /** s_w per output (N entries). */
  readonly scale: Float32Array;
  /** int32 [N]. */
  readonly bias?: Tensor;
  /** Conv mode: kernel_shape, strides, pads, dilations; matmul mode: none. */
  readonly attrs: Readonly<Record<string, Attr>>;
}

/** X of the node: its type, with a static shape. */
export interface MvmInput {
  readonly type: TensorType;
  readonly shape: readonly number[];
}

/** Reads a node: its crossbar form, or why it stays digital. */
export type Extractor = (node: Node, g: LowerGraph, x: MvmInput) => MvmParts | string;

const EXTRACTORS: ReadonlyMap<string, Extractor> = new Map([["Conv", extractConv], ["Gemm", extractGemm], ["MatMul", extractMatMul]]);

/** Reads a recurrent node: its crossbar form, or why it stays digital. */
export type RecurrentExtractor = (node: Node, g: LowerGraph, x: MvmInput) => RecurrentParts | string;

const RECURRENT: ReadonlyMap<string, RecurrentExtractor> = new Map([["LSTM", extractLSTM], ["GRU", extractGRU]]);

/** MVM-shaped ops without a crossbar form: listed in `digital` whenever they occur. */
const NO_FORM: ReadonlyMap<string, string> = new Map([
  ...["ConvTranspose", "ConvInteger", "MatMulInteger", "QLinearConv", "QLinearMatMul", "Einsum"].map((op) => [op, `${op} has no AnalogMvm form`] as const),
  ["Attention", "Attention multiplies activations by activations"],
  ["RNN", "RNN has no analog form (LSTM and GRU have)"],
]);

/** X's code types: those the DAC reads (the contract's). */
const X_DTYPES: ReadonlySet<string> = new Set(["int8", "uint8", "int4", "uint4", "int16"]);

/** A weight's width as the crossbar sees it: qW = 2^(bits−1) − 1 programs g_max. */
function weightBits(dtype: string): number {
  return dtype === "int4" ? 4 : 8;
}

/** The graph's constants and types, and the checks every op file applies to its operands. */
export class LowerGraph {
  private readonly inputTypes: ReadonlyMap<string, TensorType>;

  constructor(readonly graph: Graph) {
    this.inputTypes = new Map(graph.inputs.map((d) => [d.name, d.type]));
  }

  type(v: string): TensorType | undefined {
    return this.graph.valueTypes.get(v) ?? this.inputTypes.get(v);
  }

  constant(v: string | undefined): Tensor | undefined {
    return v ? this.graph.initializers.get(v) : undefined;
  }

  /**
   * A weight operand: constant int8/int4 codes, symmetric, quantized per tensor or along `axis`
   * with `channels` scales, every code within ±(2^(bits−1) − 1). Returns s_w per channel.
   */
  weight(v: string | undefined, axis: number, channels: number, what: string): { codes: Tensor; scale: Float32Array } | string {
    const codes = this.constant(v);
    if (!codes) return `${what} is not a constant (an activation × activation product)`;
    const q = this.type(v!)?.quant;
    if (!q) return `${what} is not quantized (the node runs in float)`;
    if (codes.dtype !== "int8" && codes.dtype !== "int4") return `${what} holds ${codes.dtype} codes; crossbars take int8 or int4 weights`;
    if (q.zeroPoint.some((z) => z !== 0)) return `${what} is not symmetric (zero point ≠ 0)`;
    let scale: Float32Array;
    if (q.scale.length === 1) scale = new Float32Array(channels).fill(q.scale[0]!);
    else if (q.scale.length === channels && q.axis === axis) scale = Float32Array.from(q.scale);
    else return `${what} has ${q.scale.length} scales on axis ${q.axis}, not one per output (axis ${axis}, ${channels} channels)`;
    const max = levels(weightBits(codes.dtype));
    const data = codes.data as Int8Array;
    for (let i = 0; i < data.length; i++) {
      if (data[i]! < -max || data[i]! > max) return `${what} holds the code ${data[i]}, outside the symmetric range ±${max}`;
    }
    return { codes, scale };
  }

  /** An optional bias operand: a constant int32 with one entry per output, returned as [N]. */
  bias(v: string | undefined, n: number, what: string): Tensor | undefined | string {
    if (!v) return undefined;
    const b = this.constant(v);
    if (!b || b.dtype !== "int32" || b.data.length !== n || b.shape.at(-1) !== n) {
      return `${what} is not a constant int32 bias of ${n} entries`;
    }
    return tensor("int32", [n], b.data);
  }
}

/** X: per-tensor quantized codes with a static shape, or why the node stays digital. */
function mvmInput(node: Node, g: LowerGraph): MvmInput | string {
  const type = g.type(node.inputs[0]!);
  if (!type?.quant) return "X is not quantized (the node runs in float)";
  if (type.quant.scale.length !== 1) return "X is quantized per channel; the DAC takes one scale";
  if (!X_DTYPES.has(type.dtype)) return `X holds ${type.dtype} codes; the DAC reads ${[...X_DTYPES].join(", ")}`;
  if (!isStatic(type.shape)) {
    throw new HwacError("HW5140", `AIMC lowering needs static shapes (staticize the model first); X is [${type.shape?.join(", ") ?? "*"}]`, {
      node: node.name, op: node.op,
    });
  }
  return { type, shape: type.shape };
}

function outputReason(node: Node, g: LowerGraph): string | undefined {
  const q = g.type(node.outputs[0]!)?.quant;
  if (!q) return "Y is not quantized (the node runs in float)";
  if (q.scale.length !== 1) return "Y is quantized per channel";
  return undefined;
}

/** Names that are free: `take(base)` returns base, or base_2, base_3, … whichever is unused first. */
class Names {
  private readonly used: Set<string>;
  constructor(names: Iterable<string>) {
    this.used = new Set(names);
  }
  has(name: string): boolean {
    return this.used.has(name);
  }
  add(name: string): void {
    this.used.add(name);
  }
  take(base: string): string {
    let name = base;
    for (let k = 2; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }
}

/** r = s·max(|q_min − z|, |q_max − z|): the DAC's full scale covers every code of the type, in float32 as ONNX attributes hold it. */
function fullRange(dtype: TensorType["dtype"], scale: number, zp: number): number {
  const [lo, hi] = intRange(dtype);
  return Math.fround(scale * Math.max(Math.abs(lo - zp), Math.abs(hi - zp)));
}

/** One layer on its way to the files. */
interface Layer {
  readonly name: string;
  readonly rows: number;
  readonly cols: number;
  readonly weights: LayerWeights;
  readonly weightBits: number;
  readonly scale: Float32Array;
  readonly inputRange: readonly number[];
}

export interface AimcLowering {
  readonly model: Model;
  readonly mapping: MappingFile;
  readonly image: WeightsImage;
  /** MVM-shaped nodes left to the digital periphery, with the reason. */
  readonly digital: { node: string; op: string; reason: string }[];
}

export function lowerForAimc(q: Model, opts: { config: AimcConfig }): AimcLowering {
  const { config } = opts;
  const g = q.graph;
  const lg = new LowerGraph(g);
  const nameCount = new Map<string, number>();
  for (const n of g.nodes) nameCount.set(n.name, (nameCount.get(n.name) ?? 0) + 1);
  const nodeNames = new Names(g.nodes.map((n) => n.name));
  const valueNames = new Names([...g.initializers.keys(), ...g.valueTypes.keys(), ...g.inputs.map((d) => d.name), ...g.nodes.flatMap((n) => n.outputs)]);
  const initializers = new Map(g.initializers);
  const valueTypes = new Map(g.valueTypes);
  const replaced = new Set<string>();
  const digital: AimcLowering["digital"] = [];
  const layers: Layer[] = [];

  const converters = (bits: number): Record<string, Attr> => ({
    weight_bits: { kind: "int", value: bits },
    dac_bits: { kind: "int", value: config.dac.bits },
    dac_bound: { kind: "float", value: config.dac.bound },
    adc_bits: { kind: "int", value: config.adc.bits },
    adc_bound: { kind: "float", value: config.adc.bound },
  });

  /**
   * The new node's name: its own when non-empty, unique and no node is named as one of its layers
   * (`name + suffix`), else `<op>_<index>`. Its layer names are reserved from then on.
   */
  const nameFor = (node: Node, index: number, op: string, suffixes: readonly string[]): string => {
    const free = (base: string) => suffixes.every((s) => s === "" || !nodeNames.has(base + s));
    let name = node.name !== "" && nameCount.get(node.name) === 1 && free(node.name) ? node.name : nodeNames.take(`${op}_${index}`);
    while (!free(name)) name = nodeNames.take(`${op}_${index}`);
    for (const s of suffixes) nodeNames.add(name + s);
    return name;
  };

  const lowerMvm = (node: Node, index: number, x: MvmInput, parts: MvmParts): Node => {
    const name = nameFor(node, index, "AnalogMvm", [""]);
    const { w, scale, bias } = parts;
    const n = w.shape[0]!;
    const k = w.data.length / n;
    const xq = x.type.quant!;
    const rowBlocks = splitSizes(k, config.tile.rows);
    const inputRange = rowBlocks.map(() => fullRange(x.type.dtype, xq.scale[0]!, xq.zeroPoint[0]!));
    const bits = weightBits(w.dtype);

    const wName = valueNames.take(`${name}.w`);
    initializers.set(wName, w);
    valueTypes.set(wName, { dtype: w.dtype, shape: [...w.shape], quant: { scale, zeroPoint: new Int32Array(n), axis: 0 } });
    const inputs = [node.inputs[0]!, wName];
    if (bias) {
      const bName = valueNames.take(`${name}.b`);
      const bScale = new Float32Array(n);
      for (let c = 0; c < n; c++) bScale[c] = xq.scale[0]! * scale[c]!;
      initializers.set(bName, bias);
      valueTypes.set(bName, { dtype: "int32", shape: [n], quant: { scale: bScale, zeroPoint: new Int32Array(n), axis: 0 } });
      inputs.push(bName);
    }
    node.inputs.slice(1).forEach((v) => v && replaced.add(v));
    layers.push({
      name, rows: k, cols: n, scale, inputRange, weightBits: bits,
      weights: bias ? { codes: w.data as Int8Array, bias: bias.data as Int32Array } : { codes: w.data as Int8Array },
    });
    return {
      op: "AnalogMvm",
      domain: "hwac",
      name,
      inputs,
      outputs: [node.outputs[0]!],
      attrs: {
        ...parts.attrs,
        row_blocks: { kind: "ints", value: rowBlocks },
        input_range: { kind: "floats", value: inputRange },
        ...converters(bits),
      },
    };
  };

  const lowerRecurrent = (node: Node, index: number, x: MvmInput, parts: RecurrentParts): Node => {
    const { dirs, rows, w, r, hidden } = parts;
    const kinds = [["W", w], ["R", r]] as const;
    const name = nameFor(node, index, parts.op, Array.from({ length: dirs }, (_, d) => kinds.map(([kind]) => `.${kind}${d}`)).flat());
    const bits = weightBits(w.codes.dtype);
    const xq = x.type.quant!;
    const wBlocks = splitSizes(w.k, config.tile.rows);
    const rBlocks = splitSizes(r.k, config.tile.rows);
    const ranges = {
      W: wBlocks.map(() => fullRange(x.type.dtype, xq.scale[0]!, xq.zeroPoint[0]!)),
      R: rBlocks.map(() => fullRange(hidden.dtype, hidden.scale, hidden.zp)),
    };
    for (let d = 0; d < dirs; d++) {
      for (const [kind, m] of kinds) {
        const size = rows * m.k;
        const codes = (m.codes.data as Int8Array).subarray(d * size, (d + 1) * size);
        layers.push({ name: `${name}.${kind}${d}`, rows: m.k, cols: rows, scale: m.scale, inputRange: ranges[kind], weightBits: bits, weights: { codes } });
      }
    }
    return {
      op: parts.op,
      domain: "hwac",
      name,
      inputs: node.inputs,
      outputs: node.outputs,
      attrs: {
        ...node.attrs,
        w_row_blocks: { kind: "ints", value: wBlocks },
        w_input_range: { kind: "floats", value: ranges.W },
        r_row_blocks: { kind: "ints", value: rBlocks },
        r_input_range: { kind: "floats", value: ranges.R },
        ...converters(bits),
      },
    };
  };

  const nodes = g.nodes.map((node, index): Node => {
    const why = (reason: string): Node => {
      digital.push({ node: node.name, op: node.op, reason });
      return node;
    };
    const extract = node.domain === "" ? EXTRACTORS.get(node.op) : undefined;
    const recurrent = node.domain === "" ? RECURRENT.get(node.op) : undefined;
    const noForm = node.domain === "" ? NO_FORM.get(node.op) : undefined;
    if (!extract && !recurrent) return noForm ? why(noForm) : node;
    const x = mvmInput(node, lg);
    if (typeof x === "string") return why(x);
    if (recurrent) {
      const parts = recurrent(node, lg, x);
      return typeof parts === "string" ? why(parts) : lowerRecurrent(node, index, x, parts);
    }
    const parts = extract!(node, lg, x);
    if (typeof parts === "string") return why(parts);
    const yReason = outputReason(node, lg);
    return yReason ? why(yReason) : lowerMvm(node, index, x, parts);
  });

  // The replaced weights and biases go unless another node (or a graph output) still reads them.
  const reads = new Set([...nodes.flatMap(nodeReads), ...g.outputs.map((o) => o.name)]);
  for (const v of replaced) {
    if (reads.has(v) || !initializers.has(v)) continue;
    initializers.delete(v);
    valueTypes.delete(v);
  }

  const mapped = mapLayers(layers, config.tile);
  const { mapping, image } = assemble(
    mapped,
    layers.map((l) => l.weights),
    layers.map((l) => ({ weightBits: l.weightBits, scales: { weight: Array.from(l.scale), input: l.inputRange } })),
  );
  const model: Model = {
    ...q,
    opsets: { ...q.opsets, hwac: 1 },
    graph: { ...g, nodes, initializers, valueTypes },
  };
  return { model, mapping, image, digital };
}
