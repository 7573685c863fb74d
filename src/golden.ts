/**
 * Golden-output regression suites. A case is a folder with `case.json` — the model, calibration
 * and test inputs, compile options, targets and thresholds — and, once recorded, `expected/<target>/`
 * with the program's output codes (`output_N.pb`) and `stats.json` (a digest of every layer's
 * codes under the integer reference, per-layer and output SQNR against the float model, cycles or
 * tiles). `check` recompiles and re-simulates each case and compares: integers bit for bit, float
 * outputs by the SQNR thresholds of the case, and the statistics; a difference names the case,
 * target, output, first differing element and the first layer whose codes changed.
 *
 * case.json:
 *   { "model": "../model.onnx", "calib": ["calib"], "inputs": "test_data_set_0",
 *     "targets": ["nna", "aimc"], "options": { "weights": "int4", "inputShape": { "x": [1, 64] } },
 *     "aimc": { "seed": 0, "t": 3600, "noise": "none" }, "thresholds": { "sqnrDb": 25 } }
 * Paths are relative to the case folder.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { z } from "zod";
import { HwacError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import { runQuantized } from "../ir/interpret.js";
import type { Tensor } from "../ir/tensor.js";
import { parseNoiseList, profileConfig, withNoise } from "../backends/aimc/config.js";
import { splitItems, type Batching } from "./batch.js";
import { compileQuantized, type Compiled } from "./compile.js";
import { configFrom } from "./cli/quant-options.js";
import { writeDirAtomic } from "./fsutil.js";
import { outputFiles, readInputs } from "./io.js";
import { loadModel } from "./onnx/load.js";
import { readTensorFile } from "./onnx/tensor-proto.js";
import { TARGETS, type Target } from "./program-dir.js";
import { loadCalibrationSets } from "./quant/calib-data.js";
import { DEFAULT_SCHEME } from "./quant/config.js";
import { quantize } from "./quant/index.js";
import { readAimcFolder, simulateAimcFolder } from "./targets/aimc.js";
import { readNnaFolder, simulateNna } from "./targets/nna.js";
import { firstDifference } from "./targets/verify.js";

const caseSchema = z.strictObject({
  model: z.string(),
  calib: z.array(z.string()).min(1),
  inputs: z.string(),
  targets: z.array(z.enum(TARGETS)).min(1),
  options: z
    .strictObject({
      weights: z.string().optional(),
      acts: z.string().optional(),
      calibration: z.string().optional(),
      perChannel: z.boolean().optional(),
      weightClip: z.string().optional(),
      rounding: z.string().optional(),
      seed: z.number().int().min(0).optional(),
      inputShape: z.record(z.string(), z.array(z.number().int().positive())).optional(),
    })
    .prefault({}),
  aimc: z.strictObject({ seed: z.number().int().min(0).default(0), t: z.number().min(0).default(0), noise: z.string().default("none") }).prefault({}),
  thresholds: z.strictObject({ sqnrDb: z.number().default(20) }).prefault({}),
});
export type CaseSpec = z.infer<typeof caseSchema>;

export interface GoldenCase {
  name: string;
  dir: string;
  spec: CaseSpec;
}

const CASE_FILE = "case.json";

function readCase(dir: string): GoldenCase {
  const file = join(dir, CASE_FILE);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new HwacError("HW6040", `${CASE_FILE} cannot be read as JSON: ${(e as Error).message}`, { file });
  }
  const r = caseSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new HwacError("HW6040", `${CASE_FILE} ${issue.path.join(".") || "(top level)"}: ${issue.message}`, { file });
  }
  return { name: dir.split(/[\\/]/).filter(Boolean).pop()!, dir, spec: r.data };
}

/** The cases of a suite: the folder itself when it holds case.json, else its sub-folders that do. */
export function readSuite(dir: string): GoldenCase[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new HwacError("HW6040", `golden suite '${dir}' does not exist`, { file: dir });
  if (existsSync(join(dir, CASE_FILE))) return [readCase(dir)];
  const cases = readdirSync(dir).sort().map((d) => join(dir, d)).filter((d) => existsSync(join(d, CASE_FILE))).map(readCase);
  if (cases.length === 0) throw new HwacError("HW6040", `golden suite '${dir}' has no case folder (a folder with ${CASE_FILE})`, { file: dir });
  return cases;
}

export interface LayerStat {
  layer: string;
  value: string;
  /** SHA-256 (16 hex digits) of the value's codes over every item, under the integer reference. */
  digest: string;
  sqnrDb: number | string | null;
}

export interface CaseStats {
  outputs: { name: string; sqnrDb: number | string }[];
  layers: LayerStat[];
  /** nna: cycles and utilization of one item; aimc: tiles and utilization. */
  target: Record<string, number | null>;
}

export interface CaseRun {
  compiled: Compiled;
  /** The program's output codes on the case inputs, by output name. */
  codes: Map<string, Tensor>;
  stats: CaseStats;
}

/** Digests of every quantized value the program graph computes, in graph order. */
function layerDigests(model: Model, batching: Batching, feeds: ReadonlyMap<string, Tensor>, sqnr: ReadonlyMap<string, number | string>): LayerStat[] {
  const hashes = new Map<string, ReturnType<typeof createHash>>();
  for (const item of splitItems(model, batching, feeds)) {
    const all = runQuantized(model, item, { keepAll: true });
    for (const n of model.graph.nodes) {
      const v = n.outputs[0];
      const t = v ? all.get(v) : undefined;
      if (!t || !model.graph.valueTypes.get(v!)?.quant) continue;
      const h = hashes.get(v!) ?? createHash("sha256");
      h.update(new Uint8Array((t.data as Int8Array).buffer, (t.data as Int8Array).byteOffset, (t.data as Int8Array).byteLength));
      hashes.set(v!, h);
    }
  }
  return model.graph.nodes.flatMap((n) => {
    const h = hashes.get(n.outputs[0] ?? "");
    return h ? [{ layer: n.name, value: n.outputs[0]!, digest: h.digest("hex").slice(0, 16), sqnrDb: sqnr.get(n.name) ?? null }] : [];
  });
}

/** Compiles the case for `target` into a temporary folder, reads it back and runs it on the case inputs. */
export function runCase(c: GoldenCase, target: Target): CaseRun {
  const s = c.spec;
  const model = loadModel(resolve(c.dir, s.model));
  const calib = loadCalibrationSets(s.calib.map((d) => resolve(c.dir, d)), model);
  const feeds = readInputs(resolve(c.dir, s.inputs), model);
  const o = s.options;
  const config = configFrom({
    weights: o.weights ?? "int8", acts: o.acts ?? "int8", perChannel: o.perChannel ?? true, calibration: o.calibration ?? "mse",
    weightClip: o.weightClip ?? "auto", rounding: o.rounding ?? DEFAULT_SCHEME.rounding, seed: String(o.seed ?? 0), cache: false,
  });
  const inputShapes = new Map(Object.entries(o.inputShape ?? {}));
  const q = quantize(model, calib.sets, { config, inputShapes, static: false });
  const compiled = compileQuantized(q, calib.sets, { target, inputShapes, aimcConfig: profileConfig("standard"), evaluation: { sets: [feeds] } });
  const dir = mkdtempSync(join(tmpdir(), "hwac-golden-"));
  try {
    writeDirAtomic(join(dir, "p"), compiled.files);
    let codes: Map<string, Tensor>;
    const t: Record<string, number | null> = {};
    if (target === "nna") {
      const f = readNnaFolder(join(dir, "p"));
      const r = simulateNna(f, feeds, { raw: true });
      codes = r.outputs;
      const st = compiled.report["nna"] as Record<string, number | null>;
      Object.assign(t, { cycles: st["cycles"]!, utilization: st["utilization"]! });
    } else {
      const f = readAimcFolder(join(dir, "p"));
      const config = withNoise(f.config, parseNoiseList(s.aimc.noise));
      codes = simulateAimcFolder(f, feeds, { config, seed: s.aimc.seed, t: s.aimc.t, raw: true });
      const st = compiled.report["aimc"] as Record<string, number | null>;
      Object.assign(t, { tiles: st["tilesUsed"]!, utilization: st["utilization"]! });
    }
    const sqnrOf = new Map((compiled.report["quantization"] as { node: string; sqnrDb: number | string }[]).map((l) => [l.node, l.sqnrDb]));
    const stats: CaseStats = {
      outputs: (compiled.report["outputs"] as { name: string; sqnrDb: number | string }[]).map((x) => ({ name: x.name, sqnrDb: x.sqnrDb })),
      layers: layerDigests(compiled.program.model, compiled.batching, feeds, sqnrOf),
      target: t,
    };
    return { compiled, codes, stats };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function expectedDir(c: GoldenCase, target: Target): string {
  return join(c.dir, "expected", target);
}

/** Writes the case's expected files for every target (replacing them). */
export function recordCase(c: GoldenCase): void {
  for (const target of c.spec.targets) {
    const r = runCase(c, target);
    const files = outputFiles(r.compiled.program.model, r.codes);
    files.set("stats.json", new TextEncoder().encode(JSON.stringify(r.stats, null, 1) + "\n"));
    writeDirAtomic(expectedDir(c, target), files);
  }
}

export interface CaseCheck {
  case: string;
  target: Target;
  /** Empty when the case passes. */
  problems: string[];
}

const num = (v: number | string | null | undefined) => (typeof v === "number" ? v.toFixed(2) : String(v));

/** Recompiles and re-simulates the case; compares with its expected files. */
export function checkCase(c: GoldenCase): CaseCheck[] {
  return c.spec.targets.map((target) => {
    const problems: string[] = [];
    const exp = expectedDir(c, target);
    if (!existsSync(join(exp, "stats.json"))) return { case: c.name, target, problems: [`no expected results: run \`hwac golden record\``] };
    const r = runCase(c, target);
    const before = JSON.parse(readFileSync(join(exp, "stats.json"), "utf8")) as CaseStats;
    const model = r.compiled.program.model;
    const firstChanged = r.stats.layers.find((l) => before.layers.find((b) => b.value === l.value)?.digest !== l.digest);
    model.graph.outputs.forEach((o, i) => {
      const file = join(exp, `output_${i}.pb`);
      const want = existsSync(file) ? readTensorFile(file).tensor : undefined;
      const got = r.codes.get(o.name)!;
      const d = want ? firstDifference(got, want) : { element: -1, index: [], got: NaN, want: NaN };
      if (!d) return;
      const layer = firstChanged ? `; the first layer whose codes changed is '${firstChanged.layer}'` : "";
      const at = d.element < 0 ? "has another shape or is missing" : `first differs at element ${d.element} [${d.index.join(", ")}]: now ${d.got}, expected ${d.want}`;
      problems.push(`output '${o.name}' ${at}${layer}`);
    });
    for (const l of r.stats.layers) {
      const b = before.layers.find((x) => x.value === l.value);
      if (!b) problems.push(`layer '${l.layer}' is new`);
      else if (b.digest !== l.digest) problems.push(`layer '${l.layer}' codes changed (SQNR ${num(b.sqnrDb)} → ${num(l.sqnrDb)} dB)`);
    }
    for (const b of before.layers) if (!r.stats.layers.some((l) => l.value === b.value)) problems.push(`layer '${b.layer}' is gone`);
    for (const o of r.stats.outputs) {
      if (typeof o.sqnrDb === "number" && o.sqnrDb < c.spec.thresholds.sqnrDb) {
        problems.push(`output '${o.name}': SQNR ${o.sqnrDb.toFixed(2)} dB against float is below the case's ${c.spec.thresholds.sqnrDb} dB`);
      }
    }
    for (const [k, v] of Object.entries(r.stats.target)) {
      if (before.target[k] !== v) problems.push(`${k}: ${before.target[k]} → ${v}`);
    }
    return { case: c.name, target, problems };
  });
}

export function formatChecks(checks: readonly CaseCheck[]): string {
  return checks
    .map((k) => (k.problems.length === 0 ? `ok    ${k.case} (${k.target})` : `FAIL  ${k.case} (${k.target})\n${k.problems.map((p) => `      ${p}`).join("\n")}`))
    .join("\n");
}
