/**
 * hwac::AnalogLSTM: a quantized LSTM whose gate matrices sit on crossbars (SPEC.md §4,
 * docs/numerics-aimc.md). The AIMC target puts one in place of every quantized LSTM it maps:
 * each direction's W [4H, input] and R [4H, H] is a layer of mapping.json (`<node>.W<d>`,
 * `<node>.R<d>`), the biases stay in B for the digital periphery.
 *
 * Inputs, outputs, attributes and types are LSTM's (ir/ops/LSTM.ts), plus the converters:
 * `w_row_blocks` / `w_input_range` (W's input row blocks, their DAC ranges in units of X),
 * `r_row_blocks` / `r_input_range` (R's, in units of the hidden state), `weight_bits` (W and R
 * share it), `dac_bits`, `dac_bound`, `adc_bits`, `adc_bound` as hwac::AnalogMvm.
 * Integer semantics: LSTM's (docs/numerics.md) with the two accumulators x_t·W_dᵀ and
 * h_{t−1}·R_dᵀ computed as AnalogMvm's steps 1–5 (ir/kernels/analog-recurrent.ts); the biases,
 * the Q3.12 requantization and the cell follow unchanged. Float semantics: LSTM's.
 */
import { analogProducts, recurrentAnalogAttrs } from "../kernels/analog-recurrent.js";
import type { OpDef } from "../op.js";
import { LSTM, runLstmInt } from "./LSTM.js";

export const AnalogLSTM: OpDef = {
  op: "AnalogLSTM",
  domain: "hwac",
  inferTypes(ctx) {
    recurrentAnalogAttrs(ctx, ctx.inputs[0]?.shape?.[2], ctx.attrs.optInt("hidden_size") ?? ctx.inputs[2]?.shape?.[2]);
    return LSTM.inferTypes(ctx);
  },
  run(inputs, ctx) {
    recurrentAnalogAttrs(ctx, inputs[0]?.shape[2], ctx.attrs.optInt("hidden_size") ?? inputs[2]?.shape[2]);
    return LSTM.run(inputs, ctx);
  },
  runInt: (inputs, ctx) => runLstmInt(inputs, ctx, analogProducts(ctx, inputs)),
};
