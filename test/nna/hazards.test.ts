/**
 * The race check (hazards.ts): hand-written programs with every token in place are race-free;
 * taking one token away makes the check name both instructions.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assemble, decodeProgram } from "../../backends/nna/index.js";
import { DEFAULT_CONFIG } from "../../backends/nna/config.js";
import { checkRaces, findRace } from "../../backends/nna/hazards.js";
import { FIXTURES } from "../helpers/fixtures.js";
import { thrown } from "./helpers.js";

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
