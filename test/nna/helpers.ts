/** Shared by the NNA tests: seeded integers, data literals, running assembly, catching HwacErrors. */
import { assemble, decodeProgram, simulate, type SimResult } from "../../backends/nna/index.js";
import { HwacError } from "../../ir/errors.js";
import { xorshift32 } from "../../ir/numeric.js";
import type { Tensor } from "../../ir/tensor.js";

/** A seeded source of integers uniform in [lo, hi] (a range of at most 2^32 values). */
export function randomInts(seed: number): (lo: number, hi: number) => number {
  let s = seed;
  return (lo, hi) => lo + ((s = xorshift32(s)) % (hi - lo + 1));
}

/** n seeded integers in [lo, hi]. */
export function rand(n: number, seed: number, lo: number, hi: number): number[] {
  const next = randomInts(seed);
  return Array.from({ length: n }, () => next(lo, hi));
}

/** A `.data` list literal. */
export const list = (a: ArrayLike<number>) => `[${Array.from(a).join(",")}]`;

/** Assembles, encodes and decodes `text`, then simulates it on the default machine. */
export function run(text: string, inputs?: Record<string, Tensor>): SimResult {
  return simulate(decodeProgram(assemble(text)), inputs ? { inputs } : {});
}

/** The HwacError `f` throws. */
export function thrown(f: () => unknown): HwacError {
  try {
    f();
  } catch (e) {
    if (e instanceof HwacError) return e;
    throw e;
  }
  throw new Error("expected a HwacError");
}
