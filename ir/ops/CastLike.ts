import { need, needType, type OpDef } from "../op.js";
import { castTensor } from "./Cast.js";

/** Cast to the element type of the second input (whose values are not read). */
export const CastLike: OpDef = {
  op: "CastLike",
  inferTypes(ctx) {
    return [{ dtype: needType(ctx, 1).dtype, shape: needType(ctx, 0).shape }];
  },
  run(inputs, ctx) {
    return [castTensor(need(inputs, 0, ctx), need(inputs, 1, ctx).dtype)];
  },
};
