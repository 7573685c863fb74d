/** Every fuzz finding kept under fixtures/fuzz/ ends in the HwacError its README line names. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIXTURES } from "../helpers/fixtures.js";
import { pipeline } from "./pipeline.js";

const DIR = join(FIXTURES, "fuzz");
const NOTES = [...readFileSync(join(DIR, "README.md"), "utf8").matchAll(/^- `([^`]+)` (HW\d{4}|-):/gm)];

describe("fuzz regressions", () => {
  it("every case file has a note and every note a file", () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith(".onnx")).sort();
    expect(NOTES.map((m) => m[1]).sort()).toEqual(files);
  });

  it.each(NOTES.map((m) => [m[1]!, m[2]!]))("%s ends in %s", (file, code) => {
    const out = pipeline(new Uint8Array(readFileSync(join(DIR, file))), 0);
    if (code === "-") expect(out.code).toBeUndefined();
    else expect(out.code).toBe(code);
  });
});
