/** The quantizer's command-line options, shared by `quantize`, `run --quantized` and `compile`. */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { HwacError } from "../../ir/errors.js";
import { DEFAULT_SCHEME, defaultConfig, parseConfig, type QuantConfig, type Scheme } from "../quant/config.js";

export interface QuantCliOptions {
  calib?: string[];
  weights: string;
  acts: string;
  perChannel: boolean;
  calibration: string;
  percentile?: string;
  weightClip: string;
  rounding: string;
  seed: string;
  config?: string;
  inputShape?: string[];
  freeze?: string[];
  cacheDir?: string;
  cache: boolean;
}

const collect = (v: string, acc: string[] = []) => [...acc, v];

export function addQuantOptions(cmd: Command): Command {
  return cmd
    .option("--calib <dir>", "calibration inputs: a folder of input_N.pb, or of calib/ and test_data_set_*/ folders (repeatable)", collect)
    .option("--weights <format>", "weight format: int8, int4, int2 … int8, codebook2 … codebook8", "int8")
    .option("--acts <format>", "activation format: int8 (asymmetric), int4 or int16 (symmetric)", "int8")
    .option("--per-channel", "per-output-channel weight scales (default)", true)
    .option("--no-per-channel", "one weight scale per layer")
    .option("--calibration <method>", "activation range: minmax, percentile, mse or entropy", "mse")
    .option("--percentile <p>", "percentile for --calibration percentile (default 99.99)")
    .option("--weight-clip <method>", "weight range per channel: auto (mse at 4 bits or fewer), minmax or mse", "auto")
    .option("--rounding <mode>", "weight rounding: gptq (error-compensating, from the calibration inputs), nearest or stochastic", DEFAULT_SCHEME.rounding)
    .option("--seed <n>", "seed of stochastic rounding", "0")
    .option("--config <file>", "JSON scheme: default settings and per-layer overrides")
    .option("--input-shape <name=dims>", "bind an input's dynamic dims, e.g. x=1x3x48x320 (repeatable)", collect)
    .option("--freeze <name=value>", "replace a scalar input by a constant, e.g. sr=16000 (repeatable)", collect)
    .option("--cache-dir <dir>", "where calibration results are cached (default: $XDG_CACHE_HOME/hwac or ~/.cache/hwac)")
    .option("--no-cache", "do not read or write the calibration cache");
}

function bad(flag: string, value: string, expected: string): never {
  throw new HwacError("HW6010", `${flag} ${JSON.stringify(value)} is not valid: expected ${expected}`);
}

export function weightFormat(v: string): Pick<Scheme, "weightBits" | "weightFormat"> {
  const m = /^(int|codebook)([2-8])$/.exec(v);
  if (!m) bad("--weights", v, "int2 … int8 or codebook2 … codebook8");
  return { weightFormat: m[1] === "int" ? "int" : "codebook", weightBits: Number(m[2]) };
}

export function configFrom(o: QuantCliOptions): QuantConfig {
  const acts = { int8: 8, int4: 4, int16: 16 }[o.acts];
  if (!acts) bad("--acts", o.acts, "int8, int4 or int16");
  const methods = ["minmax", "percentile", "mse", "entropy"];
  if (!methods.includes(o.calibration)) bad("--calibration", o.calibration, methods.join(", "));
  if (!["auto", "minmax", "mse"].includes(o.weightClip)) bad("--weight-clip", o.weightClip, "auto, minmax or mse");
  if (o.rounding !== "nearest" && o.rounding !== "stochastic" && o.rounding !== "gptq") bad("--rounding", o.rounding, "gptq, nearest or stochastic");
  const seed = Number(o.seed);
  if (!Number.isInteger(seed) || seed < 0) bad("--seed", o.seed, "a non-negative integer");
  const base = defaultConfig(
    {
      ...weightFormat(o.weights),
      actBits: acts as 4 | 8 | 16,
      actSymmetric: acts !== 8,
      perChannel: o.perChannel,
      calibration: o.calibration as Scheme["calibration"],
      weightClip: o.weightClip as Scheme["weightClip"],
      rounding: o.rounding,
    },
    seed,
  );
  return o.config ? parseConfig(readFileSync(o.config, "utf8"), o.config, base) : base;
}

export function percentileFrom(o: QuantCliOptions): number | undefined {
  if (o.percentile === undefined) return undefined;
  const p = Number(o.percentile);
  if (!(p > 0 && p <= 100)) bad("--percentile", o.percentile, "a number in (0, 100]");
  return p;
}

export function inputShapesFrom(o: QuantCliOptions): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const item of o.inputShape ?? []) {
    const m = /^(.+)=(\d+(?:x\d+)*)$/.exec(item);
    if (!m) bad("--input-shape", item, "name=dims like x=1x3x48x320");
    out.set(m[1]!, m[2]!.split("x").map(Number));
  }
  return out;
}

export function freezeFrom(o: QuantCliOptions): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of o.freeze ?? []) {
    const m = /^(.+)=(-?[\d.]+(?:e-?\d+)?)$/.exec(item);
    if (!m || !Number.isFinite(Number(m[2]))) bad("--freeze", item, "name=number like sr=16000");
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}
