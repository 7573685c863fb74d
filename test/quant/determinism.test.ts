/**
 * Same model, inputs, options and seed → byte-identical quantized model and report, also across
 * separate processes; another seed changes the stochastically rounded weights.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { FIXTURES } from "../helpers/fixtures.js";

const BIN = fileURLToPath(new URL("../../bin/hwac.js", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "hwac-det-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function quantize(out: string, seed: number): { model: Buffer; report: Buffer } {
  const dir = join(FIXTURES, "trained", "digits-cnn");
  execFileSync(process.execPath, [
    BIN, "quantize", join(dir, "model.onnx"), "--calib", join(dir, "calib"), "--weights", "int4",
    "--rounding", "stochastic", "--seed", String(seed), "--no-cache", "-o", join(tmp, `${out}.onnx`), "--json",
  ]);
  return { model: readFileSync(join(tmp, `${out}.onnx`)), report: readFileSync(join(tmp, `${out}.report.json`)) };
}

describe("reproducible quantization", () => {
  it("gives byte-identical files from separate processes, and different weights for another seed", () => {
    const a = quantize("a", 7);
    const b = quantize("b", 7);
    const c = quantize("c", 8);
    expect(b.model.equals(a.model)).toBe(true);
    expect(b.report.equals(a.report)).toBe(true);
    expect(c.model.equals(a.model)).toBe(false);
  });
});
