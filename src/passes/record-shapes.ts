/**
 * Writes inferred static shapes into the declared types that are still dynamic — graph outputs
 * (`logits: f32[?,10]` → `f32[1,10]`) and intermediate values — so later stages and the printed
 * IR see the program's real shapes.
 */
import { isStatic, type Model, type TensorType, type ValueDecl } from "../../ir/graph.js";
import { inferModel } from "../../ir/infer.js";

export function recordShapes(model: Model): Model {
  const { types } = inferModel(model);
  const refined = (name: string, t: TensorType): TensorType => {
    const inferred = types.get(name)?.shape ?? null;
    return isStatic(t.shape) || !isStatic(inferred) ? t : { ...t, shape: inferred };
  };
  const decl = (d: ValueDecl): ValueDecl => ({ name: d.name, type: refined(d.name, d.type) });
  const g = model.graph;
  const valueTypes = new Map([...g.valueTypes].map(([name, t]) => [name, refined(name, t)] as const));
  return { ...model, graph: { ...g, outputs: g.outputs.map(decl), valueTypes } };
}
