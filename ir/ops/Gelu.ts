import { FLOAT_TYPES } from "../kernels/elementwise.js";
import { tableOp } from "../kernels/int-table.js";
import { opError, type OpDef } from "../op.js";
import { erf } from "./Erf.js";

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** approximate="none": x·Φ(x) = x/2·(1 + erf(x/√2)); "tanh": x/2·(1 + tanh(√(2/π)·(x + 0.044715x³))). */
export const Gelu: OpDef = tableOp("Gelu", {
  types: FLOAT_TYPES,
  params: (ctx) => {
    const approximate = ctx.attrs.string("approximate", "none");
    if (approximate !== "none" && approximate !== "tanh") {
      throw opError(ctx, `approximate must be "none" or "tanh"; got "${approximate}"`);
    }
    return approximate === "tanh";
  },
  f: (x, tanh) =>
    tanh ? 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))) : 0.5 * x * (1 + erf(x / Math.SQRT2)),
});
