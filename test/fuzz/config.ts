/** Shared fast-check settings: a fixed seed so CI replays the same cases, and a wall-clock bound per property. */
import type fc from "fast-check";

export function fuzzParams(numRuns: number, seed: number): fc.Parameters<unknown> {
  return { numRuns, seed, interruptAfterTimeLimit: 40_000, endOnFailure: true };
}

/** Stages each property reached, so a test can require that mutants get past the decoder. */
export class StageCount {
  private readonly counts = new Map<string, number>();

  add(stage: string): void {
    this.counts.set(stage, (this.counts.get(stage) ?? 0) + 1);
  }

  get(stage: string): number {
    return this.counts.get(stage) ?? 0;
  }
}
