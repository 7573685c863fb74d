/**
 * The host side of a program's boundary (backends/nna/lower/boundary.ts): the float nodes before
 * the program, ending in the QuantizeLinear nodes of its input codes, and the DequantizeLinear
 * nodes of its output codes with the float nodes after them. The program's I/O tensors are those
 * codes, named after the float values. The host runs its parts as sub-models of the quantized
 * graph through the integer reference, which runs float nodes as the float reference does and
 * quantizes and dequantizes exactly as at the same nodes of the whole graph.
 */
import type { Model, Node } from "../../ir/graph.js";
import { runQuantized } from "../../ir/interpret.js";
import type { Tensor } from "../../ir/tensor.js";
import { hostBoundary, type HostBoundary } from "../../backends/nna/lower/boundary.js";

const boundaries = new WeakMap<Model, HostBoundary>();

/** The model's split between host and program (computed once per model). */
export function boundaryOf(m: Model): HostBoundary {
  let b = boundaries.get(m);
  if (!b) boundaries.set(m, (b = hostBoundary(m.graph)));
  return b;
}

/** A sub-model of `m`: `nodes` from the values `inputs` to the values `outputs`. */
function part(m: Model, inputs: readonly string[], nodes: readonly Node[], outputs: readonly string[]): Model {
  const typed = (name: string) => ({ name, type: m.graph.valueTypes.get(name) ?? m.graph.inputs.find((i) => i.name === name)?.type ?? { dtype: "float32" as const, shape: null } });
  return { ...m, graph: { ...m.graph, inputs: inputs.map(typed), nodes: [...nodes], outputs: outputs.map(typed) } };
}

/** What the host computes before the program: its input codes (by program input name), and the values kept for after it. */
export interface BeforeProgram {
  readonly codes: Map<string, Tensor>;
  readonly kept: Map<string, Tensor>;
}

export function hostBefore(m: Model, feeds: ReadonlyMap<string, Tensor>): BeforeProgram {
  const b = boundaryOf(m);
  const sub = part(m, m.graph.inputs.map((i) => i.name), b.before, [...b.inputs.map((c) => c.codes), ...b.kept]);
  const values = runQuantized(sub, feeds);
  return {
    codes: new Map(b.inputs.map((c) => [c.name, values.get(c.codes)!])),
    kept: new Map(b.kept.map((v) => [v, values.get(v)!])),
  };
}

/** The graph outputs from the program's output codes (by program output name) and what the host kept from before it. */
export function hostAfter(m: Model, codes: ReadonlyMap<string, Tensor>, before: BeforeProgram): Map<string, Tensor> {
  const b = boundaryOf(m);
  const sub = part(m, [...b.outputs.map((c) => c.codes), ...b.kept], b.after, m.graph.outputs.map((o) => o.name));
  return runQuantized(sub, new Map([...b.outputs.map((c): [string, Tensor] => [c.codes, codes.get(c.name)!]), ...before.kept]));
}

/** The value whose codes a program output holds: the input of the DequantizeLinear producing `output`. */
export function outputCodesValue(m: Model, output: string): string | undefined {
  return m.graph.nodes.find((n) => n.op === "DequantizeLinear" && n.outputs[0] === output)?.inputs[0];
}
