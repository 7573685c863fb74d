/**
 * Quantization schemes: a default for the whole model and overrides by node name, op type or
 * name pattern (later overrides win), as `hwac quantize --config q.json` reads them.
 */
import { z } from "zod";
import { HwacError } from "../../ir/errors.js";
import type { Node } from "../../ir/graph.js";

export type CalibrationMethod = "minmax" | "percentile" | "mse" | "entropy";

export interface Scheme {
  /** Weight bits, 2–8 (per output channel, symmetric, narrow range). */
  weightBits: number;
  /** "int": uniform grid; "codebook": 2^weightBits int8 centroids (Lloyd-Max). */
  weightFormat: "int" | "codebook";
  /** Activation bits: 8 (asymmetric by default), 4 or 16 (symmetric). */
  actBits: 4 | 8 | 16;
  actSymmetric: boolean;
  perChannel: boolean;
  calibration: CalibrationMethod;
  /** "auto": MSE-optimal clipping at 4 bits or fewer, where outliers cost the most resolution; min/max above. */
  weightClip: "auto" | "minmax" | "mse";
  /**
   * "nearest"; "stochastic" (unbiased, seeded); "gptq": error-compensating rounding from the
   * calibration inputs' Hessian (gptq.ts) for per-channel weights of Conv, Gemm, MatMul, LSTM and
   * GRU, nearest for the other weights.
   */
  rounding: "nearest" | "stochastic" | "gptq";
  /** Keep the node in float (between DequantizeLinear and QuantizeLinear). */
  float: boolean;
}

export interface Override {
  /** Matches a node whose name equals `name`, whose op equals `op`, or whose name matches `pattern` (a RegExp source). */
  match: { name?: string; op?: string; pattern?: string };
  scheme: Partial<Scheme>;
}

export interface QuantConfig {
  default: Scheme;
  overrides: Override[];
  /** Seed of stochastic rounding. */
  seed: number;
}

export const DEFAULT_SCHEME: Scheme = {
  weightBits: 8,
  weightFormat: "int",
  actBits: 8,
  actSymmetric: false,
  perChannel: true,
  calibration: "mse",
  weightClip: "auto",
  rounding: "gptq",
  float: false,
};

/**
 * Ops kept float unless a config says otherwise: their outputs span many orders of magnitude
 * (power spectra, logarithms), which one 8-bit grid cannot hold — ONNX Runtime's quantizer does
 * not quantize them either. Override with `{"match": {"op": "Log"}, "scheme": {"float": false}}`.
 */
export const FLOAT_BY_DEFAULT: readonly string[] = ["Log", "Pow", "Sqrt", "Reciprocal"];

export function defaultConfig(partial: Partial<Scheme> = {}, seed = 0): QuantConfig {
  const overrides = FLOAT_BY_DEFAULT.map((op) => ({ match: { op }, scheme: { float: true } }));
  return { default: { ...DEFAULT_SCHEME, ...partial }, overrides, seed };
}

/** The scheme that applies to `node`. */
export function schemeFor(config: QuantConfig, node: Node): Scheme {
  let s = config.default;
  for (const o of config.overrides) {
    const m = o.match;
    const hit =
      (m.name !== undefined && m.name === node.name) ||
      (m.op !== undefined && m.op === node.op) ||
      (m.pattern !== undefined && new RegExp(m.pattern).test(node.name));
    if (hit) s = { ...s, ...o.scheme };
  }
  return s;
}

const schemeSchema = z
  .object({
    weightBits: z.number().int().min(2).max(8),
    weightFormat: z.enum(["int", "codebook"]),
    actBits: z.union([z.literal(4), z.literal(8), z.literal(16)]),
    actSymmetric: z.boolean(),
    perChannel: z.boolean(),
    calibration: z.enum(["minmax", "percentile", "mse", "entropy"]),
    weightClip: z.enum(["auto", "minmax", "mse"]),
    rounding: z.enum(["nearest", "stochastic", "gptq"]),
    float: z.boolean(),
  })
  .strict()
  .partial();

const configSchema = z
  .object({
    default: schemeSchema.optional(),
    overrides: z
      .array(
        z
          .object({
            match: z
              .object({ name: z.string().optional(), op: z.string().optional(), pattern: z.string().optional() })
              .strict()
              .refine((m) => m.name !== undefined || m.op !== undefined || m.pattern !== undefined, {
                message: "needs 'name', 'op' or 'pattern'",
              }),
            scheme: schemeSchema,
          })
          .strict(),
      )
      .optional(),
    seed: z.number().int().min(0).optional(),
  })
  .strict();

/** Parses a JSON config `{ "default": {...}, "overrides": [{ "match": {...}, "scheme": {...} }], "seed": 0 }` over `base`. */
export function parseConfig(text: string, file: string, base: QuantConfig): QuantConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new HwacError("HW4012", `not valid JSON: ${(e as Error).message}`, { file });
  }
  const r = configSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.length ? issue.path.join(".") : "(top level)";
    throw new HwacError("HW4011", `${path}: ${issue.message}`, { file });
  }
  const c = r.data;
  const overrides = (c.overrides ?? []).map((o) => ({ match: o.match, scheme: o.scheme as Partial<Scheme> }));
  return {
    default: { ...base.default, ...(c.default as Partial<Scheme>) },
    overrides: [...base.overrides, ...overrides],
    seed: c.seed ?? base.seed,
  };
}
