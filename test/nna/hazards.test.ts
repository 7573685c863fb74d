/**
 * The race check (hazards.ts): hand-written programs with every token in place are race-free;
 * taking one token away makes the check name both instructions, and `verifyNna` (hwac verify)
 * reports it before comparing any output.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assemble, decodeProgram } from "../../backends/nna/index.js";
import { DEFAULT_CONFIG } from "../../backends/nna/config.js";
import { checkRaces, findRace } from "../../backends/nna/hazards.js";
import { FIXTURES } from "../helpers/fixtures.js";
import { thrown } from "./helpers.js";
import { sliceAxis } from "../../src/batch.js";
import { compile } from "../../src/compile.js";
import { loadModel } from "../../src/onnx/load.js";
import { loadCalibrationSets } from "../../src/quant/calib-data.js";
import { verifyNna, type NnaFolder } from "../../src/targets/nna.js";

const source = (name: string) => readFileSync(join(FIXTURES, "nna", name), "utf8");
const program = (text: string) => decodeProgram(assemble(text));

/** `text` with the first occurrence of `from` replaced (which must exist). */
function edit(text: string, from: string, to: string): string {
  expect(text).toContain(from);
  return text.replace(from, to);
}

describe("race check", () => {
  it("finds no race in the hand-written programs", () => {
    for (const name of ["serial.nnas", "double-buffer.nnas", "dense-relu.nnas"]) {
      expect(findRace(program(source(name)), DEFAULT_CONFIG), name).toBeUndefined();
    }
  });

  it("a load that overwrites a buffer a GEMM still reads (write after read) is a race", () => {
    // Tile 2's load no longer waits for the GEMM of tile 0 to free buffer A.
    const text = edit(source("double-buffer.nnas"), "load.inp sram=0 dram=0x0800 y=64 x=1 ystride=16 pop=compute push=compute", "load.inp sram=0 dram=0x0800 y=64 x=1 ystride=16 push=compute");
    const p = program(text);
    expect(findRace(p, DEFAULT_CONFIG)).toBe(
      "#4 `load.inp dram=0x800 y=64 x=1 ystride=16 push=compute` (load queue) writes inp unit 0, which #3 `gemm rows=64 pop=load push=load` (compute queue) read before it in program order, and no chain of tokens orders the two",
    );
    expect(thrown(() => checkRaces(p, DEFAULT_CONFIG)).code).toBe("HW5036");
  });

  it("a GEMM that does not wait for its load (read after write) is a race", () => {
    const text = edit(source("double-buffer.nnas"), "gemm acc=64 inp=64 rows=64 pop=load push=load", "gemm acc=64 inp=64 rows=64 push=load");
    // The token it no longer pops is the next GEMM's: that one now starts before its own load ends.
    expect(findRace(program(text), DEFAULT_CONFIG)).toMatch(/^#\d+ `gemm acc=\d+ inp=\d+ rows=64 .*` \(compute queue\) reads inp unit \d+, which #\d+ `load.inp .*` \(load queue\) wrote before it/);
  });

  it("an output buffer rewritten before its store drained it (write after read through out) is a race", () => {
    const text = source("dense-relu.nnas");
    const p = program(text);
    const store = p.insns.findIndex((i) => i.op === "store");
    // A second requantization into the same out bytes after the store, with no token from the store.
    const requant = p.insns.findIndex((i) => i.op === "vec" && i.dstMem === "out");
    const racy = { ...p, insns: [...p.insns.slice(0, store + 1), { ...p.insns[requant]!, deps: { popPrev: false, popNext: false, pushPrev: false, pushNext: false } }, ...p.insns.slice(store + 1)] };
    expect(findRace(racy, DEFAULT_CONFIG)).toMatch(new RegExp(`^#${store + 1} \`vec.requant .*\` \\(compute queue\\) writes out unit 0, which #${store} \`store .*\` \\(store queue\\) read before it`));
  });
});

describe("verifyNna checks races before outputs", () => {
  it("a compiled program verifies; the same program with one load's token wait removed reports the race", () => {
    const dir = join(FIXTURES, "trained", "digits-cnn");
    const model = loadModel(join(dir, "model.onnx"));
    const sets = loadCalibrationSets([join(dir, "calib")], model).sets.map((s) => new Map([...s].map(([k, t]) => [k, sliceAxis(t, 0, 0, 4)])));
    const c = compile(model, sets, { target: "nna", evaluation: { sets: [sets[0]!] } });
    const folder: NnaFolder = { model: c.program.model, program: decodeProgram(c.files.get("model.nnab") as Uint8Array), config: DEFAULT_CONFIG, batching: c.batching, probes: JSON.parse(c.files.get("model.probes.json") as string) };
    const ok = verifyNna(folder, sets[0]!);
    expect([ok.race, ok.difference, ok.items]).toEqual([undefined, undefined, 4]);
    // The first load that waits for a token from compute stops waiting.
    const at = folder.program.insns.findIndex((i) => i.op === "load" && i.deps.popNext);
    expect(at).toBeGreaterThan(0);
    const insns = folder.program.insns.map((i, k) => (k === at ? { ...i, deps: { ...i.deps, popNext: false } } : i));
    const r = verifyNna({ ...folder, program: { ...folder.program, insns } }, sets[0]!);
    // That load (the next layer's first) no longer waits for the relay of the previous layer's
    // store: its step's loads read DRAM bytes the store writes.
    expect(r.race).toMatch(/^#\d+ `load\.inp .*` \(load queue\) reads dram unit \d+, which #\d+ `store .*` \(store queue\) wrote before it/);
    expect(r.items).toBe(0);
  });
});
