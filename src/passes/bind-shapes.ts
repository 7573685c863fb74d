/**
 * Binds a model's dynamic input dimensions to concrete sizes: `x: f32[batch,3,?,?]` with
 * `x=1x3x48x192` becomes `x: f32[1,3,48,192]`, so type inference can make every shape static.
 */
import { HwacError } from "../../ir/errors.js";
import type { Model, ValueDecl } from "../../ir/graph.js";
import { shapeStr } from "../../ir/tensor.js";

export function bindInputShapes(model: Model, shapes: ReadonlyMap<string, readonly number[]>): Model {
  const inputs: ValueDecl[] = model.graph.inputs.map((decl) => {
    const bound = shapes.get(decl.name);
    if (!bound) return decl;
    const declared = decl.type.shape;
    const fits =
      declared === null ||
      (declared.length === bound.length && declared.every((d, i) => typeof d !== "number" || d === bound[i]));
    if (!fits) {
      throw new HwacError(
        "HW2030",
        `input '${decl.name}' is declared ${shapeStr(declared ?? [])} and cannot be bound to ${shapeStr(bound)}`,
        { file: model.source },
      );
    }
    return { name: decl.name, type: { ...decl.type, shape: [...bound] } };
  });
  return { ...model, graph: { ...model.graph, inputs } };
}
