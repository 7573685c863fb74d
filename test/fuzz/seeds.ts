/** The models the fuzzer starts from: every bundled trained and real model, and a fixed sample of the node tests. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES } from "../helpers/fixtures.js";

export interface Seed {
  readonly name: string;
  readonly bytes: Uint8Array;
}

function modelsIn(folder: string, every = 1): Seed[] {
  const dir = join(FIXTURES, folder);
  return readdirSync(dir)
    .sort()
    .filter((d, i) => i % every === 0 && existsSync(join(dir, d, "model.onnx")))
    .map((d) => ({ name: `${folder}/${d}`, bytes: new Uint8Array(readFileSync(join(dir, d, "model.onnx"))) }));
}

/** Every 8th node test: about 60 models across the op set, chosen by sorted name so the sample is stable. */
export const NODE_SEEDS = modelsIn("onnx-node", 8);
export const TRAINED_SEEDS = modelsIn("trained");
export const REAL_SEEDS = modelsIn("real");

export const HIR_SEEDS: Seed[] = readdirSync(join(FIXTURES, "hir"))
  .sort()
  .map((f) => ({ name: `hir/${f}`, bytes: new Uint8Array(readFileSync(join(FIXTURES, "hir", f))) }));
