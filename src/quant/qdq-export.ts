/**
 * hwac's quantized IR → a standard QDQ ONNX graph (the form ONNX Runtime's quantizer writes and
 * its optimizer fuses into QLinearConv, QGemm, …):
 * - a quantized initializer stays an integer initializer (int8/int4 weights, int32 bias) read
 *   through a DequantizeLinear with its scale, zero point and, per axis, `axis`;
 * - a quantized value produced by a node becomes that node's float output followed by
 *   QuantizeLinear, whose integer output (the value's codes, under the value's name) readers see
 *   through a DequantizeLinear;
 * - every other node runs its float op on the dequantized inputs.
 * The graph's own boundary QuantizeLinear/DequantizeLinear nodes are kept as they are.
 *
 * For most ops hwac's integer semantics are "float op, then requantize", which this form states
 * exactly (up to the runtime's rounding of the multiplier). The ops whose integer semantics are
 * more than that (16-bit fixed-point internals) are exported in this nearest form all the same,
 * and listed in the result.
 */
import type { DType } from "../../ir/dtype.js";
import { defaultOpset, type Graph, type Model, type Node, type QuantParams, type TensorType } from "../../ir/graph.js";
import { findOp } from "../../ir/ops/index.js";
import { fromFloat64, tensor, type Tensor } from "../../ir/tensor.js";
import { upgradeOpset } from "../onnx/opset-upgrade.js";
import { allNames, freshName } from "../passes/rewrite.js";

export interface NearestForm {
  node: string;
  op: string;
  reason: string;
}

export interface QdqExport {
  /** The QDQ model: plain ONNX types (no `quant`), ready for `encodeModel`. */
  model: Model;
  /** Nodes whose integer semantics the QDQ form only approximates. */
  nearest: NearestForm[];
}

/** Per-axis DequantizeLinear needs opset 13. */
const MIN_OPSET = 13;
/** QuantizeLinear/DequantizeLinear take 4- and 16-bit types from opset 21. */
const WIDE_OPSET = 21;
const WIDE_DTYPES: ReadonlySet<DType> = new Set<DType>(["int4", "uint4", "int16", "uint16"]);

/**
 * Ops whose integer semantics (docs/quantization.md) are the float op followed by requantization
 * to the output's type (products, sums, per-channel affines, clamps, 256-entry tables), so that
 * DQ → op → Q states them. Data-movement ops qualify through their `quantTransparent` flag. The
 * rest (normalizations, Softmax and recurrent cells with 16-bit fixed point inside) are nearest forms.
 */
const REQUANTIZED_FLOAT_OPS: ReadonlySet<string> = new Set([
  "Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization",
  "Add", "Sub", "Mul", "Div", "Sum", "Max", "Min", "PRelu", "Relu", "Clip", "Concat",
  "AveragePool", "GlobalAveragePool", "ReduceMean", "MaxPool", "GlobalMaxPool",
  "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Gelu", "Erf", "Exp", "Log", "Sqrt", "LeakyRelu",
  "Elu", "Selu", "Softplus", "Softsign", "Mish", "Reciprocal", "Neg", "Abs",
]);

const BOUNDARY = new Set(["QuantizeLinear", "DequantizeLinear"]);

export function toQdq(quantized: Model): QdqExport {
  const g = quantized.graph;
  const declared = new Map<string, TensorType>([...g.inputs.map((i) => [i.name, i.type] as const), ...g.valueTypes]);
  const quantOf = (v: string): TensorType | undefined => (v && declared.get(v)?.quant ? declared.get(v) : undefined);
  const taken = allNames(g);
  const fresh = (base: string) => freshName(base, taken.values);
  const freshNode = (base: string) => freshName(base, taken.nodes);

  const initializers = new Map<string, Tensor>(g.initializers);
  const valueTypes = new Map<string, TensorType>();
  for (const [name, t] of g.valueTypes) if (!g.initializers.has(name)) valueTypes.set(name, plain(t));
  const nodes: Node[] = [];
  const nearest: NearestForm[] = [];

  const params = new Map<string, [string, string]>();
  /** The scale and zero-point initializers of a quantized value, shared by its Q and DQ. */
  const paramsOf = (v: string, q: QuantParams, dtype: DType): [string, string] => {
    let p = params.get(v);
    if (!p) {
      p = [fresh(`${v}_scale`), fresh(`${v}_zero_point`)];
      const perTensor = q.scale.length === 1;
      initializers.set(p[0], tensor("float32", perTensor ? [] : [q.scale.length], Float32Array.from(q.scale)));
      initializers.set(p[1], fromFloat64(dtype, perTensor ? [] : [q.zeroPoint.length], Array.from(q.zeroPoint)));
      params.set(v, p);
    }
    return p;
  };
  const qdqNode = (op: string, v: string, input: string, output: string, t: TensorType): Node => {
    const q = t.quant!;
    const axis: Node["attrs"] = q.scale.length > 1 && q.axis !== undefined ? { axis: { kind: "int", value: q.axis } } : {};
    const [s, z] = paramsOf(v, q, t.dtype);
    const verb = op === "QuantizeLinear" ? "quantize" : "dequantize";
    return { op, domain: "", name: freshNode(`${v}_${verb}`), inputs: [input, s, z], outputs: [output], attrs: axis };
  };

  // A boundary node's own scale and zero point serve the other Q/DQ nodes of its value too.
  for (const n of g.nodes) {
    if (n.domain !== "" || !BOUNDARY.has(n.op)) continue;
    const v = n.op === "QuantizeLinear" ? n.outputs[0]! : n.inputs[0]!;
    const t = quantOf(v);
    const [, s = "", z = ""] = n.inputs;
    if (t && !params.has(v) && sameScalar(g.initializers.get(s), t.quant!.scale) && sameScalar(g.initializers.get(z), t.quant!.zeroPoint)) {
      params.set(v, [s, z]);
    }
  }

  const dequantized = new Map<string, string>();
  /** The float form of a quantized value, dequantized once where it is first read. */
  const floatOf = (v: string, t: TensorType): string => {
    let f = dequantized.get(v);
    if (!f) {
      f = fresh(`${v}_dq`);
      nodes.push(qdqNode("DequantizeLinear", v, v, f, t));
      valueTypes.set(f, { dtype: "float32", shape: t.shape });
      dequantized.set(v, f);
    }
    return f;
  };

  for (const n of g.nodes) {
    const quantizedIo = [...n.inputs, ...n.outputs].some((v) => quantOf(v));
    if (!quantizedIo || (n.domain === "" && BOUNDARY.has(n.op))) {
      nodes.push(n);
      continue;
    }
    const inputs = n.inputs.map((v) => {
      const t = quantOf(v);
      return t ? floatOf(v, t) : v;
    });
    const requantize: Node[] = [];
    const outputs = n.outputs.map((o) => {
      const t = quantOf(o);
      if (!t) return o;
      const f = fresh(`${o}_float`);
      valueTypes.set(f, { dtype: "float32", shape: t.shape });
      requantize.push(qdqNode("QuantizeLinear", o, f, o, t));
      return f;
    });
    nodes.push({ ...n, inputs, outputs }, ...requantize);
    const def = findOp(n.domain, n.op);
    if (!(n.domain === "" && REQUANTIZED_FLOAT_OPS.has(n.op)) && !def?.quantTransparent) {
      nearest.push({
        node: n.name,
        op: n.op,
        reason: `hwac's integer ${n.op} is not a float op followed by requantization; exported as the float op on dequantized inputs`,
      });
    }
  }

  const graph: Graph = {
    ...g,
    inputs: g.inputs.map((d) => ({ name: d.name, type: plain(d.type) })),
    outputs: g.outputs.map((d) => ({ name: d.name, type: plain(d.type) })),
    initializers,
    nodes,
    valueTypes,
  };
  const wide = [...declared.values()].some((t) => t.quant && WIDE_DTYPES.has(t.dtype));
  const opset = Math.max(defaultOpset(quantized), wide ? WIDE_OPSET : MIN_OPSET);
  return { model: upgradeOpset({ ...quantized, graph }, opset), nearest };
}

/** True when `t` is a one-element tensor holding the single entry of `values`. */
function sameScalar(t: Tensor | undefined, values: Float32Array | Int32Array): boolean {
  return t !== undefined && values.length === 1 && t.data.length === 1 && Number(t.data[0]) === values[0];
}

function plain(t: TensorType): TensorType {
  return t.quant ? { dtype: t.dtype, shape: t.shape } : t;
}
