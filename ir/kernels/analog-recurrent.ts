/**
 * The gate products of hwac::AnalogLSTM and hwac::AnalogGRU (docs/numerics-aimc.md): the integer
 * recurrence of recurrent-int.ts with its two accumulators, x_t·W_dᵀ and h_{t−1}·R_dᵀ, computed
 * through the crossbar's converters (analog.ts, steps 1–5) instead of exact GEMMs. The input
 * product reads X's codes (s_x, z_x) with W's row blocks and ranges (`w_row_blocks`,
 * `w_input_range`), the recurrent products the hidden state (s_h, z_h, the type of Y or Y_h) with
 * R's (`r_row_blocks`, `r_input_range`); the results are in units of s_x·s_w[r] and s_h·s_r[r],
 * where the biases and the Q3.12 requantization take over unchanged.
 *
 * The GRU's reset-first candidate reads R's h rows with ρ = r⊙(H₋₁ − z_h), zero point 0: the DAC
 * codes ρ on the hidden state's scale and range, and |ρ| ≤ |H₋₁ − z_h| keeps it within the codes
 * of that type around its zero point.
 */
import type { Dim } from "../graph.js";
import { need, type EvalCtx, type IntCtx } from "../op.js";
import { perTensor } from "../quant-params.js";
import type { Tensor } from "../tensor.js";
import { AnalogBlocks, AnalogMatmul, analogAttrs, checkWeights, positionChunk, type AnalogAttrs, type BlockAttrNames } from "./analog.js";
import type { ProductsFactory } from "./recurrent-int.js";

export const W_BLOCK_ATTRS: BlockAttrNames = { rowBlocks: "w_row_blocks", inputRange: "w_input_range" };
export const R_BLOCK_ATTRS: BlockAttrNames = { rowBlocks: "r_row_blocks", inputRange: "r_input_range" };

type Ctx = Pick<EvalCtx, "node" | "attrs">;

/** W's and R's converter attributes, checked against the input size and the hidden size when known. */
export function recurrentAnalogAttrs(ctx: Ctx, inputSize: Dim | undefined, hidden: Dim | undefined): { w: AnalogAttrs; r: AnalogAttrs } {
  return { w: analogAttrs(ctx, inputSize, W_BLOCK_ATTRS), r: analogAttrs(ctx, hidden, R_BLOCK_ATTRS) };
}

/** The products of a node whose inputs are `inputs` (X, W, R, …), for its IntRecurrence. */
export function analogProducts(ctx: IntCtx, inputs: readonly (Tensor | undefined)[]): ProductsFactory {
  return (rec) => {
    const a = recurrentAnalogAttrs(ctx, rec.inputSize, rec.hidden);
    checkWeights(ctx, need(inputs, 1, ctx), a.w.qW, "W");
    checkWeights(ctx, need(inputs, 2, ctx), a.r.qW, "R");
    const x = perTensor(ctx.inTypes[0], "X");
    const h = rec.params.hidden;
    const xBlocks = new AnalogBlocks(ctx, a.w, x.scale, x.zp, x.lo, x.hi, W_BLOCK_ATTRS);
    const width = rec.gates * rec.hidden;
    const positions = rec.seq * rec.batch;
    return {
      input(d, codes, acc) {
        acc.fill(0);
        new AnalogMatmul(xBlocks, rec.inputWeights(d) as Int8Array, width, positionChunk(positions, rec.inputSize, width)).add(codes, positions, acc);
      },
      recurrent(d, p) {
        // a − za spans the hidden type's codes around its zero point.
        const shift = p.za - h.zp;
        const blocks = new AnalogBlocks(ctx, a.r, h.scale, p.za, h.lo + shift, h.hi + shift, R_BLOCK_ATTRS);
        const weights = (rec.recurrenceWeights(d) as Int8Array).subarray(p.r0 * rec.hidden, (p.r0 + p.n) * rec.hidden);
        const product = new AnalogMatmul(blocks, weights, p.n, rec.batch);
        return () => {
          p.out.fill(0, 0, rec.batch * p.n);
          product.add(p.a, rec.batch, p.out);
        };
      },
    };
  };
}
