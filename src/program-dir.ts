/**
 * The program folder's manifest (`program.json`): which target the folder is for, the hwac
 * version that wrote it, and the shapes it was compiled for. Readers check it before anything
 * else, so a folder of another kind or version fails with one clear message.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { HwacError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";
import { readInputFiles } from "./io.js";
import { parseModel } from "../ir/text/index.js";
import type { Batching } from "./batch.js";
import { VERSION } from "./version.js";

export const TARGETS = ["nna", "aimc"] as const;
export type Target = (typeof TARGETS)[number];

export const MANIFEST = "program.json";
const FORMAT = "hwac-program";

const manifestSchema = z.strictObject({
  format: z.literal(FORMAT),
  version: z.literal(1),
  hwac: z.string(),
  target: z.enum(TARGETS),
  inputs: z.record(z.string(), z.array(z.number().int().min(0))),
  /** The source model's inputs in file order (input_N.pb); those frozen at compile time are read and left out. */
  sourceInputs: z.array(z.string()),
  /** The batch axis of each input and output that has one (src/batch.ts). */
  batch: z.strictObject({
    inputs: z.record(z.string(), z.number().int().min(0)),
    outputs: z.record(z.string(), z.number().int().min(0)),
  }),
});
export type Manifest = z.infer<typeof manifestSchema>;

export function manifestText(m: { target: Target; inputs: ReadonlyMap<string, readonly number[]>; sourceInputs: readonly string[]; batching: Batching }): string {
  const doc: Manifest = {
    format: FORMAT, version: 1, hwac: VERSION, target: m.target,
    inputs: Object.fromEntries(m.inputs) as Record<string, number[]>,
    sourceInputs: [...m.sourceInputs],
    batch: { inputs: { ...m.batching.inputs }, outputs: { ...m.batching.outputs } },
  };
  return JSON.stringify(doc, null, 1) + "\n";
}

/** A file of the program folder, or HW6021 naming what is missing. */
export function programFile(dir: string, name: string): string {
  const path = join(dir, name);
  if (!existsSync(path)) throw new HwacError("HW6021", `the program folder has no ${name}; was it written by \`hwac compile\`?`, { file: dir });
  return path;
}

export function readManifest(dir: string): Manifest {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new HwacError("HW6021", `program folder '${dir}' does not exist`, { file: dir });
  const path = programFile(dir, MANIFEST);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new HwacError("HW6021", `${MANIFEST} is not JSON: ${(e as Error).message}`, { file: path });
  }
  const r = manifestSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new HwacError("HW6021", `${MANIFEST} ${issue.path.join(".") || "(top level)"}: ${issue.message}`, { file: path });
  }
  return r.data;
}

/**
 * The program's inputs from a folder of `input_N.pb` in the source model's order: file N feeds
 * the source model's input N, and inputs frozen at compile time (a sample rate) are left out.
 */
export function readProgramInputs(dir: string, inputsDir: string, program: Model): Map<string, Tensor> {
  const wanted = new Set(program.graph.inputs.map((i) => i.name));
  const feeds = readInputFiles(inputsDir, readManifest(dir).sourceInputs);
  for (const name of [...feeds.keys()]) if (!wanted.has(name)) feeds.delete(name);
  return feeds;
}

/** The quantized graph the program implements (`model.hir`). */
export function readProgramModel(dir: string): Model {
  const path = programFile(dir, "model.hir");
  return parseModel(readFileSync(path, "utf8"), path);
}
