/**
 * Inlines an If whose branch is known: `o1, o2 = If(c) {then_branch=…}` becomes the chosen
 * branch's nodes followed by `o1 = Identity(b1)`, `o2 = Identity(b2)` for the branch outputs
 * b1, b2 (fold-constants then removes those Identity nodes). Branch values and nodes whose names
 * the enclosing graph already uses are renamed.
 */
import { HwacError, type Where } from "../../ir/errors.js";
import type { Graph, Node, TensorType } from "../../ir/graph.js";
import type { Tensor } from "../../ir/tensor.js";
import { definedIn, freshName, renameAll } from "./rewrite.js";

/** Names in use: in the enclosing graph (a clash there forces a rename) and anywhere (a fresh name avoids them). */
export interface Scope {
  readonly values: Set<string>;
  readonly nodes: Set<string>;
  readonly allValues: Set<string>;
  readonly allNodes: Set<string>;
}

export interface Inlined {
  readonly nodes: Node[];
  readonly initializers: Map<string, Tensor>;
  readonly valueTypes: Map<string, TensorType>;
}

export function inlineIf(node: Node, branch: Graph, scope: Scope, where: Where): Inlined {
  if (branch.inputs.length > 0) {
    throw new HwacError("HW2020", `branch '${branch.name}' declares inputs; If branches take none`, where);
  }
  if (branch.outputs.length !== node.outputs.length) {
    throw new HwacError(
      "HW2020",
      `branch '${branch.name}' has ${branch.outputs.length} outputs but the If has ${node.outputs.length}`,
      where,
    );
  }
  const renamed = new Map<string, string>();
  for (const v of definedIn(branch)) {
    const name = scope.values.has(v) ? freshName(v, scope.allValues) : v;
    if (name !== v) renamed.set(v, name);
    scope.values.add(name);
    scope.allValues.add(name);
  }
  const rename = (v: string): string => renamed.get(v) ?? v;
  const nodeName = (base: string): string => {
    const name = scope.nodes.has(base) ? freshName(base, scope.allNodes) : base;
    scope.nodes.add(name);
    scope.allNodes.add(name);
    return name;
  };
  const nodes = branch.nodes.map((n) => ({ ...renameAll(n, rename), name: nodeName(n.name) }));
  node.outputs.forEach((o, k) => {
    if (o === "") return;
    nodes.push({
      op: "Identity",
      domain: "",
      name: nodeName(`${node.name}_output_${k}`),
      inputs: [rename(branch.outputs[k]!.name)],
      outputs: [o],
      attrs: {},
    });
  });
  return {
    nodes,
    initializers: new Map([...branch.initializers].map(([k, t]) => [rename(k), t])),
    valueTypes: new Map([...branch.valueTypes].map(([k, t]) => [rename(k), t])),
  };
}
