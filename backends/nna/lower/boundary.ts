/**
 * Where a quantized model splits between the host and an NNA program. Real models begin with
 * float pre-processing (an STFT or mel front end) before their first QuantizeLinear and may end
 * with float post-processing after a DequantizeLinear; the host runs both in float, as the
 * reference does, and the program runs the codes in between.
 *
 * - Before the program: every unquantized node that depends only on graph inputs and constants,
 *   up to and including the QuantizeLinear nodes that turn such values into codes. Each of those
 *   codes is a program input, named after the float value it quantizes.
 * - After it: the DequantizeLinear nodes of program values that unquantized nodes read or that are
 *   graph outputs, and the unquantized nodes that depend only on them (and on values known before
 *   the program). Each such DequantizeLinear's codes are a program output, named after the float
 *   value it produces.
 * - Everything else is the program. A program node that reads a value the host computes after the
 *   program would make a value cross the boundary twice: refused (HW5045), naming the node.
 */
import { HwacError } from "../../../ir/errors.js";
import type { Graph, Node } from "../../../ir/graph.js";

/** A value crossing between host and program: its codes, and the float value the host names it by. */
export interface Crossing {
  /** The float value (the QuantizeLinear's input, the DequantizeLinear's output): the program tensor's name. */
  readonly name: string;
  /** The codes the program reads or writes (the QuantizeLinear's output, the DequantizeLinear's input). */
  readonly codes: string;
  readonly node: Node;
}

export interface HostBoundary {
  /** Host nodes before the program, in graph order, the QuantizeLinear nodes of `inputs` among them. */
  readonly before: readonly Node[];
  /** Host nodes after the program, in graph order, the DequantizeLinear nodes of `outputs` among them. */
  readonly after: readonly Node[];
  readonly inputs: readonly Crossing[];
  readonly outputs: readonly Crossing[];
  /** Values known before the program (graph inputs, host results) that the nodes after it read or the graph outputs. */
  readonly kept: readonly string[];
}

export function hostBoundary(g: Graph): HostBoundary {
  const quantized = (v: string) => g.valueTypes.get(v)?.quant !== undefined;
  const unquantized = (n: Node) => n.op !== "QuantizeLinear" && n.op !== "DequantizeLinear" && ![...n.inputs, ...n.outputs].some(quantized);
  const readers = new Map<string, Node[]>();
  for (const n of g.nodes) for (const v of n.inputs) readers.set(v, [...(readers.get(v) ?? []), n]);
  const graphOutputs = new Set(g.outputs.map((o) => o.name));

  const known = new Set([...g.inputs.map((i) => i.name), ...g.initializers.keys()]);
  const later = new Set<string>();
  const b = { before: [] as Node[], after: [] as Node[], inputs: [] as Crossing[], outputs: [] as Crossing[] };
  for (const n of g.nodes) {
    const ins = n.inputs.filter((v) => v !== "");
    if (ins.every((v) => known.has(v)) && (n.op === "QuantizeLinear" || !n.outputs.some(quantized))) {
      b.before.push(n);
      if (n.op !== "QuantizeLinear") {
        n.outputs.forEach((v) => known.add(v));
        continue;
      }
      if (b.inputs.some((c) => c.name === n.inputs[0])) throw crossError(n, `'${n.inputs[0]}' is quantized twice for the program; it can be one program input only`);
      b.inputs.push({ name: n.inputs[0]!, codes: n.outputs[0]!, node: n });
      continue;
    }
    const out = n.outputs[0]!;
    if (n.op === "DequantizeLinear" && (graphOutputs.has(out) || (readers.get(out) ?? []).some(unquantized))) {
      b.after.push(n);
      b.outputs.push({ name: out, codes: n.inputs[0]!, node: n });
      later.add(out);
      continue;
    }
    if (unquantized(n) && ins.every((v) => known.has(v) || later.has(v))) {
      b.after.push(n);
      n.outputs.forEach((v) => later.add(v));
      continue;
    }
    const crossed = ins.find((v) => later.has(v));
    if (crossed !== undefined) {
      throw crossError(n, `it reads '${crossed}', which the host computes after the program from its outputs: a value may cross between host and program once each way`);
    }
  }
  const kept = new Set<string>();
  for (const n of b.after) for (const v of n.inputs) if (known.has(v) && !g.initializers.has(v)) kept.add(v);
  for (const v of graphOutputs) if (known.has(v)) kept.add(v);
  return { ...b, kept: [...kept] };
}

function crossError(n: Node, message: string): HwacError {
  return new HwacError("HW5045", `'${n.name}' cannot run on the NNA: ${message}`, { node: n.name, op: n.op });
}
