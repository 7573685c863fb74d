/**
 * The NNA machine configuration (`nna.json`, SPEC.md §3): one JSON document drives the assembler,
 * the simulator and the cycle model. Every field has the SPEC default, so `{}` is the default
 * machine; unknown keys are refused (a misspelt key would otherwise fall back to its default).
 * A program records the hash of the configuration it was built for.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { HwacError } from "../../ir/errors.js";

/** Address fields of the ISA are 16 bits wide: no scratchpad may hold more units than this. */
export const MAX_UNITS = 2 ** 16;

const positive = z.number().int().positive();

const schema = z.strictObject({
  name: z.string().default("nna-default"),
  /** Clock for latency in reports only. */
  clockHz: z.number().positive().default(1e9),
  /** The MAC array: one input vector of `blockIn` int8 times a blockIn × blockOut weight block per cycle. */
  gemm: z
    .strictObject({
      blockIn: positive.default(16),
      blockOut: positive.default(16),
    })
    .prefault({}),
  scratchpad: z
    .strictObject({
      inpBytes: positive.default(64 * 1024),
      wgtBytes: positive.default(256 * 1024),
      accBytes: positive.default(64 * 1024),
      outBytes: positive.default(64 * 1024),
      /** int16 entries shared by the 256-entry, 513-entry and codebook tables. */
      lutEntries: positive.default(4096),
    })
    .prefault({}),
  dma: z
    .strictObject({
      bytesPerCycle: positive.default(32),
      setupCycles: z.number().int().min(0).default(64),
    })
    .prefault({}),
  vector: z.strictObject({ lanes: positive.default(16) }).prefault({}),
  /** The largest DRAM image a program may declare. */
  dramMaxBytes: positive.default(2 ** 31),
});

export type NnaConfig = z.infer<typeof schema>;

/** Sizes of the scratchpads in their address units (docs/nna-isa.md, "Memories"). */
export interface Geometry {
  /** Bytes of one input vector (one GEMM row of one K block). */
  readonly vecBytes: number;
  /** Bytes of one weight block (blockIn × blockOut int8, or blockIn × 2·blockOut int4). */
  readonly blockBytes: number;
  /** int32 lanes of one accumulator vector. */
  readonly lanes: number;
  readonly inpVectors: number;
  readonly wgtBlocks: number;
  readonly accVectors: number;
  readonly outBytes: number;
  readonly lutEntries: number;
}

export function geometry(c: NnaConfig): Geometry {
  const { blockIn, blockOut } = c.gemm;
  const s = c.scratchpad;
  return {
    vecBytes: blockIn,
    blockBytes: blockIn * blockOut,
    lanes: blockOut,
    inpVectors: s.inpBytes / blockIn,
    wgtBlocks: s.wgtBytes / (blockIn * blockOut),
    accVectors: s.accBytes / (4 * blockOut),
    outBytes: s.outBytes,
    lutEntries: s.lutEntries,
  };
}

/** The rules zod cannot state per field: whole units, and unit counts the 16-bit address fields reach. */
function checkGeometry(c: NnaConfig): string | undefined {
  if (c.gemm.blockIn % 2 !== 0) return "gemm.blockIn: must be even (int4 inputs pack two per byte)";
  const g = geometry(c);
  const units: [string, number][] = [
    ["scratchpad.inpBytes", g.inpVectors],
    ["scratchpad.wgtBytes", g.wgtBlocks],
    ["scratchpad.accBytes", g.accVectors],
    ["scratchpad.outBytes", g.outBytes],
    ["scratchpad.lutEntries", g.lutEntries],
  ];
  for (const [path, n] of units) {
    if (!Number.isInteger(n)) return `${path}: must be a whole number of its address unit`;
    if (n > MAX_UNITS) return `${path}: at most ${MAX_UNITS} address units (16-bit address fields), got ${n}`;
  }
  if (g.lutEntries < 513) return "scratchpad.lutEntries: must hold one 513-entry table";
  return undefined;
}

/** Validates a parsed JSON value; errors are HW5001 naming the JSON path. */
export function parseConfig(json: unknown, file?: string): NnaConfig {
  const r = schema.safeParse(json);
  const where = file === undefined ? {} : { file };
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.length ? issue.path.join(".") : "(top level)";
    throw new HwacError("HW5001", `NNA config ${path}: ${issue.message}`, where);
  }
  const bad = checkGeometry(r.data);
  if (bad) throw new HwacError("HW5001", `NNA config ${bad}`, where);
  return r.data;
}

export function loadConfig(file: string): NnaConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new HwacError("HW5001", `cannot read the NNA config: ${(e as Error).message}`, { file });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new HwacError("HW5001", `the NNA config is not JSON: ${(e as Error).message}`, { file });
  }
  return parseConfig(json, file);
}

export const DEFAULT_CONFIG: NnaConfig = parseConfig({});

/** JSON with keys sorted at every level, so equal configs hash equally whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** 16 hex digits of the SHA-256 of the canonical, fully defaulted config (the program header holds 8 bytes). */
export function configHash(c: NnaConfig): string {
  return createHash("sha256").update(canonical(c)).digest("hex").slice(0, 16);
}
