/**
 * `compile`: a float model and calibration inputs in, a program for one target out — the files
 * of its folder and its report. The stages: quantize (calibrating on every set, dimensions kept
 * dynamic), bind the program's static shapes, lower for the target, and measure the program
 * against the float model on the calibration (or evaluation) sets, item by item.
 *
 * A program folder holds `program.json` (what it is), `model.hir` (the quantized graph the
 * program implements: the integer reference `hwac verify` compares with), `float.onnx` (the
 * prepared float model, for drift reports), `config.json` (the machine), `report.json`, and the
 * target's files (nna: `model.nnab`, `model.nnas`; aimc: `mapping.json`, `weights.bin`).
 */
import { HwacError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import { shapeStr, type Tensor } from "../ir/tensor.js";
import { printModelPieces } from "../ir/text/index.js";
import type { AimcConfig } from "../backends/aimc/config.js";
import type { NnaConfig } from "../backends/nna/config.js";
import { splitItems, type Batching } from "./batch.js";
import type { FileContent } from "./fsutil.js";
import { modelPieces } from "./onnx/save.js";
import { staticize } from "./pipeline.js";
import { quantize, type Quantized, type QuantizeOptions } from "./quant/index.js";
import { compareModels, layerRows, reportDb, type Comparison } from "./quant/report.js";
import { MANIFEST, manifestText, type Target } from "./program-dir.js";
import { compileAimc } from "./targets/aimc.js";
import { compileNna } from "./targets/nna.js";
import { VERSION } from "./version.js";

export interface CompileOptions extends Omit<QuantizeOptions, "static"> {
  target: Target;
  /** The NNA machine (default: SPEC.md §3's). */
  nnaConfig?: NnaConfig;
  /** The AIMC chip (default: the standard model of SPEC.md §4). */
  aimcConfig?: AimcConfig;
  /** Sets to measure the program on (default: the calibration sets), with labels per set for task accuracy. */
  evaluation?: { sets: readonly ReadonlyMap<string, Tensor>[]; labels?: readonly (readonly number[])[] };
  /** The source model's input names in file order (default: the quantized model's float inputs). */
  sourceInputs?: readonly string[];
  /** Called with each stage's name as it starts (progress display). */
  onStage?: (stage: string) => void;
}

/** What a target's compiler returns. */
export interface TargetProgram {
  /** The graph the program implements, run by the integer reference. */
  model: Model;
  /** Target files by name. */
  files: Map<string, FileContent>;
  /** Target statistics for report.json. */
  stats: Record<string, unknown>;
  notices: string[];
}

export interface Compiled {
  target: Target;
  /** The batch axes of the program's inputs and outputs (program.json). */
  batching: Batching;
  quantized: Quantized;
  program: TargetProgram;
  comparison: Comparison;
  report: Record<string, unknown>;
  /** The program folder's files, by name; the large ones (float.onnx, model.hir, model.nnas) are made as they are written. */
  files: Map<string, FileContent>;
  notices: string[];
}

/**
 * The shapes a program is compiled for, and its batch axes. An input's batch axis is its first
 * symbolic dimension (wherever it sits); it becomes 1 — larger batches run item by item — unless
 * `--input-shape` gives the shape. Every other symbolic dimension takes the calibration sets'
 * value, which must agree. An output's batch axis is the dimension named like an input's batch.
 */
export function programShapes(
  model: Model,
  sets: readonly ReadonlyMap<string, Tensor>[],
  given: ReadonlyMap<string, readonly number[]> = new Map(),
): { shapes: Map<string, number[]>; batching: Batching } {
  const shapes = new Map<string, number[]>();
  const inputs: Record<string, number> = {};
  const symbols = new Set<string>();
  for (const name of given.keys()) {
    if (!model.graph.inputs.some((i) => i.name === name)) {
      throw new HwacError("HW6010", `--input-shape names '${name}', but the model's inputs are ${model.graph.inputs.map((i) => `'${i.name}'`).join(", ")}`, { file: model.source });
    }
  }
  for (const { name, type } of model.graph.inputs) {
    const declared = type.shape;
    const batch = declared ? declared.findIndex((d) => typeof d === "string") : -1;
    if (batch >= 0) {
      inputs[name] = batch;
      symbols.add(declared![batch] as string);
    }
    const g = given.get(name);
    if (g) {
      shapes.set(name, [...g]);
      continue;
    }
    const seen = sets.map((s) => s.get(name)).filter((t): t is Tensor => t !== undefined);
    if (!declared) {
      if (seen.length === 0) throw new HwacError("HW2033", `input '${name}' has no declared shape and no calibration value; give --input-shape ${name}=…`);
      shapes.set(name, [...seen[0]!.shape]);
      continue;
    }
    shapes.set(name, declared.map((d, i) => {
      if (typeof d === "number") return d;
      if (i === batch) return 1;
      const values = new Set(seen.map((t) => t.shape[i]));
      if (values.size !== 1) {
        const example = declared.map((e, j) => (typeof e === "number" ? e : j === batch ? 1 : (seen[0]?.shape[j] ?? "N"))).join("x");
        throw new HwacError(
          "HW2033",
          `dimension ${i} ('${d}') of input '${name}' is ${[...values].join(" and ")} across the calibration sets; ` +
            `give the shape to compile for with --input-shape ${name}=${example}`,
          { file: model.source },
        );
      }
      return [...values][0]!;
    }));
  }
  const outputs: Record<string, number> = {};
  for (const o of model.graph.outputs) {
    const axis = o.type.shape?.findIndex((d) => typeof d === "string" && symbols.has(d)) ?? -1;
    if (axis >= 0) outputs[o.name] = axis;
  }
  return { shapes, batching: { inputs, outputs } };
}

/** Whether a set can run on the program (item by item). */
function fitsProgram(program: Model, batching: Batching, set: ReadonlyMap<string, Tensor>): boolean {
  try {
    splitItems(program, batching, set);
    return true;
  } catch (e) {
    if (e instanceof HwacError && e.code === "HW3012") return false;
    throw e;
  }
}

/** Each set cut into the program's items, with the labels cut the same way. */
export function itemize(
  program: Model,
  batching: Batching,
  sets: readonly ReadonlyMap<string, Tensor>[],
  labels?: readonly (readonly number[])[],
): { sets: ReadonlyMap<string, Tensor>[]; labels?: number[][] } {
  const items: ReadonlyMap<string, Tensor>[] = [];
  const itemLabels: number[][] = [];
  sets.forEach((s, k) => {
    const parts = splitItems(program, batching, s);
    items.push(...parts);
    const lab = labels?.[k];
    if (lab) {
      const per = lab.length / parts.length;
      parts.forEach((_, i) => itemLabels.push(lab.slice(i * per, (i + 1) * per)));
    }
  });
  return labels ? { sets: items, labels: itemLabels } : { sets: items };
}

export function compile(model: Model, calibrationSets: readonly ReadonlyMap<string, Tensor>[], opts: CompileOptions): Compiled {
  opts.onStage?.("quantize");
  const sourceInputs = opts.sourceInputs ?? model.graph.inputs.map((i) => i.name);
  return compileQuantized(quantize(model, calibrationSets, { ...opts, static: false }), calibrationSets, { ...opts, sourceInputs });
}

/** Compiles a model quantized before (by `quantize`, or imported from QDQ) for the target. */
export function compileQuantized(q: Quantized, calibrationSets: readonly ReadonlyMap<string, Tensor>[], opts: CompileOptions): Compiled {
  const stage = opts.onStage ?? (() => {});
  stage("bind shapes");
  const { shapes, batching } = programShapes(q.float, calibrationSets, opts.inputShapes);
  const program = staticize(q.model, { inputShapes: shapes }).model;
  stage(`lower for ${opts.target}`);
  const target = opts.target === "nna" ? compileNna(program, opts.nnaConfig) : compileAimc(program, opts.aimcConfig);
  stage("measure");
  const given = opts.evaluation?.sets ?? calibrationSets;
  const fits = given.map((s) => fitsProgram(target.model, batching, s));
  if (!fits.some((f) => f)) throw new HwacError("HW3012", `no evaluation set fits the program's input shapes (${[...shapes].map(([n, s]) => `${n}: ${shapeStr(s)}`).join(", ")})`);
  const skipped = fits.flatMap((f, k) => (f ? [] : [k]));
  const evalSets = given.filter((_, k) => fits[k]);
  const evalLabels = opts.evaluation?.labels?.filter((_, k) => fits[k]);
  const items = itemize(target.model, batching, evalSets, evalLabels);
  const comparison = compareModels(q.float, target.model, q.quantizedValues, items.sets, items.labels, q.fusedClamps);
  const notices = [...q.notices, ...target.notices];
  if (skipped.length) notices.push(`evaluation set(s) ${skipped.join(", ")} do not fit the program's input shapes and were left out of the report`);
  const shapeNotes = [...shapes].map(([n, s]) => `${n}: ${shapeStr(s)}`);
  const report = buildCompileReport(opts.target, q, target, comparison, shapeNotes, notices);
  const files = new Map<string, FileContent>([
    [MANIFEST, manifestText({ target: opts.target, inputs: shapes, sourceInputs: opts.sourceInputs ?? q.float.graph.inputs.map((i) => i.name), batching })],
    ["model.hir", { pieces: () => printModelPieces(target.model) }],
    ["float.onnx", modelPieces(q.float)],
    ["report.json", JSON.stringify(report, null, 1) + "\n"],
    ...target.files,
  ]);
  return { target: opts.target, batching, quantized: q, program: target, comparison, report, files, notices };
}


function buildCompileReport(
  target: Target,
  q: Quantized,
  t: TargetProgram,
  cmp: Comparison,
  shapes: string[],
  notices: string[],
): Record<string, unknown> {
  return {
    hwac: VERSION,
    target,
    shapes,
    notices,
    quantization: layerRows(q.layers, q.float, cmp),
    fallbacks: q.fallbacks,
    outputs: cmp.outputs.map((o) => ({ name: o.name, sqnrDb: reportDb(o.sqnrDb), top1Agreement: o.top1Agreement })),
    accuracy: cmp.accuracy ?? null,
    [target]: t.stats,
  };
}
