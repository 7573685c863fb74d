/**
 * Upsample (deprecated since opset 10): Resize as opset 10 defined it — asymmetric coordinates,
 * nearest or linear — with the scales as an attribute (opset 7) or as input 1 (opset 9).
 */
import { opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { f32 } from "../tensor.js";
import { Resize } from "./Resize.js";

/** The context Resize sees: opset 10, whose (X, scales) inputs and sampling Upsample shares. */
function asResize<C extends TypeCtx | EvalCtx>(ctx: C): C {
  const mode = ctx.attrs.string("mode", "nearest");
  if (mode !== "nearest" && mode !== "linear") throw opError(ctx, `mode '${mode}' is not one of nearest, linear`);
  return Object.create(ctx, { opset: { value: 10 } }) as C;
}

/** Opset 7 keeps the scales in an attribute; they become Resize's scales input. */
function scalesAttr(ctx: TypeCtx | EvalCtx) {
  if (ctx.opset >= 9) return undefined;
  const s = ctx.attrs.optFloats("scales");
  if (!s) throw opError(ctx, "expected a scales attribute");
  return f32([s.length], s);
}

export const Upsample: OpDef = {
  op: "Upsample",
  quantTransparent: true,
  inferTypes(ctx) {
    const scales = scalesAttr(ctx);
    if (!scales) return Resize.inferTypes(asResize(ctx));
    const inputs = [ctx.inputs[0], { dtype: "float32" as const, shape: scales.shape }];
    return Resize.inferTypes(Object.create(asResize(ctx), { inputs: { value: inputs }, consts: { value: [undefined, scales] } }) as TypeCtx);
  },
  run(inputs, ctx) {
    const scales = scalesAttr(ctx);
    return Resize.run(scales ? [inputs[0], scales] : inputs, asResize(ctx));
  },
};
