/**
 * Structured mutation of the bundled models: every mutant, decoded, verified and (when small
 * and static) run, ends in a result or a HwacError.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fuzzParams, StageCount } from "./config.js";
import { ABSURD, mutateModel, mutationsArb } from "./mutate.js";
import { pipeline } from "./pipeline.js";
import { NODE_SEEDS, REAL_SEEDS, TRAINED_SEEDS, type Seed } from "./seeds.js";
import { onnx } from "../../src/onnx/proto.js";

function fuzzSeeds(seeds: readonly Seed[], numRuns: number, seed: number): StageCount {
  const stages = new StageCount();
  fc.assert(
    fc.property(fc.nat(seeds.length - 1), mutationsArb, fc.nat(), (i, muts, inputSeed) => {
      stages.add(pipeline(mutateModel(seeds[i]!.bytes, muts), inputSeed).stage);
    }),
    fuzzParams(numRuns, seed),
  );
  return stages;
}

describe("structured mutation", () => {
  it("node-test models: 6000 mutants end in a result or a HwacError", () => {
    const stages = fuzzSeeds(NODE_SEEDS, 6000, 0x5eed1);
    // The mutants must reach every stage, or the property checks only the decoder.
    for (const s of ["decode-error", "verify-error", "run-error", "ran"]) expect(stages.get(s)).toBeGreaterThan(20);
  });

  it("trained models: 1500 mutants end in a result or a HwacError", () => {
    const stages = fuzzSeeds(TRAINED_SEEDS, 1500, 0x5eed2);
    // Their batch dim is symbolic, so mutants are verified but not run.
    expect(stages.get("verified")).toBeGreaterThan(20);
    expect(stages.get("verify-error")).toBeGreaterThan(20);
  });

  it("real models: 600 mutants end in a result or a HwacError", () => {
    const stages = fuzzSeeds(REAL_SEEDS, 600, 0x5eed3);
    expect(stages.get("verify-error")).toBeGreaterThan(20);
    expect(stages.get("verified") + stages.get("ran")).toBeGreaterThan(20);
  });

  it("huge declared tensor sizes fail fast with HW1006/HW1007, before any allocation", () => {
    const huge = ABSURD.filter((v) => v < 0 || v >= 2 ** 31);
    const start = performance.now();
    fc.assert(
      fc.property(fc.nat(TRAINED_SEEDS.length - 1), fc.nat(), fc.constantFrom(...huge), (i, which, v) => {
        const mp = onnx.ModelProto.decode(TRAINED_SEEDS[i]!.bytes);
        const inits = mp.graph!.initializer!;
        const tp = inits[which % inits.length]!;
        tp.dims = [...(tp.dims ?? []), v, v];
        const out = pipeline(onnx.ModelProto.encode(mp).finish(), 0);
        expect(out.stage).toBe("decode-error");
        expect(["HW1006", "HW1007"]).toContain(out.code);
      }),
      fuzzParams(300, 0x5eed4),
    );
    // 300 decodes of models under 1 MB: seconds at most, where one real allocation would take minutes or crash.
    expect(performance.now() - start).toBeLessThan(30_000);
  });
});
