/** `hwac compile`, `hwac sim`, `hwac verify` and `hwac sweep`: programs for the nna and aimc targets. */
import { join } from "node:path";
import type { Command } from "commander";
import { HwacError } from "../../ir/errors.js";
import type { Tensor } from "../../ir/tensor.js";
import { loadConfig as loadAimcConfig, parseNoiseList, profileConfig, withNoise, type AimcConfig } from "../../backends/aimc/config.js";
import { loadConfig as loadNnaConfig } from "../../backends/nna/config.js";
import { compileQuantized } from "../compile.js";
import { writeDirAtomic, writeFileAtomic } from "../fsutil.js";
import { outputFiles } from "../io.js";
import { readManifest, readProgramInputs, TARGETS, type Target } from "../program-dir.js";
import { renderReport } from "../report-html/index.js";
import { formatSweep, sweep } from "../sweep.js";
import { readAimcFolder, simulateAimcFolder, verifyAimc } from "../targets/aimc.js";
import { readNnaFolder, simulateNna, verifyNna } from "../targets/nna.js";
import { formatDifference, type Difference } from "../targets/verify.js";
import { progress } from "./progress.js";
import { addQuantOptions, inputShapesFrom, type QuantCliOptions } from "./quant-options.js";
import { evaluationSets, quantizeFromCli, readLabels, type QuantizeCliOptions } from "./quantize.js";

interface CompileCliOptions extends QuantCliOptions, Pick<QuantizeCliOptions, "eval" | "labels"> {
  target: string;
  output: string;
  nnaConfig?: string;
  aimcConfig?: string;
  json?: boolean;
  quiet?: boolean;
}

interface AimcRunCli {
  seed: string;
  t?: string;
  aimcNoise?: string;
  aimcConfig?: string;
}

function bad(flag: string, value: string, expected: string): never {
  throw new HwacError("HW6010", `${flag} ${JSON.stringify(value)} is not valid: expected ${expected}`);
}

function target(v: string): Target {
  if (!(TARGETS as readonly string[]).includes(v)) bad("--target", v, TARGETS.join(" or "));
  return v as Target;
}

function nonNegative(flag: string, v: string, integer: boolean): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) bad(flag, v, integer ? "a non-negative integer" : "a non-negative number");
  return n;
}

/** The chip to run: the program's, or --aimc-config, with --aimc-noise applied. */
function runConfig(base: AimcConfig, o: AimcRunCli): AimcConfig {
  const c = o.aimcConfig ? loadAimcConfig(o.aimcConfig) : base;
  return o.aimcNoise ? withNoise(c, parseNoiseList(o.aimcNoise)) : c;
}

const addAimcRunOptions = (cmd: Command): Command =>
  cmd
    .option("--seed <n>", "noise seed", "0")
    .option("--t <seconds>", "time from programming to inference (default: the config's tInference)")
    .option("--aimc-noise <list>", "non-idealities to model: prog,read,out,drift,irdrop or none (default: the config's)")
    .option("--aimc-config <file>", "chip noise model to run with (tiles and converters must be the program's)");

export function registerCompile(program: Command, out: (s: string) => void): void {
  addQuantOptions(
    program
      .command("compile")
      .description("quantize a model and compile it for a target: writes a program folder with model.hir, report.json and the target's files")
      .argument("<model>", "ONNX model file"),
  )
    .requiredOption("--target <target>", "nna or aimc")
    .requiredOption("-o, --output <dir>", "program folder to write (replaced whole)")
    .option("--nna-config <file>", "NNA machine config (JSON; default: SPEC.md's)")
    .option("--aimc-config <file>", "AIMC chip config (JSON; default: the standard model)")
    .option("--eval <dir>", "inputs to measure the program on (default: the calibration inputs)")
    .option("--labels <file>", "labels.pb for task accuracy on --eval")
    .option("--json", "print the report as JSON")
    .option("--quiet", "print nothing but errors")
    .action((file: string, o: CompileCliOptions) => {
      const t = target(o.target);
      const stages = progress("compile", o.quiet === true);
      stages.stage("calibrate and quantize");
      const { model, data, q } = quantizeFromCli(file, o, false);
      const evaluation = evaluationSets(model, o, data.sets);
      const compiled = compileQuantized(q, data.sets, {
        target: t,
        inputShapes: inputShapesFrom(o),
        sourceInputs: model.graph.inputs.map((i) => i.name),
        ...(o.nnaConfig ? { nnaConfig: loadNnaConfig(o.nnaConfig) } : {}),
        aimcConfig: o.aimcConfig ? loadAimcConfig(o.aimcConfig) : profileConfig("standard"),
        evaluation,
        onStage: (s) => stages.stage(s),
      });
      stages.stage("write");
      writeDirAtomic(o.output, compiled.files);
      stages.done();
      if (o.quiet) return;
      out(o.json ? JSON.stringify(compiled.report, null, 2) + "\n" : summary(compiled.report, o.output) + "\n");
    });

  addAimcRunOptions(
    program
      .command("sim")
      .description("run a compiled program (nna: the simulator; aimc: the analog interpreter) on input_N.pb files")
      .argument("<dir>", "program folder written by hwac compile"),
  )
    .requiredOption("--inputs <dir>", "folder with input_0.pb, …")
    .requiredOption("--out <dir>", "folder to write output_0.pb, … to")
    .option("--raw", "write the output codes instead of dequantized float32")
    .option("--json", "print run statistics as JSON")
    .action((dir: string, o: AimcRunCli & { inputs: string; out: string; raw?: boolean; json?: boolean }) => {
      const m = readManifest(dir);
      if (m.target === "nna") {
        const f = readNnaFolder(dir);
        const feeds = readProgramInputs(dir, o.inputs, f.model);
        const r = simulateNna(f, feeds, { raw: o.raw === true });
        writeDirAtomic(o.out, outputFiles(f.model, r.outputs));
        const stats = { target: "nna", items: r.items, cycles: r.cycles };
        out(o.json ? JSON.stringify(stats) + "\n" : `nna: ${r.items} item(s), ${r.cycles} cycles\n`);
        return;
      }
      const f = readAimcFolder(dir);
      const config = runConfig(f.config, o);
      const feeds = readProgramInputs(dir, o.inputs, f.program.model);
      const seed = nonNegative("--seed", o.seed, true);
      const outputs = simulateAimcFolder(f, feeds, { config, seed, raw: o.raw === true, ...(o.t === undefined ? {} : { t: nonNegative("--t", o.t, false) }) });
      writeDirAtomic(o.out, outputFiles(f.program.model, outputs));
      const stats = { target: "aimc", seed, t: o.t === undefined ? config.tInference : Number(o.t), noise: config.noise };
      out(o.json ? JSON.stringify(stats) + "\n" : `aimc: seed ${stats.seed}, t = ${stats.t} s, noise ${Object.entries(config.noise).filter(([, on]) => on).map(([n]) => n).join(",") || "none"}\n`);
    });

  program
    .command("report")
    .description("write a self-contained HTML report of a program folder: layers, SQNR, cycles or tiles, drift sweep")
    .argument("<dir>", "program folder written by hwac compile")
    .option("-o, --output <file>", "HTML file to write (default: <dir>/report.html)")
    .option("--json", "print what was written as JSON")
    .action((dir: string, o: { output?: string; json?: boolean }) => {
      const file = o.output ?? join(dir, "report.html");
      writeFileAtomic(file, renderReport(dir));
      out(o.json ? JSON.stringify({ report: file }) + "\n" : `wrote ${file}\n`);
    });

  program
    .command("verify")
    .description("run the program and the integer reference on the inputs; exit 0 only when every output is identical (and, for nna, no two accesses race)")
    .argument("<dir>", "program folder written by hwac compile")
    .requiredOption("--inputs <dir>", "folder with input_0.pb, …")
    .option("--json", "machine-readable result")
    .action((dir: string, o: { inputs: string; json?: boolean }) => {
      const m = readManifest(dir);
      let r: { items: number; elements: number; difference?: Difference; race?: string };
      if (m.target === "nna") {
        const f = readNnaFolder(dir);
        r = verifyNna(f, readProgramInputs(dir, o.inputs, f.model));
      } else {
        const f = readAimcFolder(dir);
        r = verifyAimc(f, readProgramInputs(dir, o.inputs, f.program.model));
      }
      if (o.json) out(JSON.stringify({ target: m.target, identical: !r.difference && !r.race, ...r }) + "\n");
      if (r.race) throw new HwacError("HW6030", `the ${m.target} program has a race, so its results depend on timing: ${r.race}`, { file: dir });
      if (r.difference) {
        throw new HwacError("HW6030", `the ${m.target} program differs from the integer reference: ${formatDifference(r.difference)}`, { file: dir });
      }
      if (!o.json) out(`identical: ${r.elements} values over ${r.items} item(s) equal the integer reference bit for bit (${m.target})\n`);
    });

  addAimcRunOptions(
    program
      .command("sweep")
      .description("aimc: accuracy or SQNR against drift time, mean ± std over seeds, on all cores")
      .argument("<dir>", "aimc program folder written by hwac compile"),
  )
    .requiredOption("--inputs <dir>", "folder with input_0.pb, …")
    .option("--times <list>", "drift times in seconds", "1,3600,86400,31536000")
    .option("--seeds <n>", "seeds per time", "10")
    .option("--labels <file>", "labels.pb (one class per input row) for task accuracy")
    .option("--workers <n>", "worker threads (default: all cores)")
    .option("--json", "print the table as JSON")
    .option("--quiet", "no progress")
    .action(async (dir: string, o: AimcRunCli & { inputs: string; times: string; seeds: string; labels?: string; workers?: string; json?: boolean; quiet?: boolean }) => {
      const m = readManifest(dir);
      if (m.target !== "aimc") throw new HwacError("HW6010", `sweep runs aimc programs; '${dir}' is an ${m.target} program`, { file: dir });
      const f = readAimcFolder(dir);
      const times = (o.t ?? o.times).split(",").map((s) => nonNegative("--times", s.trim(), false));
      const seeds = nonNegative("--seeds", o.seeds, true);
      if (seeds < 1) bad("--seeds", o.seeds, "at least 1");
      const feeds: ReadonlyMap<string, Tensor> = readProgramInputs(dir, o.inputs, f.program.model);
      const labels = o.labels ? readLabels(o.labels) : undefined;
      const bar = progress("sweep", o.quiet === true || o.json === true);
      const points = await sweep(dir, feeds, {
        times,
        seeds,
        config: runConfig(f.config, o),
        ...(labels ? { labels } : {}),
        ...(o.workers ? { workers: nonNegative("--workers", o.workers, true) } : {}),
        onProgress: (done, total) => bar.count(done, total),
      });
      bar.done();
      const json = JSON.stringify(points, (_, v) => (v === Infinity ? "inf" : v), 1) + "\n";
      // Kept beside the program for `hwac report`.
      writeFileAtomic(join(dir, "sweep.json"), json);
      out(o.json ? json : formatSweep(points) + "\n");
    });
}

function summary(r: Record<string, unknown>, dir: string): string {
  const lines = [`wrote ${dir} (${r["target"]})`];
  const t = r[r["target"] as string] as Record<string, unknown>;
  if (r["target"] === "nna") {
    lines.push(`cycles ${t["cycles"]}, MAC-array utilization ${((t["utilization"] as number) * 100).toFixed(1)}%` +
      (t["convUtilization"] !== null ? ` (conv layers ${((t["convUtilization"] as number) * 100).toFixed(1)}%)` : "") +
      `, DRAM read ${t["dramRead"]} B, written ${t["dramWritten"]} B`);
  } else {
    lines.push(`tiles ${t["tilesUsed"]} (lower bound ${t["lowerBound"]}), crossbar utilization ${((t["utilization"] as number) * 100).toFixed(1)}%`);
  }
  for (const o of r["outputs"] as { name: string; sqnrDb: number | string; top1Agreement: number }[]) {
    lines.push(`output ${o.name}: SQNR ${typeof o.sqnrDb === "number" ? o.sqnrDb.toFixed(2) : o.sqnrDb} dB against float, top-1 agreement ${(o.top1Agreement * 100).toFixed(2)}%`);
  }
  const acc = r["accuracy"] as { float: number; quantized: number; n: number } | null;
  if (acc) lines.push(`accuracy: float ${(acc.float * 100).toFixed(2)}%, program ${(acc.quantized * 100).toFixed(2)}% (n=${acc.n})`);
  for (const n of r["notices"] as string[]) lines.push(`note: ${n}`);
  return lines.join("\n");
}
