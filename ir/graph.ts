/**
 * The typed IR: a model is one graph of SSA values and nodes. Every value has a tensor type
 * (element type, shape, and for quantized tensors the quantization parameters); nodes carry
 * typed attributes. Node op names and attribute names are ONNX's, so a reader can match an IR
 * node to the ONNX operator spec directly.
 */
import type { DType } from "./dtype.js";
import type { Tensor } from "./tensor.js";

/** A dimension: a number when static, a symbol when dynamic ("batch", "?" for anonymous). */
export type Dim = number | string;

/**
 * Affine quantization `real = scale * (q - zeroPoint)`, per tensor (length-1 arrays) or per
 * axis (one scale and zero point per index along `axis`).
 */
export interface QuantParams {
  readonly scale: Float32Array;
  readonly zeroPoint: Int32Array;
  readonly axis?: number;
}

export interface TensorType {
  readonly dtype: DType;
  /** `null` when even the rank is unknown. */
  readonly shape: readonly Dim[] | null;
  readonly quant?: QuantParams;
}

export type Attr =
  | { readonly kind: "int"; readonly value: number }
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "ints"; readonly value: readonly number[] }
  | { readonly kind: "floats"; readonly value: readonly number[] }
  | { readonly kind: "strings"; readonly value: readonly string[] }
  | { readonly kind: "tensor"; readonly value: Tensor }
  | { readonly kind: "tensors"; readonly value: readonly Tensor[] }
  | { readonly kind: "graph"; readonly value: Graph }
  | { readonly kind: "graphs"; readonly value: readonly Graph[] };

export type AttrKind = Attr["kind"];

export interface Node {
  /** ONNX op_type, e.g. "Conv". */
  readonly op: string;
  /** ONNX domain; "" is the default ai.onnx domain. */
  readonly domain: string;
  /** Unique within the model; the frontend names unnamed nodes `<op>_<index>`. */
  readonly name: string;
  /** Value names; "" marks an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, Attr>>;
}

export interface ValueDecl {
  readonly name: string;
  readonly type: TensorType;
}

export interface Graph {
  readonly name: string;
  readonly inputs: readonly ValueDecl[];
  readonly outputs: readonly ValueDecl[];
  /** Constant tensors (ONNX initializers), by value name. */
  readonly initializers: ReadonlyMap<string, Tensor>;
  /** Nodes in topological order. */
  readonly nodes: readonly Node[];
  /** Known types of intermediate values (ONNX value_info, or shape inference). */
  readonly valueTypes: ReadonlyMap<string, TensorType>;
}

export interface Model {
  readonly irVersion: number;
  /** Opset version per domain ("" = ai.onnx). */
  readonly opsets: Readonly<Record<string, number>>;
  readonly producer: string;
  readonly graph: Graph;
  /** Where the model came from, for error messages. */
  readonly source?: string;
}

/** The ai.onnx opset version a model imports (the default domain). */
export function defaultOpset(m: Model): number {
  return m.opsets[""] ?? m.opsets["ai.onnx"] ?? 1;
}

export function typeOf(dtype: DType, shape: readonly Dim[] | null, quant?: QuantParams): TensorType {
  return quant ? { dtype, shape, quant } : { dtype, shape };
}

/** True when every dimension is a number. */
export function isStatic(shape: readonly Dim[] | null): shape is readonly number[] {
  return shape !== null && shape.every((d) => typeof d === "number");
}
