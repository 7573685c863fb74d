/** Timing, MAC counting and ONNX Runtime sessions shared by the benchmark entries. */
import * as ort from "onnxruntime-node";
import { runModel } from "../../ir/interpret.js";
import type { Graph, Model } from "../../ir/graph.js";
import { numel, type Tensor } from "../../ir/tensor.js";
import { nodeMacs } from "../../src/cost.js";

/** Threads onnxruntime may use for inference (the machine the numbers are compared on has 2 cores). */
export const ORT_THREADS = 2;

/**
 * Median wall time in ms of `fn` over enough repetitions to fill about `budgetMs`, after one
 * warm-up call; at least `minReps` and at most `maxReps` timed calls.
 */
export async function time(fn: () => unknown | Promise<unknown>, budgetMs = 1500, maxReps = 50, minReps = 3): Promise<number> {
  const t0 = performance.now();
  await fn();
  const first = performance.now() - t0;
  const reps = Math.max(minReps, Math.min(maxReps, Math.floor(budgetMs / Math.max(first, 1e-3))));
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    await fn();
    samples.push(performance.now() - s);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

/** Wall time in ms of one call: for steps too slow to repeat (calibration, quantization). */
export function once<T>(fn: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = fn();
  return { ms: performance.now() - t0, value };
}

/** Multiply-accumulates of one float run of `model` on `feeds`, from the shapes the run produced. */
export function macsOf(model: Model, feeds: ReadonlyMap<string, Tensor>): number {
  let macs = 0;
  runModel(model, feeds, {
    onNode(node, outputs, inputs) {
      const shapes = new Map<string, readonly number[]>();
      node.inputs.forEach((n, i) => inputs[i] && shapes.set(n, inputs[i]!.shape));
      node.outputs.forEach((n, i) => outputs[i] && shapes.set(n, outputs[i]!.shape));
      macs += nodeMacs(node, (n) => shapes.get(n));
    },
  });
  return macs;
}

/**
 * Elements of a graph's constant tensors: initializers and Constant nodes' values (exporters use
 * either), in If/Loop bodies too.
 */
export function weightCount(g: Graph): number {
  let n = 0;
  for (const t of g.initializers.values()) n += numel(t.shape);
  for (const node of g.nodes) {
    for (const a of Object.values(node.attrs)) {
      if (a.kind === "tensor" && node.op === "Constant") n += numel(a.value.shape);
      else if (a.kind === "graph") n += weightCount(a.value);
      else if (a.kind === "graphs") for (const sub of a.value) n += weightCount(sub);
    }
  }
  return n;
}

/** `feeds` for the graph inputs of `model`, as onnxruntime tensors. */
export function ortFeeds(model: Model, feeds: ReadonlyMap<string, Tensor>): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const decl of model.graph.inputs) {
    const t = feeds.get(decl.name)!;
    out[decl.name] = new ort.Tensor(t.dtype as "float32", t.data as Float32Array, [...t.shape]);
  }
  return out;
}

/** An onnxruntime session with full graph optimization, from a file or from model bytes. */
export function ortSession(source: string | Uint8Array, threads: number | undefined = ORT_THREADS): Promise<ort.InferenceSession> {
  const opts: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: "all", ...(threads ? { intraOpNumThreads: threads } : {}) };
  // create's overloads take a path or bytes, not their union.
  return typeof source === "string" ? ort.InferenceSession.create(source, opts) : ort.InferenceSession.create(source, opts);
}

/** The speeds of one inference in hwac and in onnxruntime on the same inputs; ratio > 1: hwac is slower. */
export function speeds(macs: number, hwacMs: number, onnxruntimeMs: number) {
  return {
    macs,
    hwacMs,
    hwacMacPerS: macs / (hwacMs / 1000),
    onnxruntimeMs,
    onnxruntimeMacPerS: macs / (onnxruntimeMs / 1000),
    ratio: hwacMs / onnxruntimeMs,
  };
}
