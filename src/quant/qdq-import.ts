/**
 * Models quantized elsewhere → hwac's quantized IR (docs/quantization.md). Recognised forms:
 * - QDQ (PyTorch, Brevitas, ONNX Runtime's quantizer, `toQdq`): a float op whose data inputs are
 *   DequantizeLinear outputs and whose outputs each feed one QuantizeLinear (directly, or through
 *   a Relu/Clip, which then shares the output's quantization) becomes that op on quantized values;
 *   a DequantizeLinear of an integer initializer makes the initializer a quantized one (weights,
 *   int32 bias) with the node's scale, zero point and axis;
 * - QOperator: QLinearConv → Conv and QLinearMatMul → MatMul on values typed by their scale and
 *   zero-point inputs; data-movement ops reading their integer outputs keep the input's type.
 * A node is converted only when its op has integer semantics in hwac and every parameter is a
 * constant; everything else stays as it is, QuantizeLinear/DequantizeLinear included (they are
 * the quantized graph's float boundary). MatMulInteger and ConvInteger stay integer ops: their
 * scales live in the float ops after them, computed at run time by dynamic quantization.
 */
import { intRange, isFloat, ONNX_DTYPE, type DType } from "../../ir/dtype.js";
import type { Model, Node, QuantParams, TensorType } from "../../ir/graph.js";
import { inferModel } from "../../ir/infer.js";
import { nodeReads } from "../../ir/interpret.js";
import { centered, perAxisLayout, perTensorLayout, QUANT_DTYPES } from "../../ir/kernels/quantize.js";
import { findOp } from "../../ir/ops/index.js";
import { fromFloat64, numel, tensor, toFloat64, type Tensor } from "../../ir/tensor.js";
import { removeDead } from "../passes/remove-dead.js";
import { allNames, freshName } from "../passes/rewrite.js";
import { isClamp, isParamInput, WEIGHTED } from "./rules.js";

/** Ops whose presence marks a model as quantized. */
const QUANTIZED_OPS: ReadonlySet<string> = new Set([
  "QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger", "DynamicQuantizeLinear",
]);

/** Where a converted node's output goes: the value that holds its codes, and their type. */
interface Target {
  readonly name: string;
  readonly type: TensorType;
  /** The QuantizeLinear whose output the node now writes. */
  readonly absorbs?: Node;
}

export function fromQdq(model: Model): Model | undefined {
  const g = model.graph;
  if (!g.nodes.some((n) => n.domain === "" && QUANTIZED_OPS.has(n.op))) return undefined;
  const { types, consts } = inferModel(model);
  const readers = new Map<string, Set<Node>>();
  for (const n of g.nodes) for (const r of nodeReads(n)) readers.set(r, (readers.get(r) ?? new Set()).add(n));
  const graphOutputs = new Set(g.outputs.map((o) => o.name));
  const graphInputs = new Set(g.inputs.map((i) => i.name));

  /** Quantized types of the values that hold integer codes. */
  const codeTypes = new Map<string, TensorType>();
  /** Names read with float semantics (DequantizeLinear outputs, clamp inputs) → the codes behind them. */
  const codeOf = new Map<string, string>();
  const absorbed = new Set<Node>();

  const shapeOf = (v: string) => types.get(v)?.shape ?? null;
  const soleReader = (v: string): Node | undefined => {
    const r = readers.get(v);
    return !graphOutputs.has(v) && r?.size === 1 ? [...r][0] : undefined;
  };
  /** The QuantizeLinear that is the only reader of `v`. */
  const quantizerOf = (v: string): Node | undefined => {
    const r = soleReader(v);
    return r?.domain === "" && r.op === "QuantizeLinear" && r.inputs[0] === v ? r : undefined;
  };
  const hasIntSemantics = (n: Node) => {
    const def = n.domain === "" ? findOp("", n.op) : undefined;
    return !!(def?.runInt || def?.quantTransparent);
  };
  /** A code value's type is fixed by its first use; a different one later means "not convertible". */
  const fits = (v: string, t: TensorType) => !codeTypes.has(v) || sameType(codeTypes.get(v)!, t);
  const claim = (v: string, t: TensorType): boolean => {
    if (!fits(v, t)) return false;
    codeTypes.set(v, t);
    return true;
  };

  /** The type QuantizeLinear/DequantizeLinear `n` gives its codes (undefined when not constant or blocked). */
  const linearType = (n: Node, codes: string, codeDType: DType | undefined): TensorType | undefined => {
    if (n.attrs["block_size"]?.kind === "int" && n.attrs["block_size"].value !== 0) return undefined;
    const code = n.attrs["output_dtype"]?.kind === "int" ? n.attrs["output_dtype"].value : 0;
    // QuantizeLinear's codes have the zero point's type, else output_dtype's, else uint8.
    const dtype = codeDType ?? (code ? ONNX_DTYPE[code] : "uint8");
    const axis = n.attrs["axis"]?.kind === "int" ? n.attrs["axis"].value : 1;
    return quantType(consts, n.inputs[1], n.inputs[2], dtype, axis, shapeOf(codes));
  };

  const targetOf = (o: string): Target | undefined => {
    const q = quantizerOf(o);
    if (q) {
      const type = linearType(q, q.outputs[0]!, undefined);
      return type && { name: q.outputs[0]!, type, absorbs: q };
    }
    // Conv → Relu → Q: the producer's output already has the clamp's quantization.
    const r = soleReader(o);
    const rq = r && r.domain === "" && isClamp(r, (v) => (g.initializers.get(v)?.data.length ?? 0) === 1) && r.inputs[0] === o && hasIntSemantics(r) ? quantizerOf(r.outputs[0]!) : undefined;
    const type = rq && linearType(rq, rq.outputs[0]!, undefined);
    return type && { name: o, type: { ...type, shape: shapeOf(o) } };
  };

  /** `n` on quantized values, or undefined when it must stay as it is. */
  const convert = (n: Node): Node | undefined => {
    if (!hasIntSemantics(n)) return undefined;
    const def = findOp("", n.op)!;
    const rule = WEIGHTED[n.op];
    let viaDq = 0;
    let direct = 0;
    const inputs = n.inputs.map((v, i) => {
      if (v === "") return v;
      const c = codeOf.get(v);
      if (c !== undefined) {
        viaDq++;
        // A weight that is not a constant keeps the op float, as the quantizer decides.
        return rule && i === rule.weight && n.op !== "MatMul" && !g.initializers.has(c) ? undefined : c;
      }
      if (codeTypes.has(v)) {
        direct++;
        return v;
      }
      const dtype = types.get(v)?.dtype;
      return isParamInput(n, i) || (dtype !== undefined && !isFloat(dtype)) ? v : undefined;
    });
    if (inputs.some((v) => v === undefined) || viaDq + direct === 0 || (viaDq > 0 && direct > 0)) return undefined;
    let targets: (Target | undefined)[];
    if (direct > 0) {
      // Integer codes read directly (QOperator graphs): only data movement keeps their meaning.
      if (!def.quantTransparent) return undefined;
      const t = codeTypes.get(n.inputs.find((v) => codeTypes.has(v))!)!;
      targets = n.outputs.map((o) => ({ name: o, type: { ...t, shape: shapeOf(o) } }));
    } else {
      targets = n.outputs.map((o) => (o === "" ? { name: "", type: { dtype: "float32", shape: null } } : targetOf(o)));
    }
    if (targets.some((t) => t === undefined)) return undefined;
    const outTargets = targets as Target[];
    if (!def.runInt) {
      const all = [...inputs.filter((v) => v && codeTypes.has(v!)).map((v) => codeTypes.get(v!)!), ...outTargets.filter((t) => t.name).map((t) => t.type)];
      if (!all.every((t) => sameQuant(t, all[0]!))) return undefined;
    }
    for (const t of outTargets) {
      if (!t.name) continue;
      codeTypes.set(t.name, t.type);
      if (t.absorbs) absorbed.add(t.absorbs);
      else if (direct === 0) codeOf.set(t.name, t.name);
    }
    return { ...n, inputs: inputs as string[], outputs: outTargets.map((t) => t.name) };
  };

  /** QLinearConv → Conv, QLinearMatMul → MatMul: scale and zero-point inputs become types. */
  const fromQLinear = (n: Node): Node | undefined => {
    const conv = n.op === "QLinearConv";
    const [a, aS, aZ, b, bS, bZ, yS, yZ, bias = ""] = n.inputs as (string | undefined)[];
    const y = n.outputs[0]!;
    const aType = quantType(consts, aS, aZ, types.get(a!)?.dtype, 1, shapeOf(a!));
    const bConst = g.initializers.has(b!);
    const bRank = shapeOf(b!)?.length ?? 0;
    // Weights: per output channel (Conv axis 0, MatMul's last axis); activations per tensor.
    const bType = quantType(consts, bS, bZ, types.get(b!)?.dtype, conv ? 0 : bRank - 1, shapeOf(b!));
    const yType = quantType(consts, yS, yZ, types.get(a!)?.dtype, 1, shapeOf(y));
    if (!aType || !bType || !yType || aType.quant!.scale.length !== 1 || yType.quant!.scale.length !== 1) return undefined;
    if (!conv && !bConst && bType.quant!.scale.length !== 1) return undefined;
    const biasType = bias ? biasTypeOf(g.initializers.get(bias), aType.quant!, bType.quant!) : undefined;
    if (bias && !biasType) return undefined;
    const claims: [string, TensorType][] = [[a!, aType], [b!, bType], [y, yType], ...(biasType ? [[bias, biasType] as [string, TensorType]] : [])];
    if (!claims.every(([v, t]) => fits(v, t))) return undefined;
    claims.forEach(([v, t]) => claim(v, t));
    return { ...n, op: conv ? "Conv" : "MatMul", inputs: conv ? [a!, b!, ...(bias ? [bias] : [])] : [a!, b!] };
  };

  const initializers = new Map(g.initializers);
  const taken = allNames(g).values;
  /**
   * hwac's weights are symmetric (zero point 0, docs/quantization.md): asymmetric weight codes are
   * recentred, exactly, into int8 or, when they do not fit, int16.
   */
  const symmetricWeight = (n: Node): Node => {
    const rule = WEIGHTED[n.op];
    const w = rule ? n.inputs[rule.weight] : undefined;
    const t = w ? codeTypes.get(w) : undefined;
    const codes = w ? initializers.get(w) : undefined;
    if (!t || !codes || t.quant!.zeroPoint.every((z) => z === 0)) return n;
    const q = t.quant!;
    const layout = q.scale.length === 1 ? perTensorLayout(numel(codes.shape)) : perAxisLayout(codes.shape, q.axis!);
    const c = centered(codes, tensor("int32", [q.zeroPoint.length], q.zeroPoint), layout);
    const dtype = (["int8", "int16"] as const).find((d) => {
      const [lo, hi] = intRange(d);
      return c.every((v) => v >= lo && v <= hi);
    });
    if (!dtype) return n;
    const name = freshName(`${w}_symmetric`, taken);
    initializers.set(name, fromFloat64(dtype, codes.shape, c));
    codeTypes.set(name, { dtype, shape: t.shape, quant: { ...q, zeroPoint: new Int32Array(q.zeroPoint.length) } });
    return { ...n, inputs: n.inputs.map((v, i) => (i === rule!.weight ? name : v)) };
  };

  const nodes: Node[] = [];
  for (const n of g.nodes) {
    if (absorbed.has(n)) continue;
    if (n.domain !== "") {
      nodes.push(n);
      continue;
    }
    if (n.op === "QuantizeLinear") {
      const t = linearType(n, n.outputs[0]!, undefined);
      if (t) claim(n.outputs[0]!, t);
    } else if (n.op === "DequantizeLinear") {
      const x = n.inputs[0]!;
      const t = linearType(n, x, types.get(x)?.dtype);
      // Constants and graph inputs take their type from the DequantizeLinear that reads them.
      if (t && (g.initializers.has(x) || graphInputs.has(x) || codeTypes.has(x)) && claim(x, t)) codeOf.set(n.outputs[0]!, x);
    }
    const converted = n.op === "QLinearConv" || n.op === "QLinearMatMul" ? fromQLinear(n) : QUANTIZED_OPS.has(n.op) ? undefined : convert(n);
    nodes.push(converted ? symmetricWeight(converted) : n);
  }

  const valueTypes = new Map(g.valueTypes);
  for (const [v, t] of codeTypes) valueTypes.set(v, t);
  return removeDead({ ...model, graph: { ...g, initializers, nodes, valueTypes } });
}

/**
 * The quantized type of scale/zero-point constants: per tensor (one element) or per axis. A single
 * zero point with per-axis scales (QLinearConv's w allows it) applies to every index.
 */
function quantType(
  consts: ReadonlyMap<string, Tensor>, scaleName: string | undefined, zpName: string | undefined,
  codeDType: DType | undefined, axis: number, shape: TensorType["shape"],
): TensorType | undefined {
  const scale = scaleName ? consts.get(scaleName) : undefined;
  const zp = zpName ? consts.get(zpName) : undefined;
  if (!scale || scale.dtype !== "float32" || (zpName && !zp)) return undefined;
  const dtype = zp?.dtype ?? codeDType;
  if (!dtype || !(QUANT_DTYPES.has(dtype) || dtype === "int32")) return undefined;
  const n = numel(scale.shape);
  const zps = zp ? Int32Array.from(toFloat64(zp)) : new Int32Array(1);
  if (zps.length !== n && zps.length !== 1) return undefined;
  const zeroPoint = zps.length === n ? zps : new Int32Array(n).fill(zps[0]!);
  if (n === 1) return { dtype, shape, quant: { scale: Float32Array.from(scale.data as Float32Array), zeroPoint } };
  const rank = shape?.length;
  if (rank === undefined || scale.shape.length !== 1) return undefined;
  const a = axis < 0 ? axis + rank : axis;
  if (shape![a] !== n && typeof shape![a] === "number") return undefined;
  return { dtype, shape, quant: { scale: Float32Array.from(scale.data as Float32Array), zeroPoint, axis: a } };
}

/** QLinearConv's int32 bias: scale s_x·s_w[c] per output channel, zero point 0. */
function biasTypeOf(b: Tensor | undefined, x: QuantParams, w: QuantParams): TensorType | undefined {
  if (!b || b.dtype !== "int32" || b.shape.length !== 1) return undefined;
  const scale = Float32Array.from(w.scale, (s) => x.scale[0]! * s);
  if (scale.length !== 1 && scale.length !== b.shape[0]) return undefined;
  return { dtype: "int32", shape: [...b.shape], quant: { scale, zeroPoint: new Int32Array(scale.length), axis: 0 } };
}

function sameQuant(a: TensorType, b: TensorType): boolean {
  const p = a.quant!;
  const q = b.quant!;
  return (
    p.axis === q.axis && p.scale.length === q.scale.length &&
    p.scale.every((s, i) => s === q.scale[i]) && p.zeroPoint.every((z, i) => z === q.zeroPoint[i])
  );
}

function sameType(a: TensorType, b: TensorType): boolean {
  return a.dtype === b.dtype && sameQuant(a, b);
}
