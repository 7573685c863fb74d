/**
 * The end of making a program static: every input and every value has a static shape, and no
 * If is left. The error names the first input or node that is not static, the inputs it depends
 * on, and how to make it static.
 */
import { HwacError } from "../../ir/errors.js";
import { isStatic, type Graph, type Model, type Node } from "../../ir/graph.js";
import { inferModel } from "../../ir/infer.js";
import { nodeReads } from "../../ir/interpret.js";
import { shapeStr } from "../../ir/tensor.js";
import { subgraphsOf } from "./rewrite.js";

export function checkStatic(model: Model): Model {
  const g = model.graph;
  const file = model.source;
  for (const { name, type } of g.inputs) {
    if (isStatic(type.shape)) continue;
    const example = (type.shape ?? ["N"]).map((d) => (typeof d === "number" ? d : "N")).join("x");
    throw new HwacError(
      "HW2034",
      `input '${name}' has dynamic shape ${shapeStr(type.shape ?? ["*"])}; give its shape with --input-shape ${name}=${example} or with calibration inputs`,
      { file },
    );
  }
  for (const node of g.nodes) {
    if (subgraphsOf(node).length === 0) continue;
    const cond = node.inputs[0] ?? "";
    throw new HwacError(
      "HW2036",
      `${node.op} branches on '${cond}', which is only known at run time${dependence(g, cond)}; freeze the input that decides it with --freeze name=value`,
      { file, node: node.name, op: node.op },
    );
  }
  // Branches are reported before inference runs: a branch left in place may not type-check at the bound shapes.
  const { types } = inferModel(model);
  for (const node of g.nodes) {
    for (const o of node.outputs) {
      const shape = types.get(o)?.shape ?? null;
      if (o === "" || isStatic(shape)) continue;
      throw new HwacError(
        "HW2035",
        `output '${o}' has shape ${shapeStr(shape ?? ["*"])}, which is only known at run time${dependence(g, o)}; hwac compiles static programs`,
        { file, node: node.name, op: node.op },
      );
    }
  }
  return model;
}

/** ` (it depends on input 'a', 'b')`: the graph inputs whose values reach `value`. */
function dependence(g: Graph, value: string): string {
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const inputs = new Set(g.inputs.map((i) => i.name));
  const found = new Set<string>();
  const seen = new Set<string>();
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    if (inputs.has(v)) found.add(v);
    const p = producer.get(v);
    if (p) stack.push(...nodeReads(p));
  }
  if (found.size === 0) return "";
  return ` (it depends on input${found.size > 1 ? "s" : ""} ${[...found].map((n) => `'${n}'`).join(", ")})`;
}
