/**
 * The two targets, timed: compile (nna, aimc) of a fixture, the NNA simulator beside onnxruntime
 * running the model's QDQ export, the AIMC interpreter with every non-ideality on beside
 * onnxruntime's float run — all on one item of the fixture's first input set — and a drift sweep
 * on one and two worker threads.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { profileConfig } from "../../backends/aimc/config.js";
import { splitItems } from "../../src/batch.js";
import { compileQuantized, type CompileOptions } from "../../src/compile.js";
import { writeDirAtomic } from "../../src/fsutil.js";
import { readInputs } from "../../src/io.js";
import { loadModel } from "../../src/onnx/load.js";
import { encodeModel } from "../../src/onnx/save.js";
import { loadCalibrationSets } from "../../src/quant/calib-data.js";
import { quantize } from "../../src/quant/index.js";
import { toQdq } from "../../src/quant/qdq-export.js";
import { sweep } from "../../src/sweep.js";
import { readAimcFolder, simulateAimcFolder } from "../../src/targets/aimc.js";
import { readNnaFolder, simulateNna } from "../../src/targets/nna.js";
import { macsOf, once, ortFeeds, ortSession, speeds, time } from "./common.js";

/** Compiles `target` into a temporary folder; returns the folder and the compile time (quantization excluded). */
function compileTimed(q: ReturnType<typeof quantize>, sets: ReturnType<typeof loadCalibrationSets>["sets"], opts: CompileOptions) {
  const dir = mkdtempSync(join(tmpdir(), `hwac-bench-${opts.target}-`));
  const c = once(() => compileQuantized(q, sets.slice(0, 1), opts));
  writeDirAtomic(join(dir, "p"), c.value.files);
  return { dir, path: join(dir, "p"), ms: c.ms, report: c.value.report };
}

export async function benchTargets(fixture: string, inputShapes: Map<string, number[]> = new Map()) {
  const model = loadModel(join(fixture, "model.onnx"));
  const data = loadCalibrationSets([fixture], model);
  const q = quantize(model, data.sets, { static: false });
  const first = readInputs(join(fixture, "test_data_set_0"), model);
  const out: Record<string, unknown> = {};

  try {
    const nna = compileTimed(q, data.sets, { target: "nna", inputShapes });
    try {
      const f = readNnaFolder(nna.path);
      const item = splitItems(f.model, f.batching, first)[0]!;
      const macs = macsOf(q.float, item);
      const simMs = await time(() => simulateNna(f, item));
      const qdq = toQdq(q.model);
      const session = await ortSession(encodeModel(qdq.model));
      const ortMs = await time(() => session.run(ortFeeds(qdq.model, item)));
      const stats = nna.report["nna"] as Record<string, number>;
      out["nna"] = {
        compileMs: nna.ms,
        cycles: stats["cycles"],
        utilization: stats["utilization"],
        convUtilization: stats["convUtilization"],
        simulator: { ...speeds(macs, simMs, ortMs), onnxruntimeRuns: "QDQ export" },
      };
    } finally {
      rmSync(nna.dir, { recursive: true, force: true });
    }
  } catch (e) {
    out["nna"] = { notCompiled: (e as Error).message.split("\n")[0] };
  }

  const aimc = compileTimed(q, data.sets, { target: "aimc", inputShapes, aimcConfig: profileConfig("standard") });
  try {
    const f = readAimcFolder(aimc.path);
    // Every source input (a frozen sample rate too): onnxruntime runs the source model.
    const item = splitItems(f.program.model, f.batching, first)[0]!;
    const macs = macsOf(q.float, item);
    const simMs = await time(() => simulateAimcFolder(f, item, { config: f.config, seed: 1 }));
    const session = await ortSession(join(fixture, "model.onnx"));
    const ortMs = await time(() => session.run(ortFeeds(model, item)));
    const stats = aimc.report["aimc"] as Record<string, number>;
    out["aimc"] = {
      compileMs: aimc.ms,
      tiles: stats["tilesUsed"],
      utilization: stats["utilization"],
      interpreterAllNoise: { ...speeds(macs, simMs, ortMs), onnxruntimeRuns: "float32 model" },
    };
  } finally {
    rmSync(aimc.dir, { recursive: true, force: true });
  }
  return out;
}

/** A drift sweep (2 times × 4 seeds over the fixture's test set) on 1 and on 2 worker threads. */
export async function benchSweep(fixture: string) {
  const model = loadModel(join(fixture, "model.onnx"));
  const data = loadCalibrationSets([fixture], model);
  const q = quantize(model, data.sets, { static: false });
  const aimc = compileTimed(q, data.sets, { target: "aimc", aimcConfig: profileConfig("standard") });
  try {
    const f = readAimcFolder(aimc.path);
    const feeds = readInputs(join(fixture, "test_data_set_0"), f.program.model);
    const opts = { times: [3600, 31536000], seeds: 4 };
    const wall = async (workers: number) => {
      const t0 = performance.now();
      await sweep(aimc.path, feeds, { ...opts, workers });
      return performance.now() - t0;
    };
    const oneWorkerMs = await wall(1);
    const twoWorkersMs = await wall(2);
    return { points: opts.times.length * opts.seeds, items: feeds.values().next().value!.shape[0], oneWorkerMs, twoWorkersMs, speedup: oneWorkerMs / twoWorkersMs };
  } finally {
    rmSync(aimc.dir, { recursive: true, force: true });
  }
}
