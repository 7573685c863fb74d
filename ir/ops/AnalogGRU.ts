/**
 * hwac::AnalogGRU: a quantized GRU whose gate matrices sit on crossbars (SPEC.md §4,
 * docs/numerics-aimc.md). The AIMC target puts one in place of every quantized GRU it maps:
 * each direction's W [3H, input] and R [3H, H] is a layer of mapping.json (`<node>.W<d>`,
 * `<node>.R<d>`), the biases stay in B for the digital periphery.
 *
 * Inputs, outputs, attributes and types are GRU's (ir/ops/GRU.ts), plus the converters as
 * hwac::AnalogLSTM has them (`w_row_blocks`, `w_input_range`, `r_row_blocks`, `r_input_range`,
 * `weight_bits`, `dac_bits`, `dac_bound`, `adc_bits`, `adc_bound`).
 * Integer semantics: GRU's (docs/numerics.md) with its accumulators x_t·W_dᵀ and h_{t−1}·R_dᵀ
 * computed as AnalogMvm's steps 1–5 (ir/kernels/analog-recurrent.ts); with linear_before_reset
 * = 0 the candidate's product r⊙(H₋₁ − z_h) by Rh is a second read of R's h rows through the same
 * converters. Float semantics: GRU's.
 */
import { analogProducts, recurrentAnalogAttrs } from "../kernels/analog-recurrent.js";
import type { OpDef } from "../op.js";
import { GRU, runGruInt } from "./GRU.js";

export const AnalogGRU: OpDef = {
  op: "AnalogGRU",
  domain: "hwac",
  inferTypes(ctx) {
    recurrentAnalogAttrs(ctx, ctx.inputs[0]?.shape?.[2], ctx.attrs.optInt("hidden_size") ?? ctx.inputs[2]?.shape?.[2]);
    return GRU.inferTypes(ctx);
  },
  run(inputs, ctx) {
    recurrentAnalogAttrs(ctx, inputs[0]?.shape[2], ctx.attrs.optInt("hidden_size") ?? inputs[2]?.shape[2]);
    return GRU.run(inputs, ctx);
  },
  runInt: (inputs, ctx) => runGruInt(inputs, ctx, analogProducts(ctx, inputs)),
};
