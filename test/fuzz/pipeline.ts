/**
 * The pipeline a downloaded model goes through (decode → verify → run), with the one rule the
 * fuzz properties check: every input ends in a result or a HwacError. Running is limited to
 * graphs whose every value is small and static, so a mutated graph cannot make the harness
 * itself allocate gigabytes or loop for ages.
 */
import { allocate, isBigInt, type DType } from "../../ir/dtype.js";
import { HwacError } from "../../ir/errors.js";
import { isStatic, type Graph, type Model, type TensorType } from "../../ir/graph.js";
import { runModel } from "../../ir/interpret.js";
import { numel, type Tensor } from "../../ir/tensor.js";
import { verifyModel } from "../../ir/verify.js";
import { decodeModel } from "../../src/onnx/load.js";

/** Small enough that a fuzzed declaration cannot exhaust memory before the limit check fires. */
export const FUZZ_LIMITS = { maxTensorElements: 1 << 20, maxNodes: 5000 } as const;

/** Largest value (in elements) a fuzzed graph may compute when it is run. */
const MAX_RUN_ELEMENTS = 1 << 16;

export type Stage = "decode-error" | "verify-error" | "run-error" | "verified" | "ran";

/** Where the pipeline stopped, and the error's code when it stopped on one. */
export interface Outcome {
  readonly stage: Stage;
  readonly code?: string;
}

/** Runs `fn`; a HwacError is a clean outcome, anything else escapes and fails the property. */
function clean<T>(fn: () => T): T | HwacError {
  try {
    return fn();
  } catch (e) {
    if (e instanceof HwacError) return e;
    throw e;
  }
}

export function decodeBytes(bytes: Uint8Array): Model | HwacError {
  return clean(() => decodeModel(bytes, { file: "fuzz.onnx", baseDir: "/nonexistent-fuzz-dir", ...FUZZ_LIMITS }));
}

/** Verifies `model` and runs it on small generated inputs when that is bounded; `seed` picks the input values. */
export function verifyAndRun(model: Model, seed: number): Outcome {
  const inferred = clean(() => verifyModel(model));
  if (inferred instanceof HwacError) return { stage: "verify-error", code: inferred.code };
  if (!runnable(model.graph, inferred.types)) return { stage: "verified" };
  const feeds = new Map<string, Tensor>();
  for (const i of model.graph.inputs) feeds.set(i.name, inputFor(i.type, seed));
  const result = clean(() => runModel(model, feeds));
  return result instanceof HwacError ? { stage: "run-error", code: result.code } : { stage: "ran" };
}

export function pipeline(bytes: Uint8Array, seed: number): Outcome {
  const model = decodeBytes(bytes);
  return model instanceof HwacError ? { stage: "decode-error", code: model.code } : verifyAndRun(model, seed);
}

/**
 * Only graphs whose inputs and inferred values are all static and small, and that have no Loop
 * (a fuzzed trip count is a legitimately endless model, not a loader bug).
 */
function runnable(g: Graph, types: ReadonlyMap<string, TensorType>): boolean {
  if (hasOp(g, "Loop")) return false;
  for (const t of [...g.inputs.map((i) => i.type), ...types.values()]) {
    if (!isStatic(t.shape) || numel(t.shape as number[]) > MAX_RUN_ELEMENTS) return false;
  }
  return true;
}

function hasOp(g: Graph, op: string): boolean {
  return g.nodes.some((n) =>
    n.op === op ||
    Object.values(n.attrs).some((a) =>
      (a.kind === "graph" && hasOp(a.value, op)) || (a.kind === "graphs" && a.value.some((s) => hasOp(s, op)))),
  );
}

/** Deterministic small values in [-4, 4] (0/1 for bool): index ops see both valid and out-of-range indices. */
function inputFor(type: TensorType, seed: number): Tensor {
  const shape = type.shape as number[];
  const n = numel(shape);
  const dtype: DType = type.dtype;
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 16) % 9 - 4;
  };
  if (dtype === "string") return { dtype, shape, data: Array.from({ length: n }, () => String(next())) };
  const data = allocate(dtype, n) as Exclude<ReturnType<typeof allocate>, string[]>;
  for (let i = 0; i < n; i++) {
    const v = next();
    if (isBigInt(dtype)) (data as BigInt64Array)[i] = BigInt(dtype === "uint64" ? Math.abs(v) : v);
    else if (dtype === "bool") data[i] = v & 1;
    else if (dtype.startsWith("uint")) data[i] = Math.abs(v);
    else data[i] = dtype.startsWith("float") || dtype === "bfloat16" ? v / 2 : v;
  }
  return { dtype, shape, data };
}
