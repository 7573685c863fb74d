/**
 * The reference interpreters: run a model's nodes in order, each with its op's float semantics
 * (`run`) or, on quantized tensors, its integer semantics (`runInt`, the golden model).
 * Values are freed after their last use, so peak memory follows the live set, not the graph.
 */
import { attrsOf, type EvalCtx } from "./op.js";
import { HwacError } from "./errors.js";
import { defaultOpset, type Graph, type Model, type Node, type QuantParams, type TensorType } from "./graph.js";
import { findOp } from "./ops/index.js";
import { shapeStr, type Tensor } from "./tensor.js";

export interface RunOptions {
  /** Called after each node (subgraph nodes included) with its inputs and outputs: calibration, per-layer reports, cost counting. */
  onNode?: (node: Node, outputs: readonly Tensor[], inputs: readonly (Tensor | undefined)[]) => void;
  /**
   * Evaluates a node in place of its op's semantics when it returns outputs (undefined: the op
   * runs as usual). A backend's interpreter uses it for the nodes its hardware computes.
   */
  evaluate?: (node: Node, inputs: readonly (Tensor | undefined)[]) => Tensor[] | undefined;
  /** Keep every intermediate value in the result instead of only the graph outputs. */
  keepAll?: boolean;
  /**
   * Integer semantics: nodes that read or write quantized values (types with `quant` in the
   * graph's valueTypes) run their op's `runInt`. Set by `runQuantized`.
   */
  integer?: boolean;
}

/** Runs a quantized model with the integer reference semantics. */
export function runQuantized(
  model: Model,
  feeds: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>,
  opts: RunOptions = {},
): Map<string, Tensor> {
  return runModel(model, feeds, { ...opts, integer: true });
}

/** Runs `model` on `feeds` (by input name); returns the graph outputs by name. */
export function runModel(
  model: Model,
  feeds: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>,
  opts: RunOptions = {},
): Map<string, Tensor> {
  const feedMap = feeds instanceof Map ? feeds : new Map(Object.entries(feeds));
  checkFeeds(model, feedMap);
  const env = new Map<string, Tensor>();
  for (const [k, v] of feedMap) env.set(k, v);
  const scope: Scope = { env, parent: undefined };
  runGraphIn(model.graph, scope, defaultOpset(model), opts, model.source);
  const out = new Map<string, Tensor>();
  if (opts.keepAll) for (const [k, v] of env) out.set(k, v);
  for (const o of model.graph.outputs) out.set(o.name, lookup(scope, o.name, model.source));
  return out;
}

interface Scope {
  readonly env: Map<string, Tensor>;
  readonly parent: Scope | undefined;
  readonly graph?: Graph;
}

function lookup(scope: Scope, name: string, file?: string): Tensor {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    const v = s.env.get(name) ?? s.graph?.initializers.get(name);
    if (v) return v;
  }
  throw new HwacError("HW3002", `value '${name}' is used but never defined`, { file });
}

function checkFeeds(model: Model, feeds: ReadonlyMap<string, Tensor>): void {
  const where = { file: model.source };
  for (const decl of model.graph.inputs) {
    const t = feeds.get(decl.name);
    if (!t) throw new HwacError("HW3010", `no value given for model input '${decl.name}'`, where);
    if (t.dtype !== decl.type.dtype) {
      throw new HwacError("HW3011", `input '${decl.name}' must be ${decl.type.dtype}, got ${t.dtype}`, where);
    }
    const shape = decl.type.shape;
    if (!shape) continue;
    const ok = shape.length === t.shape.length && shape.every((d, i) => typeof d !== "number" || d === t.shape[i]);
    if (!ok) {
      throw new HwacError(
        "HW3012",
        `input '${decl.name}' must have shape ${shapeStr(shape)}, got ${shapeStr(t.shape)}`,
        where,
      );
    }
  }
}

/** Names a node reads, including values its subgraphs read from the enclosing scopes. */
export function nodeReads(node: Node): string[] {
  const names = node.inputs.filter((n) => n !== "");
  for (const a of Object.values(node.attrs)) {
    const graphs = a.kind === "graph" ? [a.value] : a.kind === "graphs" ? a.value : [];
    for (const g of graphs) names.push(...outerReads(g));
  }
  return names;
}

/** Values a subgraph reads that it does not define itself. */
function outerReads(g: Graph): string[] {
  const defined = new Set<string>([...g.inputs.map((i) => i.name), ...g.initializers.keys()]);
  const reads: string[] = [];
  for (const n of g.nodes) {
    for (const r of nodeReads(n)) if (!defined.has(r)) reads.push(r);
    for (const o of n.outputs) defined.add(o);
  }
  for (const o of g.outputs) if (!defined.has(o.name)) reads.push(o.name);
  return reads;
}

function typeIn(scope: Scope, name: string): TensorType | undefined {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    const t = s.graph?.valueTypes.get(name);
    if (t) return t;
    if (s.graph?.inputs.some((i) => i.name === name)) return s.graph.inputs.find((i) => i.name === name)!.type;
  }
  return undefined;
}

/** True when every quantized type among `types` has the same scale and zero point. */
function sameQuant(types: readonly (TensorType | undefined)[]): boolean {
  let ref: QuantParams | undefined;
  for (const t of types) {
    const q = t?.quant;
    if (!q) continue;
    if (!ref) ref = q;
    else if (
      q.axis !== ref.axis ||
      q.scale.length !== ref.scale.length ||
      q.scale.some((v, i) => v !== ref!.scale[i]) ||
      q.zeroPoint.some((v, i) => v !== ref!.zeroPoint[i])
    ) {
      return false;
    }
  }
  return true;
}

function runGraphIn(graph: Graph, scope: Scope, opset: number, opts: RunOptions, file?: string): void {
  const s: Scope = { env: scope.env, parent: scope.parent, graph };
  const lastUse = new Map<string, number>();
  graph.nodes.forEach((n, i) => {
    for (const r of nodeReads(n)) lastUse.set(r, i);
  });
  const keep = new Set(graph.outputs.map((o) => o.name));
  for (let i = 0; i < graph.nodes.length; i++) {
    const node = graph.nodes[i]!;
    const inputs = node.inputs.map((n) => (n === "" ? undefined : lookup(s, n, file)));
    const outputs = runNode(node, inputs, s, opset, opts, file);
    node.outputs.forEach((name, k) => {
      if (name !== "" && outputs[k]) s.env.set(name, outputs[k]!);
    });
    opts.onNode?.(node, outputs, inputs);
    if (opts.keepAll) continue;
    for (const r of node.inputs) {
      if (r !== "" && lastUse.get(r) === i && !keep.has(r) && s.env.has(r)) s.env.delete(r);
    }
  }
}

function runNode(
  node: Node,
  inputs: readonly (Tensor | undefined)[],
  scope: Scope,
  opset: number,
  opts: RunOptions,
  file?: string,
): Tensor[] {
  const where = { file, node: node.name, op: node.op };
  const def = findOp(node.domain, node.op);
  if (!def) throw new HwacError("HW2001", `op ${node.domain ? node.domain + "." : ""}${node.op} is not supported`, where);
  const ctx: EvalCtx = {
    node,
    attrs: attrsOf(node),
    opset,
    runSubgraph(g: Graph, feeds?: ReadonlyMap<string, Tensor>): Tensor[] {
      const env = new Map<string, Tensor>(feeds ?? []);
      const inner: Scope = { env, parent: scope, graph: g };
      runGraphIn(g, inner, opset, { onNode: opts.onNode, evaluate: opts.evaluate, integer: opts.integer }, file);
      return g.outputs.map((o) => lookup(inner, o.name, file));
    },
  };
  try {
    const replaced = opts.evaluate?.(node, inputs);
    if (replaced) return replaced;
    if (opts.integer) {
      const inTypes = node.inputs.map((n) => (n === "" ? undefined : typeIn(scope, n)));
      const outTypes = node.outputs.map((n) => typeIn(scope, n) ?? { dtype: "float32" as const, shape: null });
      if (!def.definedOnCodes && (inTypes.some((t) => t?.quant) || outTypes.some((t) => t.quant))) {
        if (def.runInt) return def.runInt(inputs, { ...ctx, inTypes, outTypes });
        if (!def.quantTransparent || !sameQuant([...inTypes, ...outTypes])) {
          throw new HwacError("HW4001", `op ${node.op} has no integer semantics for these quantized types`, where);
        }
      }
    }
    return def.run(inputs, ctx);
  } catch (e) {
    if (e instanceof HwacError) throw e.at(where);
    // Sizes come from the model (huge kernel windows, Expand/Tile targets): too big to allocate is the model's limit, not a bug.
    if (e instanceof RangeError && ALLOCATION_FAILURE.test(e.message)) {
      throw new HwacError("HW3030", `the node needs more memory than can be allocated (${e.message})`, where);
    }
    throw e;
  }
}

/** V8's messages for typed arrays and buffers beyond its size limits. */
const ALLOCATION_FAILURE = /^(Invalid typed array length|Array buffer allocation failed|Invalid array buffer length|Invalid array length)/;
