/**
 * `hwac sweep`: accuracy or SQNR of an AIMC program against drift time, mean ± standard deviation
 * over seeds — the table of the hardware-aware-training papers. Every (t, seed) point is an
 * independent, deterministic job, so the points are spread over worker threads and the table is
 * the same whatever the number of workers.
 */
import { availableParallelism } from "node:os";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { runModel } from "../ir/interpret.js";
import { toFloat64, type Tensor } from "../ir/tensor.js";
import type { AimcConfig } from "../backends/aimc/config.js";
import { loadModel } from "./onnx/load.js";
import { programFile } from "./program-dir.js";
import { sqnr } from "./quant/report.js";
import { exactConfig, readAimcFolder, simulateAimcFolder, type AimcFolder } from "./targets/aimc.js";

export interface SweepOptions {
  /** Drift times in seconds. */
  times: readonly number[];
  /** Seeds 0 … seeds − 1 at every time. */
  seeds: number;
  /** Worker threads (default: the machine's parallelism; 1 runs in this thread). */
  workers?: number;
  /** The chip model to run (default: the one the program was compiled for). */
  config?: AimcConfig;
  /** Class labels of the input rows, for task accuracy. */
  labels?: readonly number[];
  /** Called as points finish. */
  onProgress?: (done: number, total: number) => void;
}

export interface SweepPoint {
  /** Seconds, or "float" / "exact" for the two reference rows. */
  t: number | "float" | "exact";
  sqnrDb: { mean: number; std: number };
  accuracy?: { mean: number; std: number };
  top1Agreement: { mean: number; std: number };
  seeds: number;
}

export interface Job {
  t: number;
  seed: number;
}

/** What a job sends back: its first output, flat. */
export interface JobResult extends Job {
  output: Float32Array;
}

/** Program folders read by this thread, by path: every job of a sweep runs the same one. */
const folders = new Map<string, AimcFolder>();

/** Runs one job in this thread. */
export function runJob(dir: string, feeds: ReadonlyMap<string, Tensor>, config: AimcConfig, job: Job): JobResult {
  let f = folders.get(dir);
  if (!f) folders.set(dir, (f = readAimcFolder(dir)));
  const out = simulateAimcFolder(f, feeds, { config, seed: job.seed, t: job.t });
  const first = out.get(f.program.model.graph.outputs[0]!.name)!;
  return { ...job, output: Float32Array.from(toFloat64(first)) };
}

/** The worker script: beside this file when built; from `dist/` when this module runs from source (tests). */
function workerScript(): URL {
  const here = new URL("./sweep-worker.js", import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL("../dist/src/sweep-worker.js", import.meta.url);
}

async function runJobs(dir: string, feeds: ReadonlyMap<string, Tensor>, config: AimcConfig, jobs: Job[], workers: number, progress: () => void): Promise<JobResult[]> {
  if (workers <= 1) {
    return jobs.map((j) => {
      const r = runJob(dir, feeds, config, j);
      progress();
      return r;
    });
  }
  const results: JobResult[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(workers, jobs.length) }, () => new Promise<void>((resolve, reject) => {
    const w = new Worker(workerScript(), { workerData: { dir, feeds: [...feeds], config } });
    const give = () => {
      if (next < jobs.length) w.postMessage(jobs[next++]);
      else void w.terminate().then(() => resolve());
    };
    w.on("message", (r: JobResult) => {
      results.push(r);
      progress();
      give();
    });
    w.on("error", reject);
    w.on("online", give);
  })));
  return results;
}

const meanStd = (xs: readonly number[]) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return { mean, std: xs.length > 1 ? std : 0 };
};

/** Row argmaxes of a [rows, classes] output. */
function argmaxRows(y: ArrayLike<number>, rows: number): number[] {
  const classes = y.length / rows;
  return Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (y[r * classes + c]! > y[r * classes + best]!) best = c;
    return best;
  });
}

export async function sweep(dir: string, feeds: ReadonlyMap<string, Tensor>, o: SweepOptions): Promise<SweepPoint[]> {
  const folder = readAimcFolder(dir);
  const config = o.config ?? folder.config;
  const floatModel = loadModel(programFile(dir, "float.onnx"));
  const floatFirst = runModel(floatModel, feeds).get(floatModel.graph.outputs[0]!.name)!;
  const floatOut = toFloat64(floatFirst);
  // Classes are the first output's last axis; every other position is a row.
  const rows = floatOut.length / (floatFirst.shape.at(-1) ?? 1);
  const floatTop = argmaxRows(floatOut, rows);
  const score = (y: ArrayLike<number>) => {
    const top = argmaxRows(y, rows);
    return {
      sqnr: sqnr(floatOut, y),
      agree: top.filter((v, r) => v === floatTop[r]).length / rows,
      acc: o.labels ? top.filter((v, r) => v === o.labels![r]).length / rows : undefined,
    };
  };
  const jobs = o.times.flatMap((t) => Array.from({ length: o.seeds }, (_, seed) => ({ t, seed })));
  let done = 0;
  const total = jobs.length + 1;
  const tick = () => o.onProgress?.(++done, total);
  const exact = runJob(dir, feeds, exactConfig(config), { t: 0, seed: 0 });
  tick();
  const results = await runJobs(dir, feeds, config, jobs, o.workers ?? availableParallelism(), tick);
  const summarize = (t: SweepPoint["t"], ys: readonly Float32Array[]): SweepPoint => {
    const s = ys.map(score);
    return {
      t,
      sqnrDb: meanStd(s.map((x) => x.sqnr)),
      ...(o.labels ? { accuracy: meanStd(s.map((x) => x.acc!)) } : {}),
      top1Agreement: meanStd(s.map((x) => x.agree)),
      seeds: ys.length,
    };
  };
  const floatPoint: SweepPoint = {
    t: "float",
    sqnrDb: { mean: Infinity, std: 0 },
    ...(o.labels ? { accuracy: { mean: floatTop.filter((v, r) => v === o.labels![r]).length / rows, std: 0 } } : {}),
    top1Agreement: { mean: 1, std: 0 },
    seeds: 0,
  };
  const byTime = o.times.map((t) => summarize(t, results.filter((r) => r.t === t).sort((a, b) => a.seed - b.seed).map((r) => r.output)));
  return [floatPoint, summarize("exact", [exact.output]), ...byTime];
}

/** "1 s", "1 h", "1 day", "1 year" for the usual points, else seconds. */
export function formatTime(t: SweepPoint["t"]): string {
  if (typeof t === "string") return t;
  const units: [number, string][] = [[31536000, "year"], [86400, "day"], [3600, "h"], [60, "min"], [1, "s"]];
  for (const [s, name] of units) if (t >= s && t % s === 0) return `${t / s} ${name}${name.length > 3 && t / s !== 1 ? "s" : ""}`;
  return `${t} s`;
}

export function formatSweep(points: readonly SweepPoint[]): string {
  const pm = (m: { mean: number; std: number }, scale: number, digits: number) =>
    Number.isFinite(m.mean) ? `${(m.mean * scale).toFixed(digits)} ± ${(m.std * scale).toFixed(digits)}` : "—";
  const hasAcc = points.some((p) => p.accuracy);
  const lines = [`${"t".padEnd(10)}${hasAcc ? "accuracy %".padStart(18) : ""}${"top-1 agree %".padStart(18)}${"SQNR dB".padStart(18)}`];
  for (const p of points) {
    lines.push(
      `${formatTime(p.t).padEnd(10)}${hasAcc ? pm(p.accuracy!, 100, 2).padStart(18) : ""}${pm(p.top1Agreement, 100, 2).padStart(18)}${pm(p.sqnrDb, 1, 2).padStart(18)}`,
    );
  }
  return lines.join("\n");
}
