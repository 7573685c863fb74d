/**
 * Removes what nothing reads: nodes none of whose outputs is read (by a later node, a subgraph
 * or as a graph output), initializers no node reads, and declared types of values that no longer
 * exist. Subgraphs are pruned the same way, their outputs being what is read. Graph inputs stay:
 * they are the program's interface.
 */
import type { Graph, Model, Node } from "../../ir/graph.js";
import { nodeReads } from "../../ir/interpret.js";
import { definedIn, mapSubgraphs } from "./rewrite.js";

export function removeDead(model: Model): Model {
  return { ...model, graph: prune(model.graph) };
}

function prune(g: Graph): Graph {
  const live = new Set(g.outputs.map((o) => o.name));
  const kept: Node[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const original = g.nodes[i]!;
    if (!original.outputs.some((o) => o !== "" && live.has(o))) continue;
    const node = mapSubgraphs(original, prune);
    for (const r of nodeReads(node)) live.add(r);
    kept.push(node);
  }
  kept.reverse();
  const initializers = new Map([...g.initializers].filter(([name]) => live.has(name)));
  const pruned: Graph = { ...g, nodes: kept, initializers };
  const defined = definedIn(pruned);
  return { ...pruned, valueTypes: new Map([...g.valueTypes].filter(([name]) => defined.has(name))) };
}
