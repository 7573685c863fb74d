/**
 * GRU (ONNX). Gates are stacked z, r, h in W, R and B:
 *   z = f(Xz + Hz)    r = f(Xr + Hr)
 *   ĥ = g(Xh + (r⊙H₋₁)·Rhᵀ + Rbh)      linear_before_reset = 0
 *   ĥ = g(Xh + r⊙(H₋₁·Rhᵀ + Rbh))      linear_before_reset ≠ 0
 *   H = (1 − z)⊙ĥ + z⊙H₋₁
 * with X· = Xt·Wᵀ + Wb (+ Rb for z and r), H· = H₋₁·Rᵀ, each pre-activation clipped to ±clip,
 * and f, g = Sigmoid, Tanh by default. Outputs Y and Y_h.
 */
import type { OpDef } from "../op.js";
import { clamp, inferRecurrent, product, Recurrence, type Cell } from "../kernels/recurrent.js";

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

export const GRU: OpDef = {
  op: "GRU",
  inferTypes: (ctx) => inferRecurrent(ctx, GATES),
  run(inputs, ctx) {
    const rec = new Recurrence(inputs, ctx, GATES, ["Sigmoid", "Tanh"]);
    const h0 = rec.initialState(inputs[5], "initial_h");
    const cell = ctx.attrs.int("linear_before_reset", 0) !== 0 ? linearBeforeResetCell : resetFirstCell;
    return rec.run([h0], (d, [h]) => cell(rec, d, h!));
  },
};
