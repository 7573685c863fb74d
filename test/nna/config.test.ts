/** The machine configuration: SPEC.md §3 defaults, JSON validation, a hash independent of key order. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configHash, DEFAULT_CONFIG, geometry, loadConfig, parseConfig } from "../../backends/nna/index.js";

describe("nna config", () => {
  it("defaults to SPEC.md §3", () => {
    expect(DEFAULT_CONFIG).toEqual({
      name: "nna-default",
      clockHz: 1e9,
      gemm: { blockIn: 16, blockOut: 16 },
      scratchpad: { inpBytes: 65536, wgtBytes: 262144, accBytes: 65536, outBytes: 65536, lutEntries: 4096 },
      dma: { bytesPerCycle: 32, setupCycles: 64 },
      vector: { lanes: 16 },
      dramMaxBytes: 2 ** 31,
    });
    expect(geometry(DEFAULT_CONFIG)).toEqual({
      vecBytes: 16, blockBytes: 256, lanes: 16, inpVectors: 4096, wgtBlocks: 1024, accVectors: 1024, outBytes: 65536, lutEntries: 4096,
    });
  });

  it("fills what a file leaves out, section by section", () => {
    const c = parseConfig({ dma: { setupCycles: 100 }, scratchpad: { accBytes: 32768 } });
    expect(c.dma).toEqual({ bytesPerCycle: 32, setupCycles: 100 });
    expect(geometry(c).accVectors).toBe(512);
  });

  it("refuses bad values with the JSON path", () => {
    const cases: [unknown, string][] = [
      [{ gemm: { blockIn: 0 } }, "NNA config gemm.blockIn: Too small: expected number to be >0"],
      [{ dma: { bytesPerCycle: 1.5 } }, "NNA config dma.bytesPerCycle: Invalid input: expected int, received number"],
      [{ gemm: { blockIn: 15 } }, "NNA config gemm.blockIn: must be even (int4 inputs pack two per byte)"],
      [{ scratchpad: { outBytes: 131072 } }, "NNA config scratchpad.outBytes: at most 65536 address units (16-bit address fields), got 131072"],
      [{ scratchpad: { inpBytes: 100 } }, "NNA config scratchpad.inpBytes: must be a whole number of its address unit"],
      [{ scratchpad: { lutEntries: 512 } }, "NNA config scratchpad.lutEntries: must hold one 513-entry table"],
      [{ vectors: { lanes: 8 } }, 'NNA config (top level): Unrecognized key: "vectors"'],
    ];
    for (const [json, message] of cases) {
      expect(() => parseConfig(json), message).toThrow(message);
    }
  });

  it("reads JSON files; unreadable or invalid files are HW5001 naming the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "nna-config-"));
    const good = join(dir, "nna.json");
    writeFileSync(good, JSON.stringify({ name: "small", scratchpad: { wgtBytes: 65536 } }));
    expect(geometry(loadConfig(good)).wgtBlocks).toBe(256);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ name: ");
    expect(() => loadConfig(bad)).toThrow(/the NNA config is not JSON/);
    expect(() => loadConfig(join(dir, "missing.json"))).toThrow(/cannot read the NNA config/);
    let error: unknown;
    try {
      loadConfig(bad);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: "HW5001", where: { file: bad } });
  });

  it("hashes the defaulted config, whatever the key order", () => {
    expect(configHash(DEFAULT_CONFIG)).toBe("9c0e984276b2912a");
    expect(configHash(parseConfig({ dma: { setupCycles: 64, bytesPerCycle: 32 }, name: "nna-default" }))).toBe("9c0e984276b2912a");
    expect(configHash(parseConfig({ dma: { setupCycles: 65 } }))).not.toBe("9c0e984276b2912a");
  });
});
