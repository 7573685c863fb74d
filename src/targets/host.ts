/**
 * The host side of a program's boundary: a graph input's QuantizeLinear runs before the program
 * and a graph output's DequantizeLinear after it (the NNA program's I/O tensors are the codes
 * between them, named after the float values). Both run as the integer reference runs them.
 */
import type { Model, Node } from "../../ir/graph.js";
import { runQuantized } from "../../ir/interpret.js";
import type { Tensor } from "../../ir/tensor.js";

function inputNodes(m: Model): Node[] {
  const inputs = new Set(m.graph.inputs.map((i) => i.name));
  return m.graph.nodes.filter((n) => n.op === "QuantizeLinear" && inputs.has(n.inputs[0]!));
}

function outputNodes(m: Model): Node[] {
  const outputs = new Set(m.graph.outputs.map((o) => o.name));
  return m.graph.nodes.filter((n) => n.op === "DequantizeLinear" && outputs.has(n.outputs[0]!));
}

/** The codes each graph input becomes, by the float input's name. */
export function quantizeInputs(m: Model, feeds: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const nodes = inputNodes(m);
  const sub: Model = {
    ...m,
    graph: { ...m.graph, nodes, outputs: nodes.map((n) => ({ name: n.outputs[0]!, type: m.graph.valueTypes.get(n.outputs[0]!)! })) },
  };
  const codes = runQuantized(sub, feeds);
  return new Map(nodes.map((n) => [n.inputs[0]!, codes.get(n.outputs[0]!)!]));
}

/** The float outputs from the program's output codes (by the float output's name). */
export function dequantizeOutputs(m: Model, codes: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const nodes = outputNodes(m);
  const sub: Model = {
    ...m,
    graph: {
      ...m.graph,
      inputs: nodes.map((n) => ({ name: n.inputs[0]!, type: m.graph.valueTypes.get(n.inputs[0]!)! })),
      nodes,
      outputs: m.graph.outputs,
    },
  };
  const feeds = new Map(nodes.map((n) => [n.inputs[0]!, codes.get(n.outputs[0]!)!]));
  return runQuantized(sub, feeds);
}

/** The value whose codes a program output holds: the input of the graph output's DequantizeLinear. */
export function outputCodesValue(m: Model, output: string): string | undefined {
  return outputNodes(m).find((n) => n.outputs[0] === output)?.inputs[0];
}
