/**
 * GRU (ONNX). Gates are stacked z, r, h in W, R and B:
 *   z = f(Xz + Hz)    r = f(Xr + Hr)
 *   ĥ = g(Xh + (r⊙H₋₁)·Rhᵀ + Rbh)      linear_before_reset = 0
 *   ĥ = g(Xh + r⊙(H₋₁·Rhᵀ + Rbh))      linear_before_reset ≠ 0
 *   H = (1 − z)⊙ĥ + z⊙H₋₁
 * with X· = Xt·Wᵀ + Wb (+ Rb for z and r), H· = H₋₁·Rᵀ, each pre-activation clipped to ±clip,
 * and f, g = Sigmoid, Tanh by default. Outputs Y and Y_h.
 * Integer semantics (default activations, no clip): docs/numerics.md.
 */
import { clamp as saturate } from "../numeric.js";
import type { IntCtx, OpDef } from "../op.js";
import type { Tensor } from "../tensor.js";
import { lookupInterp, mulRound, Q0_15 } from "../kernels/fixed-point.js";
import type { IntArray } from "../kernels/gemm.js";
import { clamp, inferRecurrent, product, Recurrence, type Cell } from "../kernels/recurrent.js";
import { addPre, GRU_KIND, IntRecurrence, quantizedOutputTypes, type IntCell, type ProductsFactory } from "../kernels/recurrent-int.js";

const GATES = 3;

/** The reset gate scales the recurrent product: one GEMM over all three gates per step. */
function linearBeforeResetCell(rec: Recurrence, d: number, h: Float32Array): Cell {
  const { batch, hidden: n, clip } = rec;
  const [f, g] = [rec.activations[d]![0]!, rec.activations[d]![1]!];
  const r = rec.recurrenceWeights(d);
  const { wb, rb } = rec.biases(d);
  const rbh = rb.subarray(2 * n);
  // Rbh sits inside the reset product, so only the z and r parts of Rb join the input bias.
  const inputBias = wb.map((v, i) => (i < 2 * n ? v + rb[i]! : v));
  const width = GATES * n;
  const hr = new Float32Array(batch * width);
  const recur = product(h, r, hr, batch, width, n);
  return {
    inputBias,
    step(xw, rows) {
      recur();
      for (let b = 0; b < batch; b++) {
        const row = rows[b]!;
        if (row < 0) continue;
        const gr = b * width;
        const s = b * n;
        for (let j = 0; j < n; j++) {
          const z = f(clamp(xw[row + j]! + hr[gr + j]!, clip));
          const reset = f(clamp(xw[row + n + j]! + hr[gr + n + j]!, clip));
          const cand = g(clamp(xw[row + 2 * n + j]! + reset * (hr[gr + 2 * n + j]! + rbh[j]!), clip));
          h[s + j] = (1 - z) * cand + z * h[s + j]!;
        }
      }
    },
  };
}

/** The reset gate scales H₋₁ before Rh: a second, dependent GEMM per step. */
function resetFirstCell(rec: Recurrence, d: number, h: Float32Array): Cell {
  const { batch, hidden: n, clip } = rec;
  const [f, g] = [rec.activations[d]![0]!, rec.activations[d]![1]!];
  const r = rec.recurrenceWeights(d);
  const rzr = r.subarray(0, 2 * n * n);
  const rh = r.subarray(2 * n * n);
  const zr = new Float32Array(batch * 2 * n);
  const z = new Float32Array(batch * n);
  const resetH = new Float32Array(batch * n);
  const hh = new Float32Array(batch * n);
  const gates = product(h, rzr, zr, batch, 2 * n, n);
  const candidate = product(resetH, rh, hh, batch, n, n);
  return {
    inputBias: rec.summedBias(d),
    step(xw, rows) {
      gates();
      for (let b = 0; b < batch; b++) {
        const row = rows[b]!;
        if (row < 0) continue;
        const gr = b * 2 * n;
        const s = b * n;
        for (let j = 0; j < n; j++) {
          z[s + j] = f(clamp(xw[row + j]! + zr[gr + j]!, clip));
          resetH[s + j] = f(clamp(xw[row + n + j]! + zr[gr + n + j]!, clip)) * h[s + j]!;
        }
      }
      candidate();
      for (let b = 0; b < batch; b++) {
        const row = rows[b]!;
        if (row < 0) continue;
        const s = b * n;
        for (let j = 0; j < n; j++) {
          const cand = g(clamp(xw[row + 2 * n + j]! + hh[s + j]!, clip));
          h[s + j] = (1 - z[s + j]!) * cand + z[s + j]! * h[s + j]!;
        }
      }
    },
  };
}

const ONE = 2 ** Q0_15.frac;

/**
 * H = (1 − z)·ĥ + z·H₋₁ in the hidden type, z and ĥ in Q0.15: (2^15 − z)·ĥ is a Q0.30 product
 * requantized like the LSTM's o·tanh(C), z·(H₋₁ − z_h) is rounded back to hidden-type units.
 */
function blender(rec: IntRecurrence): (z: number, cand: number, hPrev: number) => number {
  const { hidden } = rec.params;
  const toHidden = rec.toHidden;
  return (z, cand, hPrev) =>
    saturate(hidden.zp + toHidden.apply((ONE - z) * cand, 0) + mulRound(z, hPrev - hidden.zp, Q0_15.frac), hidden.lo, hidden.hi);
}

/** Integer form of linearBeforeResetCell: r (Q0.15) scales the requantized Q3.12 recurrent term. */
function linearBeforeResetCellInt(rec: IntRecurrence, d: number, h: IntArray): IntCell {
  const { batch, hidden: n } = rec;
  const { sigmoid, tanh, hidden } = rec.params;
  const width = GATES * n;
  const acc = new Int32Array(batch * width);
  const recur = rec.recurrentProduct(d, { a: h, za: hidden.zp, r0: 0, n: width, out: acc, read: 0 });
  const term = rec.recurrentTerm(d);
  const blend = blender(rec);
  return {
    step(xw, rows) {
      recur(rows);
      for (let b = 0; b < batch; b++) {
        const row = rows[b]!;
        if (row < 0) continue;
        const a = b * width;
        const s = b * n;
        for (let j = 0; j < n; j++) {
          const z = lookupInterp(sigmoid, addPre(xw[row + j]!, term(acc[a + j]!, j)));
          const reset = lookupInterp(sigmoid, addPre(xw[row + n + j]!, term(acc[a + n + j]!, n + j)));
          const hh = mulRound(reset, term(acc[a + 2 * n + j]!, 2 * n + j), Q0_15.frac);
          const cand = lookupInterp(tanh, addPre(xw[row + 2 * n + j]!, hh));
          h[s + j] = blend(z, cand, h[s + j]!);
        }
      }
    },
  };
}

/**
 * Integer form of resetFirstCell: r⊙(H₋₁ − z_h) is rounded to hidden-type units (zero point 0)
 * and feeds the second GEMM, whose accumulator requantizes with the recurrent multipliers.
 */
function resetFirstCellInt(rec: IntRecurrence, d: number, h: IntArray): IntCell {
  const { batch, hidden: n } = rec;
  const { sigmoid, tanh, hidden } = rec.params;
  const zr = new Int32Array(batch * 2 * n);
  const z = new Int16Array(batch * n);
  const resetH = new Int32Array(batch * n);
  const hh = new Int32Array(batch * n);
  const gates = rec.recurrentProduct(d, { a: h, za: hidden.zp, r0: 0, n: 2 * n, out: zr, read: 0 });
  const candidate = rec.recurrentProduct(d, { a: resetH, za: 0, r0: 2 * n, n, out: hh, read: 1 });
  const term = rec.recurrentTerm(d);
  const blend = blender(rec);
  return {
    step(xw, rows) {
      gates(rows);
      for (let b = 0; b < batch; b++) {
        const row = rows[b]!;
        if (row < 0) continue;
        const a = b * 2 * n;
        const s = b * n;
        for (let j = 0; j < n; j++) {
          z[s + j] = lookupInterp(sigmoid, addPre(xw[row + j]!, term(zr[a + j]!, j)));
          const reset = lookupInterp(sigmoid, addPre(xw[row + n + j]!, term(zr[a + n + j]!, n + j)));
          resetH[s + j] = mulRound(reset, h[s + j]! - hidden.zp, Q0_15.frac);
        }
      }
      candidate(rows);
      for (let b = 0; b < batch; b++) {
        const row = rows[b]!;
        if (row < 0) continue;
        const s = b * n;
        for (let j = 0; j < n; j++) {
          const cand = lookupInterp(tanh, addPre(xw[row + 2 * n + j]!, term(hh[s + j]!, 2 * n + j)));
          h[s + j] = blend(z[s + j]!, cand, h[s + j]!);
        }
      }
    },
  };
}

export const GRU: OpDef = {
  op: "GRU",
  inferTypes: (ctx) => quantizedOutputTypes(inferRecurrent(ctx, GATES), ctx.inputs[0]),
  run(inputs, ctx) {
    const rec = new Recurrence(inputs, ctx, GATES, ["Sigmoid", "Tanh"]);
    const h0 = rec.initialState(inputs[5], "initial_h");
    const cell = ctx.attrs.int("linear_before_reset", 0) !== 0 ? linearBeforeResetCell : resetFirstCell;
    return rec.run([h0], (d, [h]) => cell(rec, d, h!));
  },
  runInt: (inputs, ctx) => runGruInt(inputs, ctx),
};

/** The integer GRU, its accumulator products from `products` (the exact GEMMs by default). */
export function runGruInt(inputs: readonly (Tensor | undefined)[], ctx: IntCtx, products?: ProductsFactory): Tensor[] {
  const rec = new IntRecurrence(inputs, ctx, GRU_KIND, products);
  const h0 = rec.initialHidden(inputs[5]);
  const cell = ctx.attrs.int("linear_before_reset", 0) !== 0 ? linearBeforeResetCellInt : resetFirstCellInt;
  return rec.run([h0], (d, [h]) => cell(rec, d, h!));
}
