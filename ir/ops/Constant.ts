import { opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { f32, i64, tensor, type Tensor } from "../tensor.js";

/** The value a Constant node holds, from whichever of its value attributes is set. */
function value(ctx: TypeCtx | EvalCtx): Tensor {
  const a = ctx.attrs;
  const t = a.optTensor("value");
  if (t) return t;
  if (a.has("value_float")) return f32([], [a.float("value_float")]);
  if (a.has("value_floats")) {
    const v = a.floats("value_floats");
    return f32([v.length], v);
  }
  if (a.has("value_int")) return i64([], [a.int("value_int")]);
  if (a.has("value_ints")) {
    const v = a.ints("value_ints");
    return i64([v.length], v);
  }
  if (a.has("value_string")) return tensor("string", [], [a.string("value_string")]);
  if (a.has("value_strings")) {
    const v = a.strings("value_strings");
    return tensor("string", [v.length], [...v]);
  }
  if (a.has("sparse_value")) throw opError(ctx, "sparse_value constants are not supported");
  throw opError(ctx, "expected one of the attributes value, value_float(s), value_int(s), value_string(s)");
}

export const Constant: OpDef = {
  op: "Constant",
  inferTypes(ctx) {
    const t = value(ctx);
    return [{ dtype: t.dtype, shape: [...t.shape] }];
  },
  run(_inputs, ctx) {
    return [value(ctx)];
  },
};
