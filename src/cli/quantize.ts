/** `hwac quantize`: calibrate, quantize, report, and write the quantized model as QDQ ONNX. */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { HwacError } from "../../ir/errors.js";
import type { Model } from "../../ir/graph.js";
import { toNumbers, type Tensor } from "../../ir/tensor.js";
import { writeFileAtomic } from "../fsutil.js";
import { readInputs } from "../io.js";
import { loadModel } from "../onnx/load.js";
import { encodeModel } from "../onnx/save.js";
import { readTensorFile } from "../onnx/tensor-proto.js";
import { calibrateCached } from "../quant/calib-cache.js";
import { CALIBRATION_FORMAT } from "../quant/calibrate.js";
import { fromQdq } from "../quant/qdq-import.js";
import { loadCalibrationSets } from "../quant/calib-data.js";
import { quantize, type Quantized, type QuantizeOptions } from "../quant/index.js";
import { mixedPrecision } from "../quant/mixed.js";
import { toQdq } from "../quant/qdq-export.js";
import { compareModels, layerRows, reportDb, type Comparison } from "../quant/report.js";
import { VERSION } from "../version.js";
import { progress } from "./progress.js";
import {
  addQuantOptions,
  configFrom,
  freezeFrom,
  inputShapesFrom,
  percentileFrom,
  weightFormat,
  type QuantCliOptions,
} from "./quant-options.js";

export interface QuantizeCliOptions extends QuantCliOptions {
  output?: string;
  report?: string;
  eval?: string;
  labels?: string;
  targetSqnr?: string;
  sizeBudget?: string;
  lowWeights: string;
  json?: boolean;
}

function defaultCacheDir(): string {
  return join(process.env["XDG_CACHE_HOME"] || join(homedir(), ".cache"), "hwac");
}

/** Everything `quantize`, `run --quantized` and `compile` need from the flags: one place. */
export function quantizeFromCli(file: string, o: QuantCliOptions & Partial<QuantizeCliOptions>, staticProgram: boolean) {
  const model = loadModel(file);
  const imported = fromQdq(model);
  if (imported) return importedFromCli(model, imported, o);
  if (!o.calib?.length) throw new HwacError("HW6011", "quantization needs calibration inputs: give --calib <dir>");
  const data = loadCalibrationSets(o.calib, model);
  const passOpts = { inputShapes: inputShapesFrom(o), freeze: freezeFrom(o) };
  const modelHash = createHash("sha256")
    .update(readFileSync(file))
    .update(JSON.stringify([VERSION, staticProgram, [...passOpts.inputShapes], [...passOpts.freeze]]))
    .digest("hex");
  let cached = false;
  const config = configFrom(o);
  const opts: QuantizeOptions = {
    ...passOpts,
    config,
    percentile: percentileFrom(o),
    static: staticProgram,
    calibration: (prepared: Model) => {
      const r = calibrateCached(prepared, data, modelHash, o.cache ? (o.cacheDir ?? defaultCacheDir()) : undefined);
      cached = r.cached;
      return r.result;
    },
  };
  let mixed: ReturnType<typeof mixedPrecision> | undefined;
  let q: Quantized;
  if (o.targetSqnr !== undefined || o.sizeBudget !== undefined) {
    const target = o.targetSqnr === undefined ? undefined : Number(o.targetSqnr);
    const budget = o.sizeBudget === undefined ? undefined : Number(o.sizeBudget);
    if (target !== undefined && !Number.isFinite(target)) throw new HwacError("HW6010", `--target-sqnr must be a number of dB`);
    if (budget !== undefined && !(budget > 0)) throw new HwacError("HW6010", `--size-budget must be a positive number of bytes`);
    const low = weightFormat(o.lowWeights ?? "int4").weightBits;
    mixed = mixedPrecision(model, data.sets, opts, { lowBits: low, highBits: config.default.weightBits, targetSqnrDb: target, maxWeightBytes: budget });
    q = mixed.quantized;
  } else {
    q = quantize(model, data.sets, opts);
  }
  return { model, data, q, mixed, config: mixed?.config ?? config, cached: () => cached };
}

/**
 * A model quantized elsewhere (QDQ pairs, QLinear ops) keeps its scales: no calibration. Its
 * float reference is the QDQ graph itself run in float (fake quantization).
 */
function importedFromCli(model: Model, imported: Model, o: QuantCliOptions) {
  const quantizedValues = new Map<string, string>();
  for (const [name, t] of imported.graph.valueTypes) if (t.quant && !imported.graph.initializers.has(name)) quantizedValues.set(name, name);
  const calibration = { format: CALIBRATION_FORMAT, bins: 0, sets: 0, values: {}, channelMeans: {} };
  const q: Quantized = {
    model: imported,
    float: model,
    layers: [],
    fallbacks: [],
    quantizedValues,
    fusedClamps: new Map(),
    calibration,
    notices: ["the model is already quantized: its scales and zero points are kept, no calibration ran"],
  };
  const data = { sets: o.calib?.length ? loadCalibrationSets(o.calib, model).sets : [], dirs: [], hash: "" };
  return { model, data, q, mixed: undefined, config: configFrom(o), cached: () => false };
}

export function readLabels(path: string): number[] {
  return toNumbers(readTensorFile(path).tensor);
}

/** The per-layer report: scheme, SQNR per layer and output, accuracy, fallbacks. */
export function buildReport(
  file: string,
  q: Quantized,
  cmp: Comparison,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  return {
    hwac: VERSION,
    model: file,
    notices: q.notices,
    layers: layerRows(q.layers, q.float, cmp),
    fallbacks: q.fallbacks,
    outputs: cmp.outputs.map((o) => ({ name: o.name, sqnrDb: reportDb(o.sqnrDb), top1Agreement: o.top1Agreement })),
    accuracy: cmp.accuracy ?? null,
    ...extra,
  };
}

export function formatReport(r: Record<string, unknown>): string {
  const layers = r["layers"] as { node: string; op: string; weightBits: number | null; actBits: number; sqnrDb: number | string | null; clipped: number | null }[];
  const w = Math.max(5, ...layers.map((l) => l.node.length));
  const lines = [`${"layer".padEnd(w)}  ${"op".padEnd(12)}  w  a   SQNR dB  clipped`];
  for (const l of layers) {
    const sq = typeof l.sqnrDb === "number" ? l.sqnrDb.toFixed(1) : l.sqnrDb === null ? "—" : l.sqnrDb;
    const clip = l.clipped === null ? "" : `${(l.clipped * 100).toFixed(2)}%`;
    lines.push(`${l.node.padEnd(w)}  ${l.op.padEnd(12)}  ${String(l.weightBits ?? "-").padStart(1)} ${String(l.actBits).padStart(2)}  ${sq.padStart(8)}  ${clip.padStart(7)}`);
  }
  for (const f of r["fallbacks"] as { node: string; op: string; reason: string }[]) lines.push(`float: ${f.node} (${f.op}): ${f.reason}`);
  for (const o of r["outputs"] as { name: string; sqnrDb: number | string; top1Agreement: number }[]) {
    lines.push(`output ${o.name}: SQNR ${typeof o.sqnrDb === "number" ? o.sqnrDb.toFixed(2) : o.sqnrDb} dB, top-1 agreement ${(o.top1Agreement * 100).toFixed(2)}%`);
  }
  const acc = r["accuracy"] as Comparison["accuracy"] | null;
  if (acc) lines.push(`accuracy: float ${(acc.float * 100).toFixed(2)}%, quantized ${(acc.quantized * 100).toFixed(2)}% (n=${acc.n})`);
  for (const n of r["notices"] as string[]) lines.push(`note: ${n}`);
  return lines.join("\n");
}

/** Evaluation sets and labels from --eval/--labels (default: the calibration sets, no labels). */
export function evaluationSets(model: Model, o: Partial<QuantizeCliOptions>, calib: Map<string, Tensor>[]) {
  if (o.labels && !o.eval) throw new HwacError("HW6011", "--labels needs --eval <dir> with the inputs they label");
  const sets = o.eval ? [readInputs(o.eval, model)] : calib;
  const labels = o.labels ? [readLabels(o.labels)] : undefined;
  return { sets, labels };
}

export function registerQuantize(program: Command, out: (s: string) => void): void {
  addQuantOptions(
    program
      .command("quantize")
      .description("calibrate and quantize a model; write it as QDQ ONNX with a per-layer report")
      .argument("<model>", "ONNX model file"),
  )
    .requiredOption("-o, --output <file>", "quantized model to write (QDQ ONNX)")
    .option("--report <file>", "JSON report (default: <output>.report.json)")
    .option("--eval <dir>", "inputs to measure SQNR and accuracy on (default: the calibration inputs)")
    .option("--labels <file>", "labels.pb (int64 class per row) for task accuracy on --eval")
    .option("--target-sqnr <dB>", "mixed precision: lower the least sensitive layers' weights while the output SQNR stays above this")
    .option("--size-budget <bytes>", "mixed precision: lower layers until the weights fit this many bytes")
    .option("--low-weights <format>", "width of lowered layers in mixed precision", "int4")
    .option("--json", "print the report as JSON")
    .option("--quiet", "print nothing but errors")
    .action((file: string, o: QuantizeCliOptions & { quiet?: boolean }) => {
      const stages = progress("quantize", o.quiet === true || o.json === true);
      stages.stage("calibrate and quantize");
      const { model, data, q, mixed, config, cached } = quantizeFromCli(file, o, false);
      stages.stage("measure");
      const { sets, labels } = evaluationSets(model, o, data.sets);
      const cmp = compareModels(q.float, q.model, q.quantizedValues, sets, labels, q.fusedClamps);
      const qdq = toQdq(q.model);
      const report = buildReport(file, q, cmp, {
        config,
        calibration: { sets: data.sets.length, cached: cached() },
        mixedPrecision: mixed ? { lowered: mixed.lowered, sensitivity: mixed.sensitivity, outputSqnrDb: mixed.outputSqnrDb } : null,
        qdqNearestForm: qdq.nearest,
      });
      const reportPath = o.report ?? o.output!.replace(/\.onnx$/, "") + ".report.json";
      writeFileAtomic(o.output!, encodeModel(qdq.model));
      writeFileAtomic(reportPath, JSON.stringify(report, null, 2) + "\n");
      stages.done();
      if (o.quiet) return;
      out(o.json ? JSON.stringify(report, null, 2) + "\n" : formatReport(report) + "\n");
    });
}
