/**
 * One compile of the generated ResNet-50 (gen-resnet.ts) in a process of its own, so its peak
 * resident memory is the compile's alone: load, quantize (calibrated on `resnetImage`), compile
 * for the target, and write the program folder, as `hwac compile` does. Prints one JSON line
 * with the stage times, the target's headline numbers and the process's peak RSS.
 *
 *   node dist/test/bench/resnet-compile.js <resnet50.onnx> <nna|aimc> <program folder>
 */
import { compileQuantized } from "../../src/compile.js";
import { writeDirAtomic } from "../../src/fsutil.js";
import { loadModel } from "../../src/onnx/load.js";
import type { Target } from "../../src/program-dir.js";
import { quantize } from "../../src/quant/index.js";
import { once } from "./common.js";
import { RESNET_INPUT, resnetImage } from "./gen-resnet.js";

/** The headline numbers of a target's report section. */
function summary(t: Record<string, unknown>) {
  const keys = ["cycles", "utilization", "convUtilization", "tilesUsed", "lowerBound"];
  return Object.fromEntries(keys.filter((k) => k in t).map((k) => [k, t[k]]));
}

function main(file: string, target: Target, out: string) {
  const sets = [new Map([[RESNET_INPUT.name, resnetImage()]])];
  const load = once(() => loadModel(file));
  const q = once(() => quantize(load.value, sets, { static: false }));
  const result: Record<string, unknown> = { loadMs: load.ms, quantizeMs: q.ms };
  try {
    const c = once(() => compileQuantized(q.value, sets, { target }));
    const write = once(() => writeDirAtomic(out, c.value.files));
    Object.assign(result, { compileMs: c.ms, writeMs: write.ms, stats: summary(c.value.report[target] as Record<string, unknown>) });
  } catch (e) {
    result["notCompiled"] = (e as Error).message.split("\n")[0];
  }
  // Node reports maxRSS in KiB.
  result["peakRssBytes"] = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify(result) + "\n");
}

const [file, target, out] = process.argv.slice(2);
if (!file || (target !== "nna" && target !== "aimc") || !out) {
  process.stderr.write("usage: resnet-compile.js <resnet50.onnx> <nna|aimc> <program folder>\n");
  process.exitCode = 2;
} else {
  main(file, target, out);
}
