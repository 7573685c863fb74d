/**
 * The AIMC chip configuration (`aimc.json`, `--aimc-config`; SPEC.md §4). Defaults are the
 * `standard` profile, IBM aihwkit's StandardHWATrainingPreset with PCMLikeNoiseModel (Rasch et
 * al. 2023); the aihwkit name of each field is given in brackets so results can be compared.
 * docs/aimc-format.md describes the file.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { HwacError } from "../../ir/errors.js";

/** The non-idealities that can be switched one by one (`--aimc-noise prog,read,out,drift,irdrop|none`). */
export const NON_IDEALITIES = ["prog", "read", "out", "drift", "irdrop"] as const;
export type NonIdeality = (typeof NON_IDEALITIES)[number];

export const PROFILES = ["exact", "standard", "custom"] as const;
export type Profile = (typeof PROFILES)[number];

const positive = z.number().positive();
const positiveInt = z.number().int().positive();
const bits = z.number().int().min(2).max(16);

/** A clamped linear function of ln(g/g_max): clamp(slope·ln g_rel + intercept, min, max). */
const clampedLog = (slope: number, intercept: number, min: number, max: number) =>
  z
    .object({
      slope: z.number().default(slope),
      intercept: z.number().default(intercept),
      min: z.number().min(0).default(min),
      max: z.number().min(0).default(max),
    })
    .prefault({});

const schema = z.object({
  profile: z.enum(PROFILES).default("custom"),
  tile: z
    .object({
      /** Crossbar rows, the inputs of a block [mapping.max_input_size]. */
      rows: positiveInt.default(512),
      /** Crossbar columns, the outputs of a block [mapping.max_output_size]. */
      cols: positiveInt.default(512),
      /** Tiles on the chip; a mapping needing more is refused. */
      count: positiveInt.default(256),
    })
    .prefault({}),
  dac: z
    .object({
      /** Signed converter: 2^(bits−1) − 1 levels each side [inp_res = 2·levels]. */
      bits: bits.default(8),
      /** Full-scale input in normalised units [inp_bound]. */
      bound: positive.default(1),
    })
    .prefault({}),
  adc: z
    .object({
      /** Signed converter: 2^(bits−1) − 1 levels each side [out_res = 2·levels]. */
      bits: bits.default(8),
      /** Full-scale output in normalised units [out_bound]. */
      bound: positive.default(10),
    })
    .prefault({}),
  conductance: z
    .object({
      /** µS of the largest weight code [g_max]. */
      gMax: positive.default(25),
      /** G+ = max(w, 0), G− = max(−w, 0) [SinglePairConductanceConverter]. */
      mapping: z.literal("differential-pair").default("differential-pair"),
    })
    .prefault({}),
  programming: z
    .object({
      /** σ(µS) = Σ c_i (g/g_max)^i, fitted at g_max = coeffsGMax [PCMLikeNoiseModel prog_coeff]. */
      coeffs: z.array(z.number()).min(1).default([0.26348, 1.965, -1.1731]),
      /** [prog_coeff_g_max_reference]: σ scales by g_max / coeffsGMax. */
      coeffsGMax: positive.default(25),
    })
    .prefault({}),
  drift: z
    .object({
      /** Seconds after programming at which drift starts to count [t_0]. */
      t0: positive.default(20),
      /** Mean drift exponent μ_ν as a function of ln g_rel [generate_drift_coefficients]. */
      nuMean: clampedLog(-0.0155, 0.0244, 0.049, 0.1),
      /** Standard deviation σ_ν of the drift exponent. */
      nuStd: clampedLog(-0.0125, -0.0059, 0.008, 0.045),
      /** Global drift compensation, one factor per block [GlobalDriftCompensation]. */
      compensation: z.boolean().default(true),
    })
    .prefault({}),
  /** Accumulated 1/f read noise σ_rel = min(max, coeff / max(gRelMin, g_rel^exponent))·√ln((t + tRead)/(2·tRead)). */
  oneOverF: z
    .object({
      coeff: positive.default(0.0088),
      exponent: positive.default(0.65),
      gRelMin: positive.default(1e-3),
      max: positive.default(0.2),
      /** Seconds [t_read]. */
      tRead: positive.default(250e-9),
    })
    .prefault({}),
  /** Short-term read noise σ_i = wNoise·√(Σ_j |W_ij| x_j²) per MVM [w_noise, w_noise_type PCM_READ]. */
  readNoise: z.object({ wNoise: z.number().min(0).default(0.0175) }).prefault({}),
  /** Gaussian noise added to every output of every MVM, normalised units [out_noise]. */
  outNoise: z.object({ sigma: z.number().min(0).default(0.04) }).prefault({}),
  irDrop: z
    .object({
      /** [ir_drop]. */
      factor: z.number().min(0).default(1),
      /** Wire conductance over g_max [ir_drop_g_ratio]. */
      gRatio: positive.default(1 / (0.35 * 5e-6)),
    })
    .prefault({}),
  /** Seconds from the end of programming to the inference [t_inference]. */
  tInference: z.number().min(0).default(3600),
  /** Which non-idealities are simulated. drift covers drift and the accumulated 1/f noise. */
  noise: z
    .object({
      prog: z.boolean().default(true),
      read: z.boolean().default(true),
      out: z.boolean().default(true),
      drift: z.boolean().default(true),
      irdrop: z.boolean().default(true),
    })
    .prefault({}),
});

export type AimcConfig = z.infer<typeof schema>;

/** Profile presets: what a file's `profile` starts from before its own fields apply. */
const PRESETS: Record<Profile, object> = {
  standard: { profile: "standard" },
  custom: { profile: "custom" },
  exact: {
    profile: "exact",
    dac: { bits: 8 },
    adc: { bits: 8 },
    drift: { compensation: false },
    noise: { prog: false, read: false, out: false, drift: false, irdrop: false },
  },
};

function merge(base: unknown, over: unknown): unknown {
  if (base === null || typeof base !== "object" || Array.isArray(base)) return over;
  if (over === null || typeof over !== "object" || Array.isArray(over)) return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? merge(out[k], v) : v;
  return out;
}

function configError(msg: string, file?: string): HwacError {
  return new HwacError("HW5101", `AIMC config ${msg}`, file === undefined ? {} : { file });
}

/**
 * Validates a parsed JSON value. Its `profile` (default `custom`, which starts from `standard`)
 * picks the preset; the document's other fields override it. `exact` must stay noiseless with
 * 8-bit converters, since `hwac verify` compares it bit for bit with the integer reference.
 */
export function parseConfig(json: unknown, file?: string): AimcConfig {
  const profile =
    json !== null && typeof json === "object" && "profile" in json ? (json as { profile: unknown }).profile : "custom";
  const preset = (PROFILES as readonly unknown[]).includes(profile) ? PRESETS[profile as Profile] : {};
  const r = schema.safeParse(merge(preset, json));
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.length ? issue.path.join(".") : "(top level)";
    throw configError(`${path}: ${issue.message}`, file);
  }
  const c = r.data;
  if (c.profile === "exact") {
    const on = NON_IDEALITIES.filter((n) => c.noise[n]);
    if (on.length > 0) throw configError(`profile exact is noiseless, but noise.${on.join(", noise.")} is on; use profile custom`, file);
    if (c.dac.bits !== 8 || c.adc.bits !== 8) throw configError("profile exact has 8-bit converters; use profile custom", file);
  }
  for (const k of ["nuMean", "nuStd"] as const) {
    if (c.drift[k].min > c.drift[k].max) throw configError(`drift.${k}: min ${c.drift[k].min} exceeds max ${c.drift[k].max}`, file);
  }
  return c;
}

export function loadConfig(file: string): AimcConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw configError(`cannot be read: ${(e as Error).message}`, file);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw configError(`is not JSON: ${(e as Error).message}`, file);
  }
  return parseConfig(json, file);
}

export function profileConfig(profile: Profile): AimcConfig {
  return parseConfig({ profile });
}

/**
 * Parses `--aimc-noise`: a comma-separated subset of prog, read, out, drift, irdrop, or `none`.
 * Returns the switches with every non-ideality not named turned off.
 */
export function parseNoiseList(text: string): Record<NonIdeality, boolean> {
  const names = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const out = Object.fromEntries(NON_IDEALITIES.map((n) => [n, false])) as Record<NonIdeality, boolean>;
  if (names.length === 1 && names[0] === "none") return out;
  if (names.length === 0) throw new HwacError("HW5102", `--aimc-noise: expected ${NON_IDEALITIES.join(",")} or none, got an empty list`);
  for (const n of names) {
    if (!(NON_IDEALITIES as readonly string[]).includes(n)) {
      throw new HwacError("HW5102", `--aimc-noise: unknown non-ideality '${n}'; expected a list of ${NON_IDEALITIES.join(", ")}, or none`);
    }
    out[n as NonIdeality] = true;
  }
  return out;
}

/** The config with the given switches; a change to a named profile makes it `custom` (exact stays exact when all are off). */
export function withNoise(c: AimcConfig, noise: Record<NonIdeality, boolean>): AimcConfig {
  const same = NON_IDEALITIES.every((n) => c.noise[n] === noise[n]);
  const anyOn = NON_IDEALITIES.some((n) => noise[n]);
  const profile = same || (c.profile === "exact" && !anyOn) ? c.profile : "custom";
  return { ...c, profile, noise: { ...noise } };
}

/** Levels on each side of a signed converter or weight code of `bits` bits: 127 for 8, 7 for 4. */
export function levels(bitCount: number): number {
  return 2 ** (bitCount - 1) - 1;
}
