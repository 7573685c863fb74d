/**
 * IR Model → ONNX model bytes, the inverse of load.ts: `decodeModel(encodeModel(m))` prints the
 * same IR text as `m`. Tensors are written inline as raw_data (no external data), node names as
 * the IR has them (the loader's generated names become explicit ones).
 *
 * Quantization parameters of value types (`TensorType.quant`) have no ONNX field and are not
 * written: a quantized IR model becomes a standard ONNX file through `toQdq`
 * (src/quant/qdq-export.ts), which spells them as QuantizeLinear/DequantizeLinear nodes.
 */
import { onnxDTypeCode } from "../../ir/dtype.js";
import { HwacError } from "../../ir/errors.js";
import type { Attr, Dim, Graph, Model, Node, TensorType, ValueDecl } from "../../ir/graph.js";
import type { Tensor } from "../../ir/tensor.js";
import { writeFileAtomic } from "../fsutil.js";
import { CODES } from "./codes.js";
import {
  fieldHeader, joinPieces, onnx,
  type AttributeProto, type DimensionProto, type Encoded, type GraphProto, type Int64, type NodeProto, type TensorProto, type ValueInfoProto,
} from "./proto.js";
import { encodeTensor, tensorProtoPieces } from "./tensor-proto.js";

/** Protobuf messages cannot exceed 2 GiB, and ONNX files without external data are one message. */
const MAX_PROTO_BYTES = 2 ** 31 - 1;

const AT = onnx.AttributeProto.AttributeType;
const utf8 = new TextEncoder();

export function encodeModel(model: Model): Uint8Array {
  return joinPieces(modelPieces(model));
}

/**
 * The model's ONNX bytes in pieces: the top graph's initializers come one at a time from the
 * tensors' own storage, so a large model is written (or joined) without a second copy of its
 * weights. protobufjs writes fields in field-number order, which the pieces follow: ModelProto's
 * graph (7) between producer_name (2) and opset_import (8), GraphProto's initializers (5) between
 * name (2) and input (11).
 */
export function modelPieces(model: Model): Encoded {
  const g = model.graph;
  const inits = [...g.initializers].map(([name, t]) => tensorProtoPieces(t, name));
  const frames = inits.map((t) => fieldHeader(5, t.length));
  const graphHead = onnx.GraphProto.encode(graphBeforeInitializers(g)).finish();
  const graphTail = onnx.GraphProto.encode(graphAfterInitializers(g)).finish();
  const graphLength = graphHead.length + graphTail.length + inits.reduce((n, t, i) => n + frames[i]!.length + t.length, 0);
  const modelHead = onnx.ModelProto.encode({ irVersion: model.irVersion, producerName: model.producer }).finish();
  const graphFrame = fieldHeader(7, graphLength);
  const modelTail = onnx.ModelProto.encode({ opsetImport: Object.entries(model.opsets).map(([domain, version]) => ({ domain, version })) }).finish();
  const length = modelHead.length + graphFrame.length + graphLength + modelTail.length;
  if (length > MAX_PROTO_BYTES) {
    throw new HwacError(CODES.limit, `the model needs ${length} bytes, more than the 2 GiB an ONNX file without external data can hold`, { file: model.source });
  }
  return {
    length,
    *pieces() {
      yield* [modelHead, graphFrame, graphHead];
      for (let i = 0; i < inits.length; i++) {
        yield frames[i]!;
        yield* inits[i]!.pieces();
      }
      yield* [graphTail, modelTail];
    },
  };
}

/** Writes the model to `file` atomically: a half-written model never replaces an existing one. */
export function saveModel(model: Model, file: string): void {
  const pieces = modelPieces(model);
  try {
    writeFileAtomic(file, pieces);
  } catch (e) {
    if (typeof (e as NodeJS.ErrnoException).code !== "string") throw e;
    throw new HwacError(CODES.io, `cannot write model file: ${(e as Error).message}`, { file });
  }
}

/** A subgraph (an If or Loop body) is encoded whole, inside its node. */
function graphProto(g: Graph): GraphProto {
  return {
    ...graphBeforeInitializers(g),
    initializer: [...g.initializers].map(([name, t]) => tensorProto(t, name)),
    ...graphAfterInitializers(g),
  };
}

function graphBeforeInitializers(g: Graph): GraphProto {
  return { node: g.nodes.map(nodeProto), name: g.name };
}

function graphAfterInitializers(g: Graph): GraphProto {
  return {
    input: g.inputs.map(valueInfo),
    output: g.outputs.map(valueInfo),
    valueInfo: [...g.valueTypes].map(([name, type]) => valueInfo({ name, type })),
  };
}

/**
 * encodeTensor owns the raw_data layout (packed nibbles, half bits); its bytes are read back as a
 * message so they can be embedded, the raw_data field staying a view of them.
 */
function tensorProto(t: Tensor, name: string): TensorProto {
  return onnx.TensorProto.decode(encodeTensor(t, name));
}

function valueInfo(d: ValueDecl): ValueInfoProto {
  return { name: d.name, type: { tensorType: tensorTypeProto(d.type) } };
}

function tensorTypeProto(t: TensorType): { elemType: number; shape?: { dim: DimensionProto[] } } {
  const elemType = onnxDTypeCode(t.dtype);
  return t.shape === null ? { elemType } : { elemType, shape: { dim: t.shape.map(dimProto) } };
}

/** "?" (anonymous) is a dimension with neither field set. */
function dimProto(d: Dim): DimensionProto {
  if (typeof d === "number") return { dimValue: d };
  return d === "?" ? {} : { dimParam: d };
}

function nodeProto(n: Node): NodeProto {
  return {
    opType: n.op,
    domain: n.domain,
    name: n.name,
    input: [...n.inputs],
    output: [...n.outputs],
    attribute: Object.entries(n.attrs).map(([name, a]) => attributeProto(name, a)),
  };
}

function attributeProto(name: string, a: Attr): AttributeProto {
  switch (a.kind) {
    case "int": return { name, type: AT.INT, i: int64(a.value) };
    case "float": return { name, type: AT.FLOAT, f: a.value };
    case "string": return { name, type: AT.STRING, s: utf8.encode(a.value) };
    case "ints": return { name, type: AT.INTS, ints: a.value.map(int64) };
    case "floats": return { name, type: AT.FLOATS, floats: [...a.value] };
    case "strings": return { name, type: AT.STRINGS, strings: a.value.map((s) => utf8.encode(s)) };
    case "tensor": return { name, type: AT.TENSOR, t: tensorProto(a.value, "") };
    case "tensors": return { name, type: AT.TENSORS, tensors: a.value.map((t) => tensorProto(t, "")) };
    case "graph": return { name, type: AT.GRAPH, g: graphProto(a.value) };
    case "graphs": return { name, type: AT.GRAPHS, graphs: a.value.map(graphProto) };
  }
}

/**
 * The loader reads INT64_MAX (a common "to the end" sentinel) as the nearest double, 2^63, which
 * protobufjs would write as INT64_MIN; it is written back as INT64_MAX.
 */
function int64(v: number): Int64 {
  return v >= 2 ** 63 ? { low: 0xffffffff | 0, high: 0x7fffffff, unsigned: false } : v;
}
