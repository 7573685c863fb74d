/**
 * The IR verifier: structure (SSA, topological order, defined names), op support, and types
 * (every op's type rule must accept its inputs; declared types must agree with inferred ones).
 * Each problem is a HwacError naming the node.
 */
import { HwacError } from "./errors.js";
import type { Graph, Model, TensorType } from "./graph.js";
import { inferModel, type Inferred } from "./infer.js";
import { findOp } from "./ops/index.js";
import { shapeStr } from "./tensor.js";

/** Verifies `model`; returns the inferred types and folded constants. */
export function verifyModel(model: Model): Inferred {
  const file = model.source;
  const unsupported = new Set<string>();
  collectUnsupported(model.graph, unsupported);
  if (unsupported.size > 0) {
    const list = [...unsupported].sort().join(", ");
    throw new HwacError("HW2001", `the model uses ops hwac does not support: ${list}`, { file });
  }
  checkStructure(model.graph, new Set(), file);
  const inferred = inferModel(model);
  for (const o of model.graph.outputs) checkDeclared(o.name, o.type, inferred.types.get(o.name), file);
  for (const [name, declared] of model.graph.valueTypes) {
    const got = inferred.types.get(name);
    if (got) checkDeclared(name, declared, got, file);
  }
  return inferred;
}

function collectUnsupported(g: Graph, out: Set<string>): void {
  for (const n of g.nodes) {
    if (!findOp(n.domain, n.op)) out.add(n.domain ? `${n.domain}.${n.op}` : n.op);
    for (const a of Object.values(n.attrs)) {
      if (a.kind === "graph") collectUnsupported(a.value, out);
      if (a.kind === "graphs") a.value.forEach((s) => collectUnsupported(s, out));
    }
  }
}

/** SSA and order: every read refers to a value defined earlier (or in an enclosing scope), every value is defined once. */
function checkStructure(g: Graph, outer: ReadonlySet<string>, file?: string): void {
  const defined = new Set<string>(outer);
  const defineOnce = (name: string, node?: { name: string; op: string }) => {
    if (defined.has(name) && !outer.has(name)) {
      throw new HwacError("HW2003", `value '${name}' is defined more than once`, { file, node: node?.name, op: node?.op });
    }
    defined.add(name);
  };
  for (const i of g.inputs) defineOnce(i.name);
  for (const name of g.initializers.keys()) {
    if (!g.inputs.some((i) => i.name === name)) defineOnce(name);
  }
  const nodeNames = new Set<string>();
  for (const n of g.nodes) {
    const where = { file, node: n.name, op: n.op };
    if (nodeNames.has(n.name)) throw new HwacError("HW2004", `node name '${n.name}' is used twice`, where);
    nodeNames.add(n.name);
    for (const r of n.inputs) {
      if (r !== "" && !defined.has(r)) {
        throw new HwacError("HW2002", `input '${r}' is not a graph input, an initializer or an earlier node's output`, where);
      }
    }
    for (const a of Object.values(n.attrs)) {
      const subs = a.kind === "graph" ? [a.value] : a.kind === "graphs" ? a.value : [];
      for (const s of subs) checkStructure(s, defined, file);
    }
    for (const o of n.outputs) if (o !== "") defineOnce(o, n);
  }
  for (const o of g.outputs) {
    if (!defined.has(o.name)) throw new HwacError("HW2005", `graph output '${o.name}' is never computed`, { file });
  }
}

function checkDeclared(name: string, declared: TensorType, inferred: TensorType | undefined, file?: string): void {
  if (!inferred) return;
  if (declared.dtype !== inferred.dtype) {
    throw new HwacError("HW2006", `value '${name}' is declared ${declared.dtype} but computed as ${inferred.dtype}`, { file });
  }
  const d = declared.shape;
  const s = inferred.shape;
  if (!d || !s) return;
  const clash =
    d.length !== s.length || d.some((x, i) => typeof x === "number" && typeof s[i] === "number" && x !== s[i]);
  if (clash) {
    throw new HwacError("HW2007", `value '${name}' is declared ${shapeStr(d)} but computed as ${shapeStr(s)}`, { file });
  }
}
