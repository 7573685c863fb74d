import { need, type OpDef } from "../op.js";
import { numel, scalar } from "../tensor.js";

export const Size: OpDef = {
  op: "Size",
  inferTypes() {
    return [{ dtype: "int64", shape: [] }];
  },
  run(inputs, ctx) {
    // Reads only the shape: type inference runs this on a placeholder without data.
    return [scalar("int64", numel(need(inputs, 0, ctx).shape))];
  },
};
