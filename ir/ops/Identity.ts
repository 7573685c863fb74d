import { need, needType, type OpDef } from "../op.js";

export const Identity: OpDef = {
  op: "Identity",
  quantTransparent: true,
  inferTypes: (ctx) => [needType(ctx, 0)],
  run: (inputs, ctx) => [need(inputs, 0, ctx)],
};
