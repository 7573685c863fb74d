import { binaryOp, FLOAT_TYPES } from "../kernels/elementwise.js";
import { preluInt } from "../kernels/int-elementwise.js";
import type { OpDef } from "../op.js";

/** y = x < 0 ? slope·x : x, with `slope` broadcast to x's shape (unidirectionally). */
export const PRelu: OpDef = {
  ...binaryOp("PRelu", {
    types: [...FLOAT_TYPES, "int32", "int64", "uint32", "uint64"],
    unidirectional: true,
    f: (x, slope) => (x < 0 ? slope * x : x),
    int: (x, slope) => (x < 0 ? Math.imul(slope, x) : x),
    big: (x, slope) => (x < 0n ? slope * x : x),
  }),
  /** TFLite PRELU on a quantized slope (docs/numerics-elementwise.md). */
  runInt: (inputs, ctx) => [preluInt(inputs, ctx)],
};
