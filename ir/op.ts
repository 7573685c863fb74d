/**
 * The contract every op file in `ir/ops/` fulfils. One op, one file: its type rule and its
 * float reference semantics side by side (integer semantics join them for quantized ops).
 */
import { Attrs } from "./attrs.js";
import { HwacError } from "./errors.js";
import type { Graph, Node, TensorType } from "./graph.js";
import type { Tensor } from "./tensor.js";

/** What a type rule sees of a node. */
export interface TypeCtx {
  readonly node: Node;
  readonly attrs: Attrs;
  /** Types of the node's inputs; undefined for omitted optional inputs. */
  readonly inputs: readonly (TensorType | undefined)[];
  /**
   * Values of inputs that are compile-time constants (initializers, Constant outputs, folded
   * shape arithmetic); undefined when not known. Shape-carrying inputs (Reshape's shape, Slice's
   * starts, …) make output shapes static when they are known.
   */
  readonly consts: readonly (Tensor | undefined)[];
  /** ai.onnx opset version the model imports. */
  readonly opset: number;
  /** Types of subgraph outputs (If branches), inferred by the caller. */
  inferSubgraph(g: Graph): readonly TensorType[];
}

/** What an op's evaluation sees besides its input tensors. */
export interface EvalCtx {
  readonly node: Node;
  readonly attrs: Attrs;
  readonly opset: number;
  /**
   * Runs a subgraph (an If branch) whose nodes may read any value visible at this node;
   * returns the subgraph's outputs in order.
   */
  runSubgraph(g: Graph, feeds?: ReadonlyMap<string, Tensor>): Tensor[];
}

/** What an op's integer semantics see: the quantized types of its inputs and outputs. */
export interface IntCtx extends EvalCtx {
  /** Types (with quantization parameters) of the inputs; undefined for omitted inputs. */
  readonly inTypes: readonly (TensorType | undefined)[];
  /** Types the quantizer gave the outputs. */
  readonly outTypes: readonly TensorType[];
}

export interface OpDef {
  /** ONNX op_type. */
  readonly op: string;
  /** ONNX domain, "" (ai.onnx) when absent. */
  readonly domain?: string;
  /** Output types from input types; unknown dims are "?" (or null shapes when the rank is unknown). */
  inferTypes(ctx: TypeCtx): TensorType[];
  /** Float reference semantics: ONNX's, checked by its conformance tests. */
  run(inputs: readonly (Tensor | undefined)[], ctx: EvalCtx): Tensor[];
  /**
   * Integer semantics on quantized tensors (SPEC.md §2): the golden model the backends reproduce
   * bit for bit. Inputs hold the integer codes; `ctx.inTypes`/`ctx.outTypes` their scales and zero points.
   */
  runInt?(inputs: readonly (Tensor | undefined)[], ctx: IntCtx): Tensor[];
  /**
   * Set for data-movement ops (Reshape, Transpose, MaxPool, …) whose float semantics apply
   * unchanged to integer codes when every quantized input and output share one scale and zero point.
   */
  readonly quantTransparent?: boolean;
  /**
   * Set for ops whose ONNX definition already works on integer codes (QuantizeLinear,
   * QLinearConv, …): in a quantized graph they run their own `run` and their type rule sees
   * the real element types.
   */
  readonly definedOnCodes?: boolean;
}

/** An error in a node's use of an op (bad attribute, incompatible shapes), naming the node. */
export function opError(ctx: { node: Node }, message: string, code = "HW2020"): HwacError {
  return new HwacError(code, message, { node: ctx.node.name, op: ctx.node.op });
}

/** Makes the Attrs view of a node. */
export function attrsOf(node: Node): Attrs {
  return new Attrs(node);
}

/** Input `i`, which the op requires. */
export function need(inputs: readonly (Tensor | undefined)[], i: number, ctx: { node: Node }): Tensor {
  const t = inputs[i];
  if (!t) throw opError(ctx, `input ${i} is required`, "HW3001");
  return t;
}

/** The type of input `i`, which the op requires (the type-rule counterpart of `need`). */
export function needType(ctx: TypeCtx, i: number): TensorType {
  const t = ctx.inputs[i];
  if (!t) throw opError(ctx, `input ${i} is required`);
  return t;
}
