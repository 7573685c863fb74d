/**
 * RNN (ONNX): H = f(Xt·Wᵀ + H₋₁·Rᵀ + Wb + Rb), f = Tanh by default, the pre-activation clipped
 * to ±clip. Outputs Y (every step's H) and Y_h (the last).
 */
import type { OpDef } from "../op.js";
import { clamp, inferRecurrent, product, Recurrence, type Cell } from "../kernels/recurrent.js";

function rnnCell(rec: Recurrence, d: number, h: Float32Array): Cell {
  const { batch, hidden: n, clip } = rec;
  const f = rec.activations[d]![0]!;
  const r = rec.recurrenceWeights(d);
  const hr = new Float32Array(batch * n);
  const recur = product(h, r, hr, batch, n, n);
  return {
    inputBias: rec.summedBias(d),
    step(xw, rows) {
      recur();
      for (let b = 0; b < batch; b++) {
        const row = rows[b]!;
        if (row < 0) continue;
        const o = b * n;
        for (let j = 0; j < n; j++) h[o + j] = f(clamp(xw[row + j]! + hr[o + j]!, clip));
      }
    },
  };
}

export const RNN: OpDef = {
  op: "RNN",
  inferTypes: (ctx) => inferRecurrent(ctx, 1),
  run(inputs, ctx) {
    const rec = new Recurrence(inputs, ctx, 1, ["Tanh"]);
    const h0 = rec.initialState(inputs[5], "initial_h");
    return rec.run([h0], (d, [h]) => rnnCell(rec, d, h!));
  },
};
