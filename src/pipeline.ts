/**
 * The compile as explicit lists of named passes, each a pure Model → Model function.
 * `PREPARE_PASSES` turns an imported float model into a static float program ready for
 * quantization; `staticize` derives its options from calibration inputs as the CLI does.
 */
import { isFloat } from "../ir/dtype.js";
import { HwacError } from "../ir/errors.js";
import { isStatic, type Model } from "../ir/graph.js";
import { numel, shapeStr, type Tensor } from "../ir/tensor.js";
import { floatRounding, formatFloat } from "../ir/text/numbers.js";
import { verifyModel } from "../ir/verify.js";
import { bindInputShapes } from "./passes/bind-input-shapes.js";
import { checkStatic } from "./passes/check-static.js";
import { foldBatchNorm } from "./passes/fold-batchnorm.js";
import { foldConstants } from "./passes/fold-constants.js";
import { freezeInputs, type FrozenValue } from "./passes/freeze-inputs.js";
import { recordShapes } from "./passes/record-shapes.js";
import { removeDead } from "./passes/remove-dead.js";

/** What the passes are told by the user: `--input-shape name=1x3x48x320`, `--freeze name=value`. */
export interface PassOptions {
  readonly inputShapes?: ReadonlyMap<string, readonly number[]>;
  readonly freeze?: ReadonlyMap<string, FrozenValue>;
}

export interface Pass {
  /** The name `--stop-after` and `--print-ir-after` use. */
  readonly name: string;
  readonly run: (model: Model, opts: PassOptions) => Model;
}

export const PREPARE_PASSES: readonly Pass[] = [
  // Freezing first settles branches, so a branch not taken is never type-checked at the bound shapes.
  { name: "freeze-inputs", run: (m, o) => freezeInputs(m, o.freeze ?? new Map()) },
  { name: "bind-shapes", run: (m, o) => bindInputShapes(m, o.inputShapes ?? new Map()) },
  { name: "fold-constants", run: foldConstants },
  { name: "fold-batchnorm", run: foldBatchNorm },
  { name: "remove-dead", run: removeDead },
  { name: "check-static", run: checkStatic },
  { name: "record-shapes", run: recordShapes },
];

export interface PipelineOptions extends PassOptions {
  /** Return the IR as it is after this pass. */
  readonly stopAfter?: string;
  /** Called with the IR after every pass (the CLI prints the one `--print-ir-after` names). */
  readonly printIrAfter?: (pass: string, model: Model) => void;
  /** Verify the IR before the first pass and after each one: a pass producing invalid IR is a bug. */
  readonly verify?: boolean;
}

export function runPipeline(model: Model, passes: readonly Pass[], opts: PipelineOptions = {}): Model {
  const { stopAfter } = opts;
  if (stopAfter !== undefined && !passes.some((p) => p.name === stopAfter)) {
    const names = passes.map((p) => p.name).join(", ");
    throw new HwacError("HW6006", `there is no pass '${stopAfter}'; the passes are ${names}`);
  }
  if (opts.verify) verifyModel(model);
  let m = model;
  for (const pass of passes) {
    m = pass.run(m, opts);
    if (opts.verify) verifyAfter(pass.name, m);
    opts.printIrAfter?.(pass.name, m);
    if (pass.name === stopAfter) break;
  }
  return m;
}

function verifyAfter(pass: string, m: Model): void {
  try {
    verifyModel(m);
  } catch (e) {
    const why = e instanceof HwacError ? e.format() : String(e);
    throw new Error(`pass '${pass}' produced IR that does not verify: ${why}`, { cause: e });
  }
}

export interface StaticizeOptions extends PipelineOptions {
  /** Calibration inputs by input name: they bind the dims not given and freeze constant scalars. */
  readonly calibrationSets?: readonly ReadonlyMap<string, Tensor>[];
  /**
   * Freeze and fold, but leave dynamic dimensions dynamic (a quantized ONNX export keeps its
   * `batch`); only a compiled program must be static.
   */
  readonly keepDynamic?: boolean;
}

/** The passes that make dimensions static, skipped with `keepDynamic`. */
const STATIC_ONLY: ReadonlySet<string> = new Set(["bind-shapes", "check-static", "record-shapes"]);

/**
 * Runs `PREPARE_PASSES` with the rules for options not given explicitly: an input's
 * dynamic dims take the shape it has in the calibration sets (which must agree), and a
 * one-element input equal over all calibration sets is frozen to that value, with a notice.
 */
export function staticize(model: Model, opts: StaticizeOptions = {}): { model: Model; notices: string[] } {
  const sets = opts.calibrationSets ?? [];
  const inputShapes = new Map(opts.inputShapes ?? []);
  const freeze = new Map(opts.freeze ?? []);
  const notices: string[] = [];
  for (const { name, type } of model.graph.inputs) {
    const seen = sets.map((s) => s.get(name));
    const first = seen.find((t) => t !== undefined);
    if (!first || freeze.has(name)) continue;
    if (seen.every((t) => t && isScalar(t) && sameValue(t, first))) {
      freeze.set(name, first);
      const n = sets.length;
      notices.push(`froze input '${name}' = ${spell(first)} (constant over ${n} calibration set${n === 1 ? "" : "s"})`);
      continue;
    }
    if (opts.keepDynamic || inputShapes.has(name) || isStatic(type.shape)) continue;
    seen.forEach((t, k) => {
      if (!t || shapeStr(t.shape) === shapeStr(first.shape)) return;
      throw new HwacError(
        "HW2033",
        `input '${name}' is ${shapeStr(first.shape)} in calibration set ${seen.indexOf(first)} but ${shapeStr(t.shape)} in set ${k}; ` +
          `give the shape to compile for with --input-shape ${name}=${first.shape.join("x")}`,
        { file: model.source },
      );
    });
    inputShapes.set(name, first.shape);
  }
  const passes = opts.keepDynamic ? PREPARE_PASSES.filter((p) => !STATIC_ONLY.has(p.name)) : PREPARE_PASSES;
  return { model: runPipeline(model, passes, { ...opts, inputShapes, freeze }), notices };
}

/** A scalar or one-element vector: the kind of input that selects a branch. */
function isScalar(t: Tensor): boolean {
  return t.shape.length <= 1 && numel(t.shape) === 1;
}

/** The one element, as the IR text spells it (`0.1` for float32 0.1). */
function spell(t: Tensor): string {
  const v = t.data[0]!;
  return typeof v === "number" && isFloat(t.dtype) ? formatFloat(v, floatRounding(t.dtype)) : String(v);
}

function sameValue(a: Tensor, b: Tensor): boolean {
  return a.dtype === b.dtype && shapeStr(a.shape) === shapeStr(b.shape) && a.data[0] === b.data[0];
}
