/**
 * Folds what is known at compile time, repeated until nothing changes:
 *   y = Constant() {value=t}               → initializer y = t
 *   y = Op(c1, c2) on constants c1, c2     → initializer y = Op's value
 *   s = Shape(x), x of static shape        → initializer s (Size likewise)
 *   o = If(c) on a constant c              → the chosen branch, inlined (see inline-if.ts)
 *   y = Identity(x), or Cast(x) to x's type → readers of y read x
 * A constant node whose outputs are larger than its inputs (Expand, Tile, ConstantOfShape of a
 * large shape) stays a node unless its outputs are small: folding must not grow the model.
 */
import { bitWidth, ONNX_DTYPE } from "../../ir/dtype.js";
import { HwacError, type Where } from "../../ir/errors.js";
import { defaultOpset, isStatic, type Model, type Node, type TensorType } from "../../ir/graph.js";
import { inferModel } from "../../ir/infer.js";
import { attrsOf } from "../../ir/op.js";
import { findOp } from "../../ir/ops/index.js";
import { getNumber, numel, shapeStr, type Tensor } from "../../ir/tensor.js";
import { inlineIf, type Scope } from "./inline-if.js";
import { allNames, definedIn, renameAll, renameReads, subgraphsOf } from "./rewrite.js";

/** Outputs up to this many bytes always fold (shape arithmetic, small tables). */
const SMALL_BYTES = 16384;

export function foldConstants(model: Model): Model {
  let m = model;
  for (let next = foldOnce(m); next; next = foldOnce(m)) m = next;
  return m;
}

/** One sweep over the nodes; undefined when nothing folded. */
function foldOnce(model: Model): Model | undefined {
  const g = model.graph;
  const types = knownTypes(model);
  const opset = defaultOpset(model);
  const consts = new Map(g.initializers);
  const valueTypes = new Map(g.valueTypes);
  const graphOutputs = new Set(g.outputs.map((o) => o.name));
  /** Readers of the key read the value instead (removed Identity nodes). */
  const alias = new Map<string, string>();
  /** Values whose definition takes the name of the graph output an Identity copied them to. */
  const renames = new Map<string, string>();
  const produced = new Set<string>();
  let scope: Scope | undefined;
  const nodes: Node[] = [];
  let changed = false;

  const emit = (n: Node) => {
    nodes.push(n);
    for (const o of n.outputs) if (o !== "") produced.add(o);
  };
  for (const original of g.nodes) {
    const node = renameReads(original, (n) => alias.get(n) ?? n);
    const where = { file: model.source, node: node.name, op: node.op };
    const cond = node.op === "If" ? consts.get(node.inputs[0]!) : undefined;
    if (cond) {
      scope ??= scopeOf(model);
      const branch = attrsOf(node).graph(holds(cond, where) ? "then_branch" : "else_branch");
      const inlined = inlineIf(node, branch, scope, where);
      inlined.nodes.forEach(emit);
      for (const [k, t] of inlined.initializers) consts.set(k, t);
      for (const [k, t] of inlined.valueTypes) valueTypes.set(k, t);
      changed = true;
      continue;
    }
    const folded = evaluate(node, consts, types, opset, where);
    if (folded) {
      node.outputs.forEach((o, k) => {
        if (o !== "" && folded[k]) consts.set(o, folded[k]!);
      });
      changed = true;
      continue;
    }
    if (copies(node, types)) {
      const [x, y] = [node.inputs[0]!, node.outputs[0]!];
      if (!graphOutputs.has(y)) {
        alias.set(y, x);
        changed = true;
        continue;
      }
      if (produced.has(x) && !graphOutputs.has(x) && !renames.has(x)) {
        renames.set(x, y);
        changed = true;
        continue;
      }
    }
    emit(node);
  }
  if (!changed) return undefined;
  const rename = (n: string): string => renames.get(n) ?? n;
  for (const [x, y] of renames) {
    const t = valueTypes.get(x);
    if (t && !valueTypes.has(y)) valueTypes.set(y, t);
  }
  return {
    ...model,
    graph: {
      ...g,
      nodes: renames.size > 0 ? nodes.map((n) => renameAll(n, rename)) : nodes,
      initializers: consts,
      valueTypes,
    },
  };
}

/**
 * The inferred types, or none when inference fails: an If branch that is not taken may not
 * type-check for the bound shapes (silero's 8 kHz path at a 16 kHz input size). Folding then goes
 * on without shape facts, and check-static reports the If or the error.
 */
function knownTypes(model: Model): ReadonlyMap<string, TensorType> {
  try {
    return inferModel(model).types;
  } catch (e) {
    if (e instanceof HwacError) return new Map();
    throw e;
  }
}

/** The node's outputs when it can be computed now and folding it does not grow the model. */
function evaluate(
  node: Node,
  consts: ReadonlyMap<string, Tensor>,
  types: ReadonlyMap<string, TensorType>,
  opset: number,
  where: Where,
): Tensor[] | undefined {
  if (subgraphsOf(node).length > 0) return undefined;
  const inputs = node.inputs.map((n) => (n === "" ? undefined : consts.get(n)));
  let inBytes = inputs.reduce((sum, t) => sum + (t ? bytes(t.dtype, t.shape) : 0), 0);
  if ((node.op === "Shape" || node.op === "Size") && !inputs[0]) {
    const t = types.get(node.inputs[0]!);
    if (!t || !isStatic(t.shape)) return undefined;
    // Only the shape is read: a placeholder without data stands in for the runtime value.
    inputs[0] = { dtype: t.dtype, shape: t.shape, data: new Float32Array(0) };
    inBytes = 0;
  }
  if (node.inputs.some((n, i) => n !== "" && !inputs[i])) return undefined;
  const limit = node.op === "Constant" ? Infinity : Math.max(SMALL_BYTES, inBytes);
  const outTypes = node.outputs.map((o) => types.get(o));
  if (outTypes.every((t) => t && isStatic(t.shape))) {
    const outBytes = outTypes.reduce((sum, t) => sum + bytes(t!.dtype, t!.shape as number[]), 0);
    if (outBytes > limit) return undefined;
  }
  const def = findOp(node.domain, node.op);
  if (!def) throw new HwacError("HW2001", `op ${node.op} is not supported`, where);
  let outs: Tensor[];
  try {
    outs = def.run(inputs, {
      node,
      attrs: attrsOf(node),
      opset,
      runSubgraph: () => {
        throw new Error("fold-constants evaluates no node that holds a subgraph");
      },
    });
  } catch (e) {
    if (e instanceof HwacError) throw e.at(where);
    throw e;
  }
  const outBytes = outs.reduce((sum, t) => sum + bytes(t.dtype, t.shape), 0);
  return outBytes <= limit ? outs : undefined;
}

/** Identity, or a Cast to the type its input already has. */
function copies(node: Node, types: ReadonlyMap<string, TensorType>): boolean {
  if (node.op === "Identity") return true;
  if (node.op !== "Cast" || node.domain !== "") return false;
  return types.get(node.inputs[0]!)?.dtype === ONNX_DTYPE[attrsOf(node).int("to")];
}

function bytes(dtype: Tensor["dtype"], shape: readonly number[]): number {
  return (numel(shape) * bitWidth(dtype)) / 8;
}

/** If's rule: the condition is one element, true when non-zero. */
function holds(cond: Tensor, where: Where): boolean {
  if (cond.data.length !== 1) throw new HwacError("HW2020", `cond must hold one element, got shape ${shapeStr(cond.shape)}`, where);
  return getNumber(cond, 0) !== 0;
}

function scopeOf(model: Model): Scope {
  const all = allNames(model.graph);
  return {
    values: definedIn(model.graph),
    nodes: new Set(model.graph.nodes.map((n) => n.name)),
    allValues: all.values,
    allNodes: all.nodes,
  };
}
