/** ONNX TypeProto → IR TensorType. */
import { typeOf, type Dim, type TensorType } from "../../ir/graph.js";
import { fail, type Where } from "../../ir/errors.js";
import { CODES } from "./codes.js";
import { hasField, safeNumber, type DimensionProto, type TypeProto } from "./proto.js";
import { elementType } from "./tensor-proto.js";

/**
 * The tensor type a TypeProto declares, or undefined when it declares none (an empty TypeProto,
 * or element type UNDEFINED), which ONNX allows for values inside subgraphs.
 */
export function tensorType(tp: TypeProto | null | undefined, what: string, where: Where): TensorType | undefined {
  if (!tp) return undefined;
  const tt = tp.tensorType;
  if (tt) {
    if (!tt.elemType) return undefined;
    const dtype = elementType(tt.elemType, what, where);
    return typeOf(dtype, tt.shape ? (tt.shape.dim ?? []).map(dim) : null);
  }
  const kind = tp.sequenceType ? "sequence" : tp.mapType ? "map" : tp.optionalType ? "optional"
    : tp.sparseTensorType ? "sparse tensor" : undefined;
  if (kind) fail(CODES.unsupported, `${what} has a ${kind} type; only tensors are supported`, where);
  return undefined;
}

function dim(d: DimensionProto): Dim {
  if (hasField(d, "dimValue")) {
    // Some exporters write -1 for "unknown"; it means the same as an absent value.
    const v = safeNumber(d.dimValue ?? 0);
    return v >= 0 ? v : "?";
  }
  return hasField(d, "dimParam") && d.dimParam ? d.dimParam : "?";
}
