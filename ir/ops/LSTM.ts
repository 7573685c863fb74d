/**
 * LSTM (ONNX). Gates are stacked i, o, f, c in W, R and B, peepholes i, o, f in P:
 *   i = f(Xi + Hi + Pi⊙C₋₁)    f = f(Xf + Hf + Pf⊙C₋₁)  (f = 1 − i when input_forget)
 *   c = g(Xc + Hc)             C = f⊙C₋₁ + i⊙c
 *   o = f(Xo + Ho + Po⊙C)      H = o⊙h(C)
 * with X· = Xt·Wᵀ + Wb + Rb, H· = H₋₁·Rᵀ, each gate's pre-activation clipped to ±clip (not C,
 * as in onnxruntime), and f, g, h = Sigmoid, Tanh, Tanh by default. Outputs Y, Y_h, Y_c.
 */
import type { OpDef } from "../op.js";
import { clamp, inferRecurrent, product, Recurrence, type Cell } from "../kernels/recurrent.js";

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

export const LSTM: OpDef = {
  op: "LSTM",
  inferTypes: (ctx) => inferRecurrent(ctx, GATES),
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
};
