/**
 * The `hwac` command line. Exit codes: 0 success, 1 the user's input is wrong (one paragraph
 * naming file, node, op and what was expected), 2 internal error.
 */
import { Command, CommanderError } from "commander";
import { HwacError } from "../../ir/errors.js";
import { runModel, runQuantized } from "../../ir/interpret.js";
import { verifyModel } from "../../ir/verify.js";
import { writeDirAtomic } from "../fsutil.js";
import { formatSummary, summarize } from "../inspect.js";
import { outputFiles, readInputs } from "../io.js";
import { loadModel } from "../onnx/load.js";
import { VERSION } from "../version.js";
import { addQuantOptions, type QuantCliOptions } from "./quant-options.js";
import { quantizeFromCli, registerQuantize } from "./quantize.js";
import { registerCompile } from "./compile.js";
import { registerGolden } from "./golden.js";
import { progress } from "./progress.js";


function program(out: (s: string) => void): Command {
  const p = new Command("hwac")
    .description("compiler for low-precision ML accelerators (nna, aimc)")
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: (s) => process.stderr.write(s) });

  p.command("inspect")
    .description("print a model's inputs, outputs, op histogram, parameter count and opsets")
    .argument("<model>", "ONNX model file")
    .option("--json", "machine-readable output")
    .action((file: string, opts: { json?: boolean }) => {
      const s = summarize(loadModel(file));
      out(opts.json ? JSON.stringify(s, null, 2) + "\n" : formatSummary(s) + "\n");
    });

  addQuantOptions(
    p
      .command("run")
      .description("run a model on input_N.pb files and write output_N.pb: the float reference, or with --quantized the integer reference")
      .argument("<model>", "ONNX model file"),
  )
    .requiredOption("--inputs <dir>", "folder with input_0.pb, input_1.pb, … (ONNX TensorProto)")
    .requiredOption("--out <dir>", "folder to write output_0.pb, … to")
    .option("--quantized", "quantize (needs --calib) and run the integer reference semantics")
    .option("--json", "print what was written as JSON")
    .option("--quiet", "print nothing but errors")
    .action((file: string, opts: QuantCliOptions & { inputs: string; out: string; quantized?: boolean; json?: boolean; quiet?: boolean }) => {
      const stages = progress("run", opts.quiet === true || opts.json === true);
      let model;
      let outputs;
      if (opts.quantized) {
        stages.stage("calibrate and quantize");
        const r = quantizeFromCli(file, opts, false);
        model = r.model;
        stages.stage("run the integer reference");
        outputs = runQuantized(r.q.model, readInputs(opts.inputs, model));
      } else {
        model = loadModel(file);
        verifyModel(model);
        stages.stage("run the float reference");
        outputs = runModel(model, readInputs(opts.inputs, model));
      }
      const files = outputFiles(model, outputs);
      writeDirAtomic(opts.out, files);
      stages.done();
      if (opts.json) out(JSON.stringify({ out: opts.out, files: [...files.keys()], outputs: model.graph.outputs.map((o) => ({ name: o.name, shape: outputs.get(o.name)!.shape })) }) + "\n");
    });

  registerQuantize(p, out);
  registerCompile(p, out);
  registerGolden(p, out);
  return p;
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  try {
    await program(out).parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end through here too, with exit code 0.
      return e.exitCode === 0 ? 0 : 1;
    }
    if (e instanceof HwacError) {
      process.stderr.write(e.format() + "\n");
      return 1;
    }
    if (isUserIoError(e)) {
      process.stderr.write(`error HW6001: ${(e as Error).message}\n`);
      return 1;
    }
    process.stderr.write(`internal error (please report): ${(e as Error)?.stack ?? String(e)}\n`);
    return 2;
  }
}

/** File-system errors about paths the user named (missing file, no permission, a folder given for a file). */
function isUserIoError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === "ENOENT" || code === "EACCES" || code === "EISDIR" || code === "ENOTDIR" || code === "EPERM";
}
