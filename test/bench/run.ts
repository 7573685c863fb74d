/**
 * `npm run bench`: hwac's speed beside onnxruntime-node, measured in the same run on the same
 * models and inputs. Prints one JSON document; ratios > 1 mean hwac is slower.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { runModel } from "../../ir/interpret.js";
import type { Model } from "../../ir/graph.js";
import type { Tensor } from "../../ir/tensor.js";
import { nodeMacs } from "../../src/cost.js";
import { readInputs } from "../../src/io.js";
import { loadModel } from "../../src/onnx/load.js";

const FIXTURES = fileURLToPath(new URL("../../../fixtures/", import.meta.url));

/** Median wall time in ms of `fn` over enough repetitions to fill about `budgetMs`. */
async function time(fn: () => unknown | Promise<unknown>, budgetMs = 1500, maxReps = 50): Promise<number> {
  const t0 = performance.now();
  await fn(); // warm-up
  const first = performance.now() - t0;
  const reps = Math.max(3, Math.min(maxReps, Math.floor(budgetMs / Math.max(first, 1e-3))));
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    await fn();
    samples.push(performance.now() - s);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

function macsOf(model: Model, feeds: Map<string, Tensor>): number {
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

function ortFeeds(model: Model, feeds: Map<string, Tensor>): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const decl of model.graph.inputs) {
    const t = feeds.get(decl.name)!;
    const type = t.dtype === "float32" ? "float32" : t.dtype === "int64" ? "int64" : t.dtype;
    out[decl.name] = new ort.Tensor(type as "float32", t.data as Float32Array, [...t.shape]);
  }
  return out;
}

async function benchModel(group: string, name: string) {
  const dir = join(FIXTURES, group, name);
  const file = join(dir, "model.onnx");
  const bytes = readFileSync(file).length;
  const readMs = await time(() => readFileSync(file));
  const loadMs = await time(() => loadModel(file));
  const model = loadModel(file);
  const feeds = readInputs(join(dir, "test_data_set_0"), model);
  const macs = macsOf(model, feeds);
  const runMs = await time(() => runModel(model, feeds));

  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 2, graphOptimizationLevel: "all" });
  const of = ortFeeds(model, feeds);
  const ortRunMs = await time(() => session.run(of));
  const ortLoadMs = await time(() => ort.InferenceSession.create(file, { graphOptimizationLevel: "all" }), 1500, 10);
  return {
    model: `${group}/${name}`,
    bytes,
    load: { hwacMs: loadMs, readFileMs: readMs, ratioToRead: loadMs / readMs, onnxruntimeSessionMs: ortLoadMs },
    floatInference: {
      macs,
      hwacMs: runMs,
      hwacMacPerS: macs / (runMs / 1000),
      onnxruntimeMs: ortRunMs,
      onnxruntimeMacPerS: macs / (ortRunMs / 1000),
      ratio: runMs / ortRunMs,
    },
  };
}

async function main() {
  const results = [];
  // The largest fixture file, and the fixture with the most arithmetic.
  for (const [group, name] of [
    ["real", "silero_vad_v5"],
    ["real", "oww_embedding_model"],
    ["real", "ppocr_cls_mobile_v2"],
  ] as const) {
    results.push(await benchModel(group, name));
  }
  const doc = {
    node: process.version,
    cpus: (await import("node:os")).cpus().length,
    onnxruntimeThreads: 2,
    results,
  };
  process.stdout.write(JSON.stringify(doc, null, 2) + "\n");
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e) + "\n");
  process.exitCode = 2;
});
