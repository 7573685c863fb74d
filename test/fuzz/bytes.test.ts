/** Byte-level mutation (bit flips, truncation, splices) of the encoded models: the decoder must never crash. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fuzzParams, StageCount } from "./config.js";
import { byteMutationArb, mutateBytes } from "./mutate.js";
import { pipeline } from "./pipeline.js";
import { NODE_SEEDS, TRAINED_SEEDS } from "./seeds.js";

const SEEDS = [...NODE_SEEDS, ...TRAINED_SEEDS];

describe("byte mutation", () => {
  it("2000 corrupted files end in a result or a HwacError", () => {
    const stages = new StageCount();
    fc.assert(
      fc.property(fc.nat(SEEDS.length - 1), fc.array(byteMutationArb, { minLength: 1, maxLength: 4 }), (i, muts) => {
        stages.add(pipeline(mutateBytes(SEEDS[i]!.bytes, muts), i).stage);
      }),
      fuzzParams(2000, 0xb17e5),
    );
    expect(stages.get("decode-error")).toBeGreaterThan(100);
    expect(stages.get("verify-error") + stages.get("verified") + stages.get("ran")).toBeGreaterThan(100);
  });
});
