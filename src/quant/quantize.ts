/**
 * The quantizing rewrite: a prepared float model (static shapes, BatchNorm folded) and
 * activation ranges in, a quantized model out (docs/quantization.md). Nodes whose op has integer
 * semantics run on quantized values; the rest stay float between DequantizeLinear and
 * QuantizeLinear, and are reported as fallbacks.
 */
import { HwacError } from "../../ir/errors.js";
import type { Graph, Model, Node, QuantParams, TensorType } from "../../ir/graph.js";
import { inferModel } from "../../ir/infer.js";
import { clamp, roundHalfEven } from "../../ir/numeric.js";
import { findOp } from "../../ir/ops/index.js";
import { intRange, type DType } from "../../ir/dtype.js";
import { numel, tensor, toFloat64, type Tensor } from "../../ir/tensor.js";
import { schemeFor, type QuantConfig, type Scheme } from "./config.js";
import { logSoftmaxOutputType, softmaxOutputType } from "../../ir/kernels/softmax.js";
import { renameReads } from "../passes/rewrite.js";
import { biasCorrection, meanCorrection, quantizeBias, scaled, subtract } from "./bias.js";
import type { LayerHessian } from "./gptq.js";
import type { Reference } from "./report.js";
import { EIGHT_BIT_ONLY, increasingInverse, isClamp, isParamInput, isScaleConstant, WEIGHTED } from "./rules.js";

export interface ActRange {
  min: number;
  max: number;
}

/** The calibrated range of a float value under a scheme (its method and bits), if known. */
export type RangeFn = (value: string, scheme: Scheme) => ActRange | undefined;

/**
 * Quantizes a float weight per output channel; returns int codes and per-channel scales.
 * `hessian` is the layer's input Hessian when the scheme rounds by GPTQ and the layer has one.
 */
export type WeightFn = (
  w: Tensor,
  opts: { scheme: Scheme; axis: number; seed: number; hessian?: LayerHessian },
) => { q: Tensor; scale: Float32Array; clipped: number };

/** What an op-specific quantizer (LSTM, GRU, …) may use from the rewrite. */
export interface CustomQuantCtx {
  readonly node: Node;
  readonly scheme: Scheme;
  /** Seed for this node's stochastic rounding. */
  readonly seed: number;
  readonly file?: string;
  /** The quantized value for a float data input (a QuantizeLinear is inserted when needed). */
  quantizedInput(v: string): string;
  /** Type of a value of the quantized graph (quantized names) or of the float graph. */
  typeOf(v: string): TensorType | undefined;
  /** A constant input's value (initializer or folded). */
  constOf(v: string): Tensor | undefined;
  /** Calibrated range of a float value of the original graph. */
  rangeOf(v: string): ActRange | undefined;
  /** Adds a quantized initializer; returns its (fresh) name. */
  addInitializer(base: string, t: Tensor, type: TensorType): string;
  readonly weightFn: WeightFn;
  /** The Hessian of the weight at input `input`, for `weightFn`, when the scheme rounds by GPTQ. */
  hessian(input: number): LayerHessian | undefined;
}

export interface CustomQuantResult {
  /** The node's new inputs (quantized names, "" for omitted). */
  inputs: string[];
  attrs?: Node["attrs"];
  /** Type of each output; all outputs of a custom-quantized node are quantized. */
  outTypes: TensorType[];
  weightBits?: number;
  clipped?: number;
}

/** Quantizes one node of an op with its own scheme; returns a reason string when it cannot. */
export type CustomQuantizer = (ctx: CustomQuantCtx) => CustomQuantResult | string;

export interface LayerInfo {
  node: string;
  op: string;
  weightBits?: number;
  actBits: number;
  /** Fraction of weights clipped by the weight range. */
  clipped?: number;
}

export interface QuantizeResult {
  model: Model;
  layers: LayerInfo[];
  /** Nodes that stayed float, with the reason. */
  fallbacks: { node: string; op: string; reason: string }[];
  /** Float value name → the quantized value holding its codes. */
  quantizedValues: Map<string, string>;
  /**
   * Values whose codes stand for something other than their own float value: the output of the
   * clamp (Relu/Clip) that reads them and whose range they take, or their own value clipped to
   * the range their only reader tells apart (a LeakyRelu's input). What `compareModels` compares
   * them with.
   */
  fusedClamps: Map<string, Reference>;
}

/** Per-tensor activation quantization of a range (docs/quantization.md). */
export function activationType(range: ActRange, bits: 4 | 8 | 16, symmetric: boolean, shape: TensorType["shape"]): TensorType {
  const lo = Math.min(range.min, 0);
  const hi = Math.max(range.max, 0);
  const dtype: DType = bits === 4 ? "int4" : bits === 16 ? "int16" : "int8";
  if (bits !== 8 || symmetric) {
    const qmax = intRange(dtype)[1];
    const scale = Math.fround(Math.max(-lo, hi) / qmax) || 1;
    return { dtype, shape, quant: { scale: Float32Array.of(scale), zeroPoint: Int32Array.of(0) } };
  }
  const scale = Math.fround((hi - lo) / 255) || 1;
  const zp = clamp(roundHalfEven(-128 - lo / scale), -128, 127);
  return { dtype, shape, quant: { scale: Float32Array.of(scale), zeroPoint: Int32Array.of(zp) } };
}

function scalarInit(dtype: DType, value: number): Tensor {
  const t = tensor(dtype, []);
  (t.data as Float32Array)[0] = value;
  return t;
}

/** Quantizes `t` to `type` (per tensor) at compile time: round half to even, saturate. */
function quantizeConst(t: Tensor, type: TensorType): Tensor {
  const q = type.quant!;
  const [lo, hi] = intRange(type.dtype);
  const x = toFloat64(t);
  const out = tensor(type.dtype, t.shape);
  const d = out.data as Int8Array;
  const s = q.scale[0]!;
  const z = q.zeroPoint[0]!;
  for (let i = 0; i < x.length; i++) d[i] = clamp(roundHalfEven(x[i]! / s) + z, lo, hi);
  return out;
}

function constRange(t: Tensor): ActRange {
  const x = toFloat64(t);
  let min = 0;
  let max = 0;
  for (const v of x) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

export function quantizeModel(
  model: Model,
  rangeOf: RangeFn,
  config: QuantConfig,
  weightFn: WeightFn,
  custom: Readonly<Record<string, CustomQuantizer>> = {},
  /** Calibrated mean per channel of a value: enables bias correction of weighted layers. */
  channelMean?: (value: string) => readonly number[] | undefined,
  /** The Hessian of a node's weight input, asked for (in graph order) when its scheme rounds by GPTQ. */
  hessianOf?: (node: Node, input: number) => LayerHessian | undefined,
): QuantizeResult {
  const g = model.graph;
  const file = model.source;
  const { types, consts } = inferModel(model);
  const isConst = (v: string) => g.initializers.has(v) || consts.has(v);
  const constOf = (v: string) => g.initializers.get(v) ?? consts.get(v)!;
  const consumers = new Map<string, Node[]>();
  for (const n of g.nodes) for (const i of n.inputs) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const graphOutputs = new Set(g.outputs.map((o) => o.name));
  const isFloat32 = (v: string) => types.get(v)?.dtype === "float32";

  const fallbacks: QuantizeResult["fallbacks"] = [];
  const layers: LayerInfo[] = [];
  const nodes: Node[] = [];
  const inits = new Map<string, Tensor>();
  const valueTypes = new Map<string, TensorType>();
  /** Quantized value names: original value → name holding its integer codes. */
  const qName = new Map<string, string>();
  /** Float value names for values produced quantized: original → dequantized name. */
  const fName = new Map<string, string>();
  const producedQuantized = new Set<string>();
  const used = new Set<string>([...g.initializers.keys(), ...g.inputs.map((i) => i.name)]);
  for (const n of g.nodes) n.outputs.forEach((o) => used.add(o));
  const fresh = (base: string) => {
    let name = base;
    for (let k = 1; used.has(name); k++) name = `${base}_${k}`;
    used.add(name);
    return name;
  };

  const isScalarConst = (v: string) => isConst(v) && constOf(v).data.length === 1;
  const fusedClamps = new Map<string, Reference>();
  /**
   * The range a value is quantized to: that of the clamp that is its only reader; or, when its
   * only reader is increasing (LeakyRelu), its own cut to the preimage of that reader's output
   * range — inputs beyond it give the same output codes, so grid steps spent on them are lost (a
   * LeakyRelu clamped by Max(·, −0.4) reads nothing below −0.4/α); or else its own.
   */
  const rangeFor = (v: string, scheme: Scheme): ActRange | undefined => {
    const readers = consumers.get(v) ?? [];
    const reader = readers.length === 1 && readers[0]!.inputs[0] === v && !graphOutputs.has(v) ? readers[0] : undefined;
    if (reader && isClamp(reader, isScalarConst)) {
      const r = rangeOf(reader.outputs[0]!, scheme);
      if (r) {
        fusedClamps.set(v, { value: reader.outputs[0]! });
        return r;
      }
    }
    const own = rangeOf(v, scheme);
    const inverse = reader && increasingInverse(reader);
    const out = inverse && own && rangeFor(reader.outputs[0]!, scheme);
    if (!out) return own;
    const clip = { min: inverse(out.min), max: inverse(out.max) };
    fusedClamps.set(v, { value: v, clip });
    return { min: Math.max(own!.min, clip.min), max: Math.min(own!.max, clip.max) };
  };

  const quantizedInput = (v: string, scheme: Scheme): string => {
    const have = qName.get(v);
    if (have) return have;
    if (isConst(v)) {
      const t = constOf(v);
      const type = activationType(constRange(t), scheme.actBits, scheme.actSymmetric, [...t.shape]);
      const name = fresh(`${v}_q`);
      inits.set(name, quantizeConst(t, type));
      valueTypes.set(name, type);
      qName.set(v, name);
      return name;
    }
    const range = rangeFor(v, scheme);
    if (!range) throw new HwacError("HW4020", `value '${v}' has no calibrated range`, { file });
    const type = activationType(range, scheme.actBits, scheme.actSymmetric, types.get(v)?.shape ?? null);
    const name = fresh(`${v}_q`);
    const sName = fresh(`${v}_scale`);
    const zName = fresh(`${v}_zero_point`);
    inits.set(sName, scalarInit("float32", type.quant!.scale[0]!));
    inits.set(zName, scalarInit(type.dtype, type.quant!.zeroPoint[0]!));
    nodes.push({ op: "QuantizeLinear", domain: "", name: fresh(`${v}_quantize`), inputs: [floatInput(v), sName, zName], outputs: [name], attrs: {} });
    valueTypes.set(name, type);
    qName.set(v, name);
    return name;
  };

  function floatInput(v: string): string {
    if (!producedQuantized.has(v)) return v;
    const have = fName.get(v);
    if (have) return have;
    const q = qName.get(v)!;
    const type = valueTypes.get(q)!;
    const name = graphOutputs.has(v) ? v : fresh(`${v}_dq`);
    const sName = fresh(`${v}_dq_scale`);
    const zName = fresh(`${v}_dq_zero_point`);
    inits.set(sName, scalarInit("float32", type.quant!.scale[0]!));
    inits.set(zName, scalarInit(type.dtype, type.quant!.zeroPoint[0]!));
    nodes.push({ op: "DequantizeLinear", domain: "", name: fresh(`${v}_dequantize`), inputs: [q, sName, zName], outputs: [name], attrs: {} });
    fName.set(v, name);
    return name;
  }

  // Quantizing a value that only float nodes read adds rounding noise and saves nothing: such
  // producers stay float too (walking back from the float ops, e.g. a power spectrum feeding Log).
  const floatNodes = new Set<Node>();
  const readOnlyByFloat = (n: Node) =>
    n.outputs.every((o) => {
      // Shape and Size read no values: they do not make a producer float.
      const readers = (consumers.get(o) ?? []).filter((r) => r.op !== "Shape" && r.op !== "Size");
      return o === "" || (!graphOutputs.has(o) && readers.length > 0 && readers.every((r) => floatNodes.has(r)));
    });
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    const def = findOp(n.domain, n.op);
    const scheme = schemeFor(config, n);
    const noInt = !def?.runInt && !def?.quantTransparent && !custom[n.op];
    if (scheme.float || noInt || readOnlyByFloat(n)) floatNodes.add(n);
  }

  const whyNot = (n: Node, scheme: Scheme): string | undefined => {
    const def = findOp(n.domain, n.op);
    if (scheme.float) return "kept float by the scheme";
    if (floatNodes.has(n) && (def?.runInt || def?.quantTransparent)) return "only float nodes read its outputs";
    if (!def?.runInt && !def?.quantTransparent) return "no integer semantics";
    if (scheme.actBits === 16 && EIGHT_BIT_ONLY.has(n.op)) return "16-bit activations: its integer semantics take 8-bit inputs";
    if (!n.outputs.every((o) => o === "" || isFloat32(o))) return "output is not float32";
    const rule = WEIGHTED[n.op];
    for (let i = 0; i < n.inputs.length; i++) {
      const v = n.inputs[i]!;
      if (!v || isParamInput(n, i) || isScaleConstant(n, i, isConst) || !isFloat32(v)) continue;
      if (rule && (i === rule.weight || i === rule.bias) && isConst(v)) continue;
      if (rule && i === rule.weight && n.op !== "MatMul") return "weight is not a constant";
      if (!isConst(v) && !qName.has(v) && !rangeFor(v, scheme)) return `input '${v}' has no calibrated range`;
    }
    if (!def.quantTransparent && n.op !== "Softmax" && n.op !== "LogSoftmax") {
      const unranged = n.outputs.find((o) => o !== "" && !rangeFor(o, scheme));
      if (unranged !== undefined) return `output '${unranged}' has no calibrated range (never computed on the calibration inputs)`;
    }
    if (n.op === "Gemm" && n.inputs[2]) {
      const c = types.get(n.inputs[2])?.shape;
      const nOut = types.get(n.outputs[0]!)?.shape?.at(-1);
      if (!isConst(n.inputs[2]) || !c || numel(c as number[]) !== nOut) return "Gemm's C is not a per-column bias";
    }
    return undefined;
  };

  const emitOutputs = (node: Node, outTypes: readonly TensorType[]): string[] =>
    node.outputs.map((o, k) => {
      if (!o) return o;
      const name = graphOutputs.has(o) ? fresh(`${o}_q`) : o;
      valueTypes.set(name, outTypes[k]!);
      qName.set(o, name);
      producedQuantized.add(o);
      return name;
    });

  g.nodes.forEach((node, index) => {
    const scheme = schemeFor(config, node);
    const seed = (config.seed * 1000003 + index) >>> 0;
    const customRule = floatNodes.has(node) ? undefined : custom[node.op];
    let reason: string | undefined;
    if (customRule) {
      const r = customRule({
        node,
        scheme,
        seed,
        file,
        quantizedInput: (v) => quantizedInput(v, scheme),
        typeOf: (v) => valueTypes.get(v) ?? types.get(v),
        constOf: (v) => (isConst(v) ? constOf(v) : undefined),
        rangeOf: (v) => rangeOf(v, scheme),
        addInitializer: (base, t, type) => {
          const name = fresh(base);
          inits.set(name, t);
          valueTypes.set(name, type);
          return name;
        },
        weightFn,
        hessian: (input) => (scheme.rounding === "gptq" ? hessianOf?.(node, input) : undefined),
      });
      if (typeof r !== "string") {
        nodes.push({ ...node, inputs: r.inputs, outputs: emitOutputs(node, r.outTypes), attrs: r.attrs ?? node.attrs });
        layers.push({ node: node.name, op: node.op, actBits: scheme.actBits, weightBits: r.weightBits, clipped: r.clipped });
        return;
      }
      reason = r;
    }
    reason ??= whyNot(node, scheme);
    if (reason) {
      if (node.outputs.some((o) => o && isFloat32(o))) fallbacks.push({ node: node.name, op: node.op, reason });
      // Reads inside If branches too: a branch sees the enclosing values by name.
      nodes.push(renameReads(node, floatInput));
      return;
    }
    const def = findOp(node.domain, node.op)!;
    const rule = WEIGHTED[node.op];
    const inputs = [...node.inputs];
    let attrs = node.attrs;
    let info: LayerInfo = { node: node.name, op: node.op, actBits: scheme.actBits };
    // Data inputs first: the bias scale depends on the input's.
    for (let i = 0; i < inputs.length; i++) {
      const v = inputs[i]!;
      if (!v) continue;
      if (isParamInput(node, i) || isScaleConstant(node, i, isConst) || !isFloat32(v)) {
        // Parameters are read as reals even when a quantized node computed them.
        inputs[i] = floatInput(v);
        continue;
      }
      if (rule && (i === rule.weight || i === rule.bias) && isConst(v)) continue;
      inputs[i] = quantizedInput(v, scheme);
    }
    if (rule && isConst(node.inputs[rule.weight]!)) {
      let w = constOf(node.inputs[rule.weight]!);
      let bias = rule.bias !== undefined && node.inputs[rule.bias] ? constOf(node.inputs[rule.bias]!) : undefined;
      if (node.op === "Gemm") {
        // alpha·A·B + beta·C: fold alpha into B and beta into C so the integer Gemm is A·B + C.
        const alpha = node.attrs["alpha"]?.kind === "float" ? node.attrs["alpha"].value : 1;
        const beta = node.attrs["beta"]?.kind === "float" ? node.attrs["beta"].value : 1;
        if (alpha !== 1) w = scaled(w, alpha);
        if (bias && beta !== 1) bias = scaled(bias, beta);
        const { alpha: _a, beta: _b, ...rest } = node.attrs;
        attrs = rest;
      }
      const axis = rule.axis(node, w.shape.length);
      const hessian = scheme.rounding === "gptq" ? hessianOf?.(node, rule.weight) : undefined;
      const wq = weightFn(w, { scheme, axis, seed, hessian });
      const wName = fresh(`${node.inputs[rule.weight]}_q`);
      inits.set(wName, wq.q);
      const wQuant: QuantParams = { scale: wq.scale, zeroPoint: new Int32Array(wq.scale.length), axis };
      valueTypes.set(wName, { dtype: wq.q.dtype, shape: [...w.shape], quant: wQuant });
      inputs[rule.weight] = wName;
      info = { ...info, weightBits: scheme.weightBits, clipped: wq.clipped };
      if (channelMean && rule.bias !== undefined) {
        // The Hessian's row mean is exact (padding included); per-channel means are the fallback.
        const mean = channelMean(node.inputs[0]!);
        const delta = hessian ? meanCorrection(w, wq.q, wq.scale, axis, hessian) : mean && biasCorrection(node, w, wq.q, wq.scale, axis, mean);
        if (delta) bias = subtract(bias ?? tensor("float32", [delta.length]), delta);
      }
      if (bias && rule.bias !== undefined) {
        const sx = valueTypes.get(inputs[0]!)!.quant!.scale[0]!;
        const bq = quantizeBias(bias, sx, wq.scale);
        const bName = fresh(`${node.inputs[rule.bias] || `${node.name}_bias`}_q`);
        inits.set(bName, bq.q);
        valueTypes.set(bName, { dtype: "int32", shape: [...bias.shape], quant: bq.quant });
        inputs[rule.bias] = bName;
      }
    }
    const outTypes = node.outputs.map((o): TensorType => {
      if (!o) return { dtype: "float32", shape: null };
      const shape = types.get(o)?.shape ?? null;
      if (def.quantTransparent) return { ...valueTypes.get(inputs[0]!)!, shape };
      // A fixed output grid: probabilities in [0, 1), log-probabilities in [−16, 0] (TFLite's).
      if (node.op === "Softmax") return softmaxOutputType(shape);
      if (node.op === "LogSoftmax") return logSoftmaxOutputType(shape);
      const range = rangeFor(o, scheme);
      if (!range) throw new HwacError("HW4020", `value '${o}' has no calibrated range`, { file, node: node.name, op: node.op });
      return activationType(range, scheme.actBits, scheme.actSymmetric, shape);
    });
    const outputs = emitOutputs(node, outTypes);
    nodes.push({ ...node, inputs, outputs, attrs });
    layers.push(info);
  });
  for (const o of g.outputs) floatInput(o.name);

  // Initializers the quantized graph still reads (shape data, float fallbacks' weights).
  const reads = new Set<string>();
  const collect = (gr: Graph | { nodes: readonly Node[] }) => {
    for (const n of gr.nodes) {
      n.inputs.forEach((i) => reads.add(i));
      for (const a of Object.values(n.attrs)) if (a.kind === "graph") collect(a.value);
    }
  };
  collect({ nodes });
  for (const [k, v] of g.initializers) if (reads.has(k) && !inits.has(k)) inits.set(k, v);
  for (const [k, v] of g.valueTypes) if (!valueTypes.has(k) && !producedQuantized.has(k)) valueTypes.set(k, v);

  const graph: Graph = { ...g, nodes, initializers: inits, valueTypes };
  for (const v of fusedClamps.keys()) if (!qName.has(v)) fusedClamps.delete(v);
  return { model: { ...model, graph }, layers, fallbacks, quantizedValues: qName, fusedClamps };
}
