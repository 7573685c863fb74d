/**
 * `npm run bench`: hwac's speed beside onnxruntime-node, measured in the same run on the same
 * models and inputs. Prints one JSON document; ratios > 1 mean hwac is slower.
 *
 * Per fixture: ONNX load time against reading the file, float inference, and the quantization
 * flow (calibration, quantization, integer inference against onnxruntime on the QDQ export).
 * With HWAC_BENCH_RESNET=1 a generated ResNet-50 (gen-resnet.ts, 100 MB) adds load and float
 * inference at that size, and its compile for each target with the compile's peak memory.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import type { Model } from "../../ir/graph.js";
import { runModel } from "../../ir/interpret.js";
import type { Tensor } from "../../ir/tensor.js";
import { readInputs } from "../../src/io.js";
import { loadModel } from "../../src/onnx/load.js";
import { macsOf, ORT_THREADS, ortFeeds, ortSession, speeds, time, weightCount } from "./common.js";
import { RESNET_INPUT, resnetImage, writeResnet50 } from "./gen-resnet.js";
import { benchQuantized } from "./quantized.js";
import { benchSweep, benchTargets } from "./targets.js";

const FIXTURES = fileURLToPath(new URL("../../../fixtures/", import.meta.url));
const COMPILE_CHILD = fileURLToPath(new URL("./resnet-compile.js", import.meta.url));

/** The largest fixture files, the one with the most arithmetic (ppocr), the recurrent ones and the CNN the targets run fastest. */
const MODELS = ["real/silero_vad_v5", "real/oww_embedding_model", "real/ppocr_cls_mobile_v2", "trained/kws-lstm", "trained/digits-cnn"];

/** Load time of `file` against reading its bytes, and float inference on `feeds` in hwac and onnxruntime. */
async function benchFloat(file: string, feedsFor: (model: Model) => Map<string, Tensor>) {
  const bytes = readFileSync(file).length;
  const readMs = await time(() => readFileSync(file));
  const loadMs = await time(() => loadModel(file));
  const model = loadModel(file);
  const feeds = feedsFor(model);
  const macs = macsOf(model, feeds);
  const runMs = await time(() => runModel(model, feeds));

  const session = await ortSession(file);
  const of = ortFeeds(model, feeds);
  const ortRunMs = await time(() => session.run(of));
  const ortLoadMs = await time(() => ort.InferenceSession.create(file, { graphOptimizationLevel: "all" }), 1500, 10);
  return {
    bytes,
    weights: weightCount(model.graph),
    load: { hwacMs: loadMs, readFileMs: readMs, ratioToRead: loadMs / readMs, onnxruntimeSessionMs: ortLoadMs },
    floatInference: speeds(macs, runMs, ortRunMs),
  };
}

async function benchFixture(path: string) {
  const dir = join(FIXTURES, path);
  const float = await benchFloat(join(dir, "model.onnx"), (model) => readInputs(join(dir, "test_data_set_0"), model));
  return { model: path, ...float, quantized: await benchQuantized(dir), targets: await benchTargets(dir) };
}

/**
 * Quantization (calibrated on `resnetImage`) and compile of the generated ResNet-50 for each
 * target, each in a process of its own (resnet-compile.ts), whose peak resident memory is set
 * against the model's weight bytes.
 */
function compileResnet(file: string, weightBytes: number) {
  const out: Record<string, unknown> = { weightBytes };
  for (const target of ["nna", "aimc"] as const) {
    const dir = mkdtempSync(join(tmpdir(), `hwac-bench-resnet-${target}-`));
    try {
      const line = execFileSync(process.execPath, [COMPILE_CHILD, file, target, join(dir, "p")], { encoding: "utf8", maxBuffer: 1 << 20 });
      const r = JSON.parse(line) as { peakRssBytes: number };
      out[target] = { ...r, peakOverWeights: r.peakRssBytes / weightBytes };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

/** The generated ResNet-50 on a fixed pseudo-random image. */
async function benchResnet() {
  const image = resnetImage();
  const file = writeResnet50();
  try {
    const float = await benchFloat(file, () => new Map([[RESNET_INPUT.name, image]]));
    return { model: "generated/resnet50", ...float, compile: compileResnet(file, 4 * float.weights) };
  } finally {
    rmSync(dirname(file), { recursive: true, force: true });
  }
}

async function main() {
  const results = [];
  for (const path of MODELS) results.push(await benchFixture(path));
  if (process.env["HWAC_BENCH_RESNET"] === "1") results.push(await benchResnet());
  const sweep = await benchSweep(join(FIXTURES, "trained/digits-cnn"));
  const doc = { node: process.version, cpus: cpus().length, onnxruntimeThreads: ORT_THREADS, results, aimcSweep: { model: "trained/digits-cnn", ...sweep } };
  process.stdout.write(JSON.stringify(doc, null, 2) + "\n");
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e) + "\n");
  process.exitCode = 2;
});
