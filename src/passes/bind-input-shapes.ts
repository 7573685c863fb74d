/**
 * Binds a model's dynamic input dimensions to concrete sizes: `x: f32[batch,3,?,?]` with
 * `x=1x3x48x192` becomes `x: f32[1,3,48,192]`, so type inference can make every shape static.
 * A named dimension is one size wherever it appears: binding `batch` through one input binds it
 * in every other input and in the declared types of outputs and intermediate values.
 */
import { HwacError } from "../../ir/errors.js";
import type { Dim, Model, TensorType, ValueDecl } from "../../ir/graph.js";
import { shapeStr } from "../../ir/tensor.js";

export function bindInputShapes(model: Model, shapes: ReadonlyMap<string, readonly number[]>): Model {
  const where = { file: model.source };
  const inputs = model.graph.inputs;
  for (const name of shapes.keys()) {
    if (!inputs.some((i) => i.name === name)) {
      const known = inputs.map((i) => `'${i.name}'`).join(", ");
      throw new HwacError("HW2031", `'${name}' is not a model input (the inputs are ${known})`, where);
    }
  }
  const symbols = new Map<string, { size: number; input: string }>();
  for (const decl of inputs) {
    const bound = shapes.get(decl.name);
    if (!bound) continue;
    const declared = decl.type.shape;
    const fits =
      declared === null ||
      (declared.length === bound.length && declared.every((d, i) => typeof d !== "number" || d === bound[i]));
    if (!fits) {
      throw new HwacError(
        "HW2030",
        `input '${decl.name}' is declared ${shapeStr(declared ?? [])} and cannot be bound to ${shapeStr(bound)}`,
        where,
      );
    }
    declared?.forEach((d, i) => {
      if (typeof d !== "string" || d === "?") return;
      const seen = symbols.get(d);
      if (seen && seen.size !== bound[i]) {
        throw new HwacError(
          "HW2030",
          `dimension '${d}' is ${seen.size} in input '${seen.input}' but ${bound[i]} in input '${decl.name}'`,
          where,
        );
      }
      symbols.set(d, { size: bound[i]!, input: decl.name });
    });
  }
  const bindType = (t: TensorType): TensorType => {
    if (!t.shape?.some((d) => typeof d === "string" && symbols.has(d))) return t;
    return { ...t, shape: t.shape.map((d): Dim => (typeof d === "string" ? symbols.get(d)?.size ?? d : d)) };
  };
  const bindDecl = (decl: ValueDecl): ValueDecl => {
    const bound = shapes.get(decl.name);
    if (bound) return { name: decl.name, type: { ...decl.type, shape: [...bound] } };
    const type = bindType(decl.type);
    return type === decl.type ? decl : { name: decl.name, type };
  };
  const valueTypes = new Map([...model.graph.valueTypes].map(([k, t]) => [k, bindType(t)] as const));
  return {
    ...model,
    graph: { ...model.graph, inputs: inputs.map(bindDecl), outputs: model.graph.outputs.map(bindDecl), valueTypes },
  };
}
