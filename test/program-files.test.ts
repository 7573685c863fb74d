/**
 * A compiled program's large files are made while the folder is written: streamed files land
 * whole and in order (text as UTF-8), a failing one leaves no folder behind, the streamed
 * model.hir, float.onnx and model.nnas hold what their readers expect, and the program kept to
 * print model.nnas shares its weights with model.nnab.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { assemble } from "../backends/nna/asm/index.js";
import { decodeProgram, encodeProgramSharing } from "../backends/nna/program.js";
import { parseModel, printModel, printModelPieces } from "../ir/text/index.js";
import { compile } from "../src/compile.js";
import { writeDirAtomic, writeFileAtomic, type FileContent } from "../src/fsutil.js";
import { loadModel } from "../src/onnx/load.js";
import { encodeModel } from "../src/onnx/save.js";
import { loadCalibrationSets } from "../src/quant/calib-data.js";
import { FIXTURES } from "./helpers/fixtures.js";

const tmp = mkdtempSync(join(tmpdir(), "hwac-files-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("streamed files", () => {
  it("are written piece after piece, text as UTF-8", () => {
    const file = join(tmp, "pieces.txt");
    writeFileAtomic(file, { pieces: () => ["a→", Uint8Array.of(0x62, 0x63), "\n", ""] });
    expect(readFileSync(file, "utf8")).toBe("a→bc\n");
  });

  it("leave the previous folder in place when one fails", () => {
    const dir = join(tmp, "folder");
    writeDirAtomic(dir, new Map([["kept.txt", "old"]]));
    const failing = {
      *pieces() {
        yield "part";
        throw new Error("no more");
      },
    };
    expect(() => writeDirAtomic(dir, new Map<string, FileContent>([["a.txt", "new"], ["b.txt", failing]]))).toThrow("no more");
    expect([readFileSync(join(dir, "kept.txt"), "utf8"), existsSync(join(dir, "a.txt"))]).toEqual(["old", false]);
  });
});

describe("a compiled NNA program's folder", () => {
  const fixture = join(FIXTURES, "trained/digits-cnn");
  const model = loadModel(join(fixture, "model.onnx"));
  const c = compile(model, loadCalibrationSets([fixture], model).sets.slice(0, 1), { target: "nna" });
  const dir = join(tmp, "cnn");
  writeDirAtomic(dir, c.files);
  const read = (name: string) => readFileSync(join(dir, name));

  it("model.hir is the program's graph, printed a line at a time", () => {
    const pieces = [...printModelPieces(c.program.model)];
    expect(pieces.every((p) => p.endsWith("\n") && !p.slice(0, -1).includes("\n"))).toBe(true);
    const text = read("model.hir").toString("utf8");
    expect(text).toBe(printModel(c.program.model));
    expect(printModel(parseModel(text))).toBe(text);
  });

  it("float.onnx is the prepared float model", () => {
    expect(read("float.onnx").equals(Buffer.from(encodeModel(c.quantized.float)))).toBe(true);
  });

  it("model.nnas assembles to model.nnab", () => {
    expect(Buffer.from(assemble(read("model.nnas").toString("utf8"))).equals(read("model.nnab"))).toBe(true);
  });

  it("the program kept for printing holds its weight segments in the binary's bytes", () => {
    const decoded = decodeProgram(new Uint8Array(read("model.nnab")));
    const { bytes, program } = encodeProgramSharing(decoded);
    expect(Buffer.from(bytes).equals(read("model.nnab"))).toBe(true);
    expect(program.segments.length).toBeGreaterThan(0);
    expect(program.segments.every((s) => s.data.buffer === bytes.buffer)).toBe(true);
    expect(program.segments.map((s) => Buffer.from(s.data).toString("hex"))).toEqual(decoded.segments.map((s) => Buffer.from(s.data).toString("hex")));
  });
});
