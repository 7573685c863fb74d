/** A sweep worker thread: loads the program once, then runs the (t, seed) jobs it is sent. */
import { parentPort, workerData } from "node:worker_threads";
import type { Tensor } from "../ir/tensor.js";
import type { AimcConfig } from "../backends/aimc/config.js";
import { runJob, type Job } from "./sweep.js";

const data = workerData as { dir: string; feeds: [string, Tensor][]; config: AimcConfig };
const feeds = new Map(data.feeds);
parentPort!.on("message", (job: Job) => {
  const r = runJob(data.dir, feeds, data.config, job);
  parentPort!.postMessage(r, [r.output.buffer as ArrayBuffer]);
});
