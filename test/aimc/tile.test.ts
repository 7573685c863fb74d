import { describe, expect, it } from "vitest";
import { parseNoiseList, profileConfig, withNoise, type AimcConfig } from "../../backends/aimc/config.js";
import {
  compensationFactor, converters, mvm, programBlock, weightsAt, type BlockId,
} from "../../backends/aimc/tile.js";
import { philox4x32_10 } from "../../backends/aimc/rng.js";
import { clamp, roundHalfEven } from "../../ir/numeric.js";

const DAY = 86_400;
const id: BlockId = { layer: 2, block: 1 };

/** Deterministic integers in [−range, range] (Philox on a counter, key 99). */
function codes(n: number, range: number, stream: number): Int8Array {
  const out = new Int8Array(n);
  const word = new Uint32Array(4);
  for (let k = 0; k < n; k++) {
    philox4x32_10([k, stream, 0, 0], [99, 0], word);
    out[k] = (word[0]! % (2 * range + 1)) - range;
  }
  return out;
}

function run(c: AimcConfig, w: Float64Array, rows: number, cols: number, x: Float64Array, seed: number, mvmIndex = 0, inference = 0): Int32Array {
  const out = new Int32Array(cols);
  mvm(w, rows, cols, x, out, c, converters(c, 127), seed, id, { mvm: mvmIndex, inference });
  return out;
}

describe("exact profile", () => {
  const c = profileConfig("exact");

  it("programs the codes exactly", () => {
    const q = codes(300 * 200, 127, 1);
    const pb = programBlock(q, 300, 200, 127, c, 5, id);
    expect(Array.from(weightsAt(pb, 3600, c, 5))).toEqual(Array.from(q));
  });

  it("gives ADC codes clamp(roundHalfEven(acc / 1270), ±127)", () => {
    const rows = 300;
    const cols = 200;
    const q = codes(rows * cols, 127, 2);
    const w = weightsAt(programBlock(q, rows, cols, 127, c, 5, id), 0, c, 5);
    for (const range of [10, 127]) {
      const x = Float64Array.from(codes(rows, range, 3 + range));
      const got = run(c, w, rows, cols, x, 5);
      for (let i = 0; i < cols; i++) {
        let acc = 0;
        for (let j = 0; j < rows; j++) acc += q[j * cols + i]! * x[j]!;
        expect(got[i]).toBe(clamp(roundHalfEven(acc / 1270), -127, 127) | 0);
      }
    }
  });

  it("rounds ties to even and saturates", () => {
    // One row: acc = w·127 = 635 (0.5 → 0), 1905 (1.5 → 2), −3175 (−2.5 → −2), 16129 (12.7 → 13), and 2·16129 clips.
    const w = Float64Array.of(5, 15, -25, 127);
    expect(Array.from(run(c, w, 1, 4, Float64Array.of(127), 0))).toEqual([0, 2, -2, 13]);
    const tall = new Float64Array(20).fill(127);
    expect(Array.from(run(c, tall, 20, 1, new Float64Array(20).fill(127), 0))).toEqual([127]);
  });
});

describe("noisy tiles", () => {
  const rows = 128;
  const cols = 96;
  const q = codes(rows * cols, 127, 4);
  const inputs = Array.from({ length: 200 }, (_, m) => Float64Array.from(codes(rows, 40, 100 + m)));

  it("global drift compensation restores mean |Y| when only drift is on", () => {
    const c = withNoise(profileConfig("standard"), parseNoiseList("drift"));
    const pb = programBlock(q, rows, cols, 127, c, 11, id);
    const w0 = weightsAt(pb, 0, c, 11);
    const wt = weightsAt(pb, DAY, c, 11);
    const alpha = compensationFactor(pb, wt, DAY, c, 11);
    let ref = 0;
    let now = 0;
    for (const x of inputs) {
      for (const v of run(c, w0, rows, cols, x, 11)) ref += Math.abs(v);
      for (const v of run(c, wt, rows, cols, x, 11)) now += Math.abs(v);
    }
    expect(now / ref).toBeLessThan(0.8); // a day of drift costs about a third
    expect(Math.abs((alpha * now) / ref - 1)).toBeLessThan(0.02);
    expect(compensationFactor(pb, wt, DAY, { ...c, drift: { ...c.drift, compensation: false } }, 11)).toBe(1);
  });

  it("is reproducible under a seed whatever the order of the MVMs", () => {
    const c = profileConfig("standard");
    const pb = programBlock(q, rows, cols, 127, c, 21, id);
    const w = weightsAt(pb, 3600, c, 21);
    const forward = inputs.slice(0, 8).map((x, m) => run(c, w, rows, cols, x, 21, m, 3));
    const backward = inputs.slice(0, 8).map((x, m) => [m, x] as const).reverse()
      .map(([m, x]) => run(c, w, rows, cols, x, 21, m, 3)).reverse();
    expect(backward).toEqual(forward);
    const again = weightsAt(programBlock(q, rows, cols, 127, c, 21, id), 3600, c, 21);
    expect(Buffer.from(again.buffer).equals(Buffer.from(w.buffer))).toBe(true);
    const other = weightsAt(programBlock(q, rows, cols, 127, c, 22, id), 3600, c, 22);
    expect(Buffer.from(other.buffer).equals(Buffer.from(w.buffer))).toBe(false);
    expect(run(c, w, rows, cols, inputs[0]!, 22, 0, 3)).not.toEqual(forward[0]);
  });

  it("programming noise perturbs the weights around their codes", () => {
    const c = withNoise(profileConfig("standard"), parseNoiseList("prog"));
    const w = weightsAt(programBlock(q, rows, cols, 127, c, 31, id), 0, c, 31);
    let bias = 0;
    let unchanged = 0;
    for (let k = 0; k < q.length; k++) {
      bias += w[k]! - q[k]!;
      if (w[k] === q[k] && q[k] !== 0) unchanged++;
    }
    expect(unchanged).toBe(0); // a zero code stays 0 only when both devices clamp at 0
    // Per cell σ ≈ 1 µS ≈ 5 codes; the zero-clamped G− of positive weights adds +0.4·0.2635 µS on average.
    expect(Math.abs(bias / q.length)).toBeLessThan(1);
  });
});
