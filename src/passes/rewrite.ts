/**
 * Shared by the passes that rewrite graphs: renaming values (reads inside subgraphs included,
 * since an If branch reads enclosing values by name), fresh names, and who reads what.
 */
import type { Attr, Graph, Node } from "../../ir/graph.js";
import { nodeReads } from "../../ir/interpret.js";

export type Rename = (name: string) => string;

/** The subgraphs a node's attributes hold (If branches). */
export function subgraphsOf(node: Node): readonly Graph[] {
  const out: Graph[] = [];
  for (const a of Object.values(node.attrs)) {
    if (a.kind === "graph") out.push(a.value);
    else if (a.kind === "graphs") out.push(...a.value);
  }
  return out;
}

/** `node` with `f` applied to each subgraph it holds; `node` itself when it holds none. */
export function mapSubgraphs(node: Node, f: (g: Graph) => Graph): Node {
  if (subgraphsOf(node).length === 0) return node;
  const attrs: Record<string, Attr> = {};
  for (const [k, a] of Object.entries(node.attrs)) {
    if (a.kind === "graph") attrs[k] = { kind: "graph", value: f(a.value) };
    else if (a.kind === "graphs") attrs[k] = { kind: "graphs", value: a.value.map(f) };
    else attrs[k] = a;
  }
  return { ...node, attrs };
}

/** Values a graph defines itself: inputs, initializers and node outputs (not those of its subgraphs). */
export function definedIn(g: Graph): Set<string> {
  const names = new Set<string>([...g.inputs.map((i) => i.name), ...g.initializers.keys()]);
  for (const n of g.nodes) for (const o of n.outputs) if (o !== "") names.add(o);
  return names;
}

/** `node` reading `rename(v)` wherever it read `v`, in its subgraphs too (where `v` is not defined locally). */
export function renameReads(node: Node, rename: Rename): Node {
  const inputs = node.inputs.map((n) => (n === "" ? n : rename(n)));
  return { ...mapSubgraphs(node, (g) => renameOuterReads(g, rename)), inputs };
}

/** `node` with both its outputs and its reads renamed. */
export function renameAll(node: Node, rename: Rename): Node {
  return { ...renameReads(node, rename), outputs: node.outputs.map((n) => (n === "" ? n : rename(n))) };
}

function renameOuterReads(g: Graph, rename: Rename): Graph {
  const local = definedIn(g);
  const r: Rename = (n) => (local.has(n) ? n : rename(n));
  return {
    ...g,
    nodes: g.nodes.map((n) => renameReads(n, r)),
    outputs: g.outputs.map((o) => (local.has(o.name) ? o : { ...o, name: rename(o.name) })),
  };
}

/** Every value name and node name in a graph and its subgraphs: what a fresh name must avoid. */
export function allNames(g: Graph, values = new Set<string>(), nodes = new Set<string>()): { values: Set<string>; nodes: Set<string> } {
  for (const n of definedIn(g)) values.add(n);
  for (const n of g.nodes) {
    nodes.add(n.name);
    for (const s of subgraphsOf(n)) allNames(s, values, nodes);
  }
  return { values, nodes };
}

/** `base`, or `base_1`, `base_2`, …: the first not in `taken`, which then holds it. */
export function freshName(base: string, taken: Set<string>): string {
  let name = base;
  for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
  taken.add(name);
  return name;
}

/** How many times each value is read: by nodes (their subgraphs included) and as a graph output. */
export function readCounts(g: Graph): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (n: string) => counts.set(n, (counts.get(n) ?? 0) + 1);
  for (const n of g.nodes) nodeReads(n).forEach(add);
  for (const o of g.outputs) add(o.name);
  return counts;
}
