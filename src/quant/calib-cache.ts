/**
 * Calibration cache: one JSON file per key in a cache folder. The key covers what the statistics
 * depend on — the model's bytes, the calibration files' bytes, the collection parameters and the
 * result format — and deliberately not the range method or bit widths, which are chosen from the
 * stored histograms afterwards. A missing, corrupt or mismatching file is a cache miss.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { Model } from "../../ir/graph.js";
import { writeFileAtomic } from "../fsutil.js";
import type { CalibrationData } from "./calib-data.js";
import { calibrate, CALIBRATION_FORMAT, type CalibrateOptions, type CalibrationResult } from "./calibrate.js";
import { HISTOGRAM_BINS } from "./observers.js";

/** What the collection itself depends on (see `CalibrateOptions`). */
export interface CollectParams {
  bins: number;
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

export function calibrationCacheKey(modelBytesHash: string, setsHash: string, params: CollectParams): string {
  return sha256Hex(JSON.stringify({ format: CALIBRATION_FORMAT, model: modelBytesHash, sets: setsHash, bins: params.bins }));
}

const statsSchema = z
  .object({
    count: z.number().nonnegative(),
    nonFinite: z.number().nonnegative(),
    min: z.number(),
    max: z.number(),
    hist: z.object({ width: z.number().nonnegative(), offset: z.number().int(), counts: z.array(z.number().nonnegative()) }).strict(),
  })
  .strict();

const fileSchema = z
  .object({
    key: z.string(),
    result: z
      .object({
        format: z.literal(CALIBRATION_FORMAT),
        bins: z.number().int().positive(),
        sets: z.number().int().positive(),
        values: z.record(z.string(), statsSchema),
        channelMeans: z.record(z.string(), z.array(z.number())),
      })
      .strict(),
  })
  .strict();

function cacheFile(dir: string, key: string): string {
  return join(dir, `calibration-${key}.json`);
}

export function readCache(dir: string, key: string): CalibrationResult | undefined {
  const file = cacheFile(dir, key);
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
  const parsed = fileSchema.safeParse(raw);
  return parsed.success && parsed.data.key === key ? parsed.data.result : undefined;
}

/** Writes the result under `key` (atomically); returns the file's path. */
export function writeCache(dir: string, key: string, result: CalibrationResult): string {
  const file = cacheFile(dir, key);
  writeFileAtomic(file, JSON.stringify({ key, result }));
  return file;
}

/**
 * `calibrate`, or the cached result for the same model bytes (hashed as `modelHash`), the same
 * calibration files and the same collection parameters. Without `cacheDir`, just calibrates.
 */
export function calibrateCached(
  model: Model,
  data: CalibrationData,
  modelHash: string,
  cacheDir: string | undefined,
  opts: CalibrateOptions = {},
): { result: CalibrationResult; cached: boolean } {
  if (cacheDir === undefined) return { result: calibrate(model, data.sets, opts), cached: false };
  const key = calibrationCacheKey(modelHash, data.hash, { bins: opts.bins ?? HISTOGRAM_BINS });
  const hit = readCache(cacheDir, key);
  if (hit) return { result: hit, cached: true };
  const result = calibrate(model, data.sets, opts);
  writeCache(cacheDir, key, result);
  return { result, cached: false };
}
