import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  levels, loadConfig, parseConfig, parseNoiseList, profileConfig, withNoise,
} from "../../backends/aimc/config.js";

describe("AIMC config", () => {
  it("standard is aihwkit's StandardHWATrainingPreset with PCMLikeNoiseModel", () => {
    const c = profileConfig("standard");
    expect(c.profile).toBe("standard");
    expect(c.tile).toEqual({ rows: 512, cols: 512, count: 256 });
    expect([c.dac.bits, c.dac.bound, c.adc.bits, c.adc.bound]).toEqual([8, 1, 8, 10]);
    expect([levels(c.dac.bits), 2 * levels(c.adc.bits)]).toEqual([127, 254]); // inp_res, out_res 254
    expect(c.conductance).toEqual({ gMax: 25, mapping: "differential-pair" });
    expect(c.programming.coeffs).toEqual([0.26348, 1.965, -1.1731]);
    expect(c.drift).toEqual({
      t0: 20,
      nuMean: { slope: -0.0155, intercept: 0.0244, min: 0.049, max: 0.1 },
      nuStd: { slope: -0.0125, intercept: -0.0059, min: 0.008, max: 0.045 },
      compensation: true,
    });
    expect([c.readNoise.wNoise, c.outNoise.sigma, c.irDrop.factor, c.tInference]).toEqual([0.0175, 0.04, 1, 3600]);
    expect(c.irDrop.gRatio).toBeCloseTo(571428.571, 3);
    expect(Object.values(c.noise).every(Boolean)).toBe(true);
  });

  it("exact is noiseless with 8-bit converters and refuses noise", () => {
    const c = profileConfig("exact");
    expect(Object.values(c.noise).some(Boolean)).toBe(false);
    expect(c.drift.compensation).toBe(false);
    expect(parseConfig({ profile: "exact", tile: { count: 4 } }).tile.count).toBe(4);
    expect(() => parseConfig({ profile: "exact", noise: { read: true } })).toThrow(
      expect.objectContaining({ code: "HW5101", message: expect.stringMatching(/noise.read is on; use profile custom/) }),
    );
    expect(() => parseConfig({ profile: "exact", adc: { bits: 10 } })).toThrow(/8-bit converters/);
  });

  it("custom starts from standard; fields override", () => {
    const c = parseConfig({ adc: { bound: 12 }, noise: { irdrop: false }, tInference: 86400 });
    expect(c.profile).toBe("custom");
    expect([c.adc.bits, c.adc.bound, c.noise.irdrop, c.noise.read, c.tInference]).toEqual([8, 12, false, true, 86400]);
  });

  it("reports invalid fields with their path", () => {
    expect(() => parseConfig({ tile: { rows: 0 } })).toThrow(expect.objectContaining({ code: "HW5101", message: expect.stringMatching(/^AIMC config tile.rows:/) }));
    expect(() => parseConfig({ profile: "fast" })).toThrow(/profile:/);
    expect(() => parseConfig({ drift: { nuMean: { min: 0.2 } } })).toThrow(/drift.nuMean: min 0.2 exceeds max 0.1/);
  });

  it("loads JSON files (--aimc-config)", () => {
    const dir = mkdtempSync(join(tmpdir(), "aimc-"));
    writeFileSync(join(dir, "a.json"), JSON.stringify({ profile: "standard", tInference: 1 }));
    writeFileSync(join(dir, "bad.json"), "{ nope");
    expect(loadConfig(join(dir, "a.json")).tInference).toBe(1);
    expect(() => loadConfig(join(dir, "bad.json"))).toThrow(expect.objectContaining({ code: "HW5101", message: expect.stringMatching(/is not JSON/) }));
    expect(() => loadConfig(join(dir, "missing.json"))).toThrow(/cannot be read/);
  });

  it("switches non-idealities one by one (--aimc-noise)", () => {
    expect(parseNoiseList("prog,drift")).toEqual({ prog: true, read: false, out: false, drift: true, irdrop: false });
    expect(parseNoiseList("none")).toEqual({ prog: false, read: false, out: false, drift: false, irdrop: false });
    expect(() => parseNoiseList("prog,shot")).toThrow(expect.objectContaining({ code: "HW5102", message: expect.stringMatching(/unknown non-ideality 'shot'/) }));
    expect(() => parseNoiseList("")).toThrow(/empty list/);
    const std = profileConfig("standard");
    expect(withNoise(std, parseNoiseList("prog,read,out,drift,irdrop")).profile).toBe("standard");
    const some = withNoise(std, parseNoiseList("read"));
    expect([some.profile, some.noise.read, some.noise.prog]).toEqual(["custom", true, false]);
    expect(withNoise(profileConfig("exact"), parseNoiseList("none")).profile).toBe("exact");
  });
});
