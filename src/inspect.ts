/** Summary of a model: what `hwac inspect` prints. */
import { bitWidth } from "../ir/dtype.js";
import { printType } from "../ir/text/index.js";
import type { Graph, Model } from "../ir/graph.js";
import { numel, type Tensor } from "../ir/tensor.js";

export interface ModelSummary {
  file?: string;
  irVersion: number;
  producer: string;
  opsets: Record<string, number>;
  inputs: { name: string; type: string }[];
  outputs: { name: string; type: string }[];
  nodes: number;
  /** Op type → count, subgraphs included. */
  ops: Record<string, number>;
  parameters: number;
  parameterBytes: number;
}

export function summarize(model: Model): ModelSummary {
  const ops: Record<string, number> = {};
  let nodes = 0;
  let parameters = 0;
  let bits = 0;
  const count = (t: Tensor) => {
    const n = numel(t.shape);
    parameters += n;
    bits += n * bitWidth(t.dtype);
  };
  const walk = (g: Graph) => {
    for (const t of g.initializers.values()) count(t);
    for (const n of g.nodes) {
      nodes++;
      const key = n.domain ? `${n.domain}.${n.op}` : n.op;
      ops[key] = (ops[key] ?? 0) + 1;
      for (const a of Object.values(n.attrs)) {
        if (a.kind === "graph") walk(a.value);
        else if (a.kind === "graphs") a.value.forEach(walk);
      }
    }
  };
  walk(model.graph);
  const sorted = Object.fromEntries(Object.entries(ops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
  return {
    file: model.source,
    irVersion: model.irVersion,
    producer: model.producer,
    opsets: { ...model.opsets },
    inputs: model.graph.inputs.map((i) => ({ name: i.name, type: printType(i.type) })),
    outputs: model.graph.outputs.map((o) => ({ name: o.name, type: printType(o.type) })),
    nodes,
    ops: sorted,
    parameters,
    parameterBytes: Math.ceil(bits / 8),
  };
}

export function formatSummary(s: ModelSummary): string {
  const lines: string[] = [];
  lines.push(`model     ${s.file ?? "(memory)"}`);
  lines.push(`producer  ${s.producer || "(none)"}, ONNX IR v${s.irVersion}`);
  lines.push(`opsets    ${Object.entries(s.opsets).map(([d, v]) => `${d || "ai.onnx"} ${v}`).join(", ")}`);
  lines.push("inputs");
  for (const i of s.inputs) lines.push(`  ${i.name}: ${i.type}`);
  lines.push("outputs");
  for (const o of s.outputs) lines.push(`  ${o.name}: ${o.type}`);
  lines.push(`nodes     ${s.nodes}`);
  lines.push(`params    ${s.parameters.toLocaleString("en-US")} (${s.parameterBytes.toLocaleString("en-US")} bytes)`);
  lines.push("ops");
  const w = Math.max(...Object.keys(s.ops).map((k) => k.length), 2);
  for (const [op, n] of Object.entries(s.ops)) lines.push(`  ${op.padEnd(w)}  ${n}`);
  return lines.join("\n");
}
