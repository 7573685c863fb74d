/**
 * LSTM (ONNX). Gates are stacked i, o, f, c in W, R and B, peepholes i, o, f in P:
 *   i = f(Xi + Hi + Pi⊙C₋₁)    f = f(Xf + Hf + Pf⊙C₋₁)  (f = 1 − i when input_forget)
 *   c = g(Xc + Hc)             C = f⊙C₋₁ + i⊙c
 *   o = f(Xo + Ho + Po⊙C)      H = o⊙h(C)
 * with X· = Xt·Wᵀ + Wb + Rb, H· = H₋₁·Rᵀ, each gate's pre-activation clipped to ±clip (not C,
 * as in onnxruntime), and f, g, h = Sigmoid, Tanh, Tanh by default. Outputs Y, Y_h, Y_c.
 * Integer semantics (default activations, no clip, peepholes or input_forget): docs/numerics.md.
 */
import { clamp as saturate } from "../numeric.js";
import type { IntCtx, OpDef } from "../op.js";
import type { Tensor } from "../tensor.js";
import { formatRange, lookupInterp, mulRound, Q0_15, Q3_12, shiftRound } from "../kernels/fixed-point.js";
import type { IntArray } from "../kernels/gemm.js";
import { clamp, inferRecurrent, product, Recurrence, type Cell } from "../kernels/recurrent.js";
import { addPre, IntRecurrence, LSTM_KIND, quantizedOutputTypes, type IntCell, type ProductsFactory } from "../kernels/recurrent-int.js";

const GATES = 4;

function lstmCell(
  rec: Recurrence,
  d: number,
  h: Float32Array,
  c: Float32Array,
  peepholes: Float32Array,
  inputForget: boolean,
): Cell {
  const { batch, hidden: n, clip } = rec;
  const acts = rec.activations[d]!;
  const f = acts[0]!;
  const g = acts[1]!;
  const hOut = acts[2]!;
  const r = rec.recurrenceWeights(d);
  const pi = peepholes.subarray(3 * d * n, (3 * d + 1) * n);
  const po = peepholes.subarray((3 * d + 1) * n, (3 * d + 2) * n);
  const pf = peepholes.subarray((3 * d + 2) * n, (3 * d + 3) * n);
  const width = GATES * n;
  const hr = new Float32Array(batch * width);
  const recur = product(h, r, hr, batch, width, n);
  return {
    inputBias: rec.summedBias(d),
    step(xw, rows) {
      recur();
      for (let b = 0; b < batch; b++) {
        const row = rows[b]!;
        if (row < 0) continue;
        const gr = b * width;
        const s = b * n;
        for (let j = 0; j < n; j++) {
          const cPrev = c[s + j]!;
          const i = f(clamp(xw[row + j]! + hr[gr + j]! + pi[j]! * cPrev, clip));
          const fg = inputForget ? 1 - i : f(clamp(xw[row + 2 * n + j]! + hr[gr + 2 * n + j]! + pf[j]! * cPrev, clip));
          const cand = g(clamp(xw[row + 3 * n + j]! + hr[gr + 3 * n + j]!, clip));
          c[s + j] = fg * cPrev + i * cand;
          const cNew = c[s + j]!;
          const o = f(clamp(xw[row + n + j]! + hr[gr + n + j]! + po[j]! * cNew, clip));
          h[s + j] = o * hOut(cNew);
        }
      }
    },
  };
}

/**
 * The integer cell: gates in Q0.15 from Q3.12 pre-activations, C = f·C₋₁ + i·c in the cell
 * format (each product rounded once), H = o·tanh(C) requantized from Q0.30 to the hidden type.
 */
function lstmCellInt(rec: IntRecurrence, d: number, h: IntArray, c: IntArray): IntCell {
  const { batch, hidden: n } = rec;
  const { sigmoid, tanh, cell, hidden } = rec.params;
  const toHidden = rec.toHidden;
  const width = GATES * n;
  const acc = new Int32Array(batch * width);
  const recur = rec.recurrentProduct(d, { a: h, za: hidden.zp, r0: 0, n: width, out: acc, read: 0 });
  const term = rec.recurrentTerm(d);
  const [cLo, cHi] = formatRange(cell);
  const [preLo, preHi] = formatRange(Q3_12);
  // f·C₋₁ keeps C's format, i·c drops from Q0.30 to it, and C enters tanh in Q3.12, where
  // saturating costs nothing: tanh(±8) rounds to ±1 in Q0.15.
  const fShift = Q0_15.frac;
  const icShift = 2 * Q0_15.frac - cell.frac;
  const toPre = cell.frac - Q3_12.frac;
  return {
    step(xw, rows) {
      recur(rows);
      for (let b = 0; b < batch; b++) {
        const row = rows[b]!;
        if (row < 0) continue;
        const a = b * width;
        const s = b * n;
        for (let j = 0; j < n; j++) {
          const i = lookupInterp(sigmoid, addPre(xw[row + j]!, term(acc[a + j]!, j)));
          const o = lookupInterp(sigmoid, addPre(xw[row + n + j]!, term(acc[a + n + j]!, n + j)));
          const f = lookupInterp(sigmoid, addPre(xw[row + 2 * n + j]!, term(acc[a + 2 * n + j]!, 2 * n + j)));
          const cand = lookupInterp(tanh, addPre(xw[row + 3 * n + j]!, term(acc[a + 3 * n + j]!, 3 * n + j)));
          const cNew = saturate(mulRound(f, c[s + j]!, fShift) + mulRound(i, cand, icShift), cLo, cHi);
          c[s + j] = cNew;
          const t = lookupInterp(tanh, shiftRound(cNew, toPre, preLo, preHi));
          h[s + j] = toHidden.requantize(o * t, 0, hidden.zp, hidden.lo, hidden.hi);
        }
      }
    },
  };
}

export const LSTM: OpDef = {
  op: "LSTM",
  inferTypes: (ctx) => quantizedOutputTypes(inferRecurrent(ctx, GATES), ctx.inputs[0]),
  run(inputs, ctx) {
    const rec = new Recurrence(inputs, ctx, GATES, ["Sigmoid", "Tanh", "Tanh"]);
    const h0 = rec.initialState(inputs[5], "initial_h");
    const c0 = rec.initialState(inputs[6], "initial_c");
    const p = inputs[7];
    if (p) rec.expect(p, "P", [rec.dirs, 3 * rec.hidden]);
    // Absent peepholes are zero weights: one code path, and the cost is a multiply-add per unit.
    const peepholes = p ? rec.values(p, "P") : new Float32Array(rec.dirs * 3 * rec.hidden);
    const inputForget = ctx.attrs.int("input_forget", 0) !== 0;
    return rec.run([h0, c0], (d, [h, c]) => lstmCell(rec, d, h!, c!, peepholes, inputForget));
  },
  runInt: (inputs, ctx) => runLstmInt(inputs, ctx),
};

/** The integer LSTM, its two accumulator products from `products` (the exact GEMMs by default). */
export function runLstmInt(inputs: readonly (Tensor | undefined)[], ctx: IntCtx, products?: ProductsFactory): Tensor[] {
  const rec = new IntRecurrence(inputs, ctx, LSTM_KIND, products);
  const h0 = rec.initialHidden(inputs[5]);
  const c0 = rec.initialCell(inputs[6]);
  return rec.run([h0, c0], (d, [h, c]) => lstmCellInt(rec, d, h!, c!));
}
