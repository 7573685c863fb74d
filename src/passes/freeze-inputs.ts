/**
 * Freezes graph inputs: `sr: i64[]` frozen to 16000 stops being an input and becomes an
 * initializer holding 16000, so what it decides (an If on `sr == 16000`, shape arithmetic)
 * folds at compile time.
 */
import { intRange, isFloat } from "../../ir/dtype.js";
import { HwacError } from "../../ir/errors.js";
import type { Model, ValueDecl } from "../../ir/graph.js";
import { fromFloat64, shapeStr, type Tensor } from "../../ir/tensor.js";

/** A frozen value: a number (stored in the input's type, one element) or the exact tensor. */
export type FrozenValue = number | Tensor;

export function freezeInputs(model: Model, values: ReadonlyMap<string, FrozenValue>): Model {
  if (values.size === 0) return model;
  const initializers = new Map(model.graph.initializers);
  for (const [name, value] of values) {
    const decl = model.graph.inputs.find((i) => i.name === name);
    if (!decl) {
      const known = model.graph.inputs.map((i) => `'${i.name}'`).join(", ");
      throw new HwacError("HW2031", `cannot freeze '${name}': it is not a model input (the inputs are ${known})`, {
        file: model.source,
      });
    }
    initializers.set(name, typeof value === "number" ? fromNumber(decl, value, model.source) : checked(decl, value, model.source));
  }
  const inputs = model.graph.inputs.filter((i) => !values.has(i.name));
  return { ...model, graph: { ...model.graph, inputs, initializers } };
}

/** A one-element tensor of the input's type: rank 0 unless the declaration says otherwise (`[1]`, `[batch]`). */
function fromNumber(decl: ValueDecl, value: number, file?: string): Tensor {
  const { dtype, shape } = decl.type;
  const fail = (why: string): never => {
    throw new HwacError("HW2032", `cannot freeze input '${decl.name}' (${dtype}${shapeStr(shape ?? [])}) to ${value}: ${why}`, {
      file,
    });
  };
  if (shape?.some((d) => typeof d === "number" && d !== 1)) fail("it holds more than one element");
  if (dtype === "string") fail("string inputs cannot be frozen to a number");
  if (!isFloat(dtype)) {
    const [lo, hi] = intRange(dtype);
    if (!Number.isInteger(value) || value < lo || value > hi) fail(`${dtype} holds the integers ${lo}..${hi}`);
  }
  return fromFloat64(dtype, (shape ?? []).map(() => 1), [value]);
}

function checked(decl: ValueDecl, t: Tensor, file?: string): Tensor {
  const { dtype, shape } = decl.type;
  const fits =
    shape === null || (shape.length === t.shape.length && shape.every((d, i) => typeof d !== "number" || d === t.shape[i]));
  if (t.dtype !== dtype || !fits) {
    throw new HwacError(
      "HW2032",
      `cannot freeze input '${decl.name}' (${dtype}${shapeStr(shape ?? [])}) to a ${t.dtype}${shapeStr(t.shape)} value`,
      { file },
    );
  }
  return t;
}
