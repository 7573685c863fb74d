/**
 * The AIMC target: mapping a static quantized graph onto crossbar tiles (`mapping.json`,
 * `weights.bin`, the chip's `config.json`, and `model.hir` with its MVMs as `hwac::AnalogMvm`),
 * running it through the analog model under a seed, and verifying the noise-free chip bit for bit
 * against the integer reference of the same graph.
 */
import { readFileSync } from "node:fs";
import { HwacError } from "../../ir/errors.js";
import type { Model, Node } from "../../ir/graph.js";
import { runQuantized } from "../../ir/interpret.js";
import type { Tensor } from "../../ir/tensor.js";
import { parseConfig, profileConfig, withNoise, NON_IDEALITIES, type AimcConfig } from "../../backends/aimc/config.js";
import { lowerForAimc } from "../../backends/aimc/lower/index.js";
import { mappingStats } from "../../backends/aimc/mapping.js";
import { readProgram, writeProgramFiles, type AimcProgram } from "../../backends/aimc/program.js";
import { programChip, simulateAimc, type Chip } from "../../backends/aimc/sim/index.js";
import { runItems, splitItems, type Batching } from "../batch.js";
import type { TargetProgram } from "../compile.js";
import { programFile, readManifest } from "../program-dir.js";
import { outputCodesValue } from "./host.js";
import { firstDifference, type Difference } from "./verify.js";

export function compileAimc(model: Model, config: AimcConfig = profileConfig("standard")): TargetProgram {
  const low = lowerForAimc(model, { config });
  const stats = mappingStats(low.mapping);
  const files = new Map<string, Uint8Array | string>(writeProgramFiles(low));
  files.delete("model.hir"); // the compile writes the program graph itself
  files.set("config.json", JSON.stringify(config, null, 1) + "\n");
  return {
    model: low.model,
    files,
    stats: {
      profile: config.profile,
      tile: { rows: low.mapping.tileRows, cols: low.mapping.tileCols },
      tiles: low.mapping.tiles,
      ...stats,
      layers: low.mapping.layers.map((l) => ({
        name: l.name,
        rows: l.rows,
        cols: l.cols,
        weightBits: l.weightBits,
        blocks: l.blocks.length,
        tiles: [...new Set(l.blocks.map((b) => b.tile))],
      })),
      digital: low.digital,
    },
    notices: low.digital.map((d) => `${d.op} '${d.node}' runs on the digital periphery: ${d.reason}`),
  };
}

export interface AimcFolder {
  program: AimcProgram;
  /** The chip the program was compiled for. */
  config: AimcConfig;
  batching: Batching;
}

export function readAimcFolder(dir: string): AimcFolder {
  const program = readProgram(dir);
  const cfgPath = programFile(dir, "config.json");
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(cfgPath, "utf8"));
  } catch (e) {
    throw new HwacError("HW5101", `AIMC config is not JSON: ${(e as Error).message}`, { file: cfgPath });
  }
  return { program, config: parseConfig(json, cfgPath), batching: readManifest(dir).batch };
}

export interface AimcRunOptions {
  config: AimcConfig;
  seed: number;
  /** Seconds after programming (default: the config's tInference). */
  t?: number;
  /** Write the output codes instead of dequantized floats. */
  raw?: boolean;
  /** A chip already programmed for this program, config, seed and t. */
  chip?: Chip;
}

/** The converters and tiles are part of the program: a run may change the noise model, not them. */
function checkRunConfig(f: AimcFolder, c: AimcConfig): void {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  for (const k of ["tile", "dac", "adc"] as const) {
    if (!same(f.config[k], c[k])) throw new HwacError("HW5101", `AIMC config ${k} differs from the one the program was compiled for; recompile to change it`);
  }
}

/** Samples in one item: the program's size along its first batched input's batch axis. */
function itemSize(f: AimcFolder): number {
  for (const i of f.program.model.graph.inputs) {
    const axis = f.batching.inputs[i.name];
    const d = axis === undefined ? undefined : i.type.shape?.[axis];
    if (typeof d === "number") return d;
  }
  return 1;
}

/**
 * Runs the program on `feeds` (item by item when they hold several of its batches); item k's
 * draws use inference indices from k·batch, so results do not depend on how inputs are batched.
 */
export function simulateAimcFolder(f: AimcFolder, feeds: ReadonlyMap<string, Tensor>, o: AimcRunOptions): Map<string, Tensor> {
  checkRunConfig(f, o.config);
  const t = o.t ?? o.config.tInference;
  const chip = o.chip ?? programChip(f.program, o.config, o.seed, t);
  const perItem = itemSize(f);
  return runItems(f.program.model, f.batching, feeds, (item, k) => {
    const out = simulateAimc(f.program, item, { config: o.config, seed: o.seed, t, chip, firstInference: k * perItem, keepAll: o.raw });
    if (!o.raw) return out;
    return new Map(f.program.model.graph.outputs.map((g) => [g.name, out.get(outputCodesValue(f.program.model, g.name) ?? g.name)!]));
  });
}

/** The noise-free chip of the program: its converters and tiles, every non-ideality off. */
export function exactConfig(c: AimcConfig): AimcConfig {
  return withNoise(c, Object.fromEntries(NON_IDEALITIES.map((n) => [n, false])) as AimcConfig["noise"]);
}

/** The tile and crossbar column holding output channel `n` of an AnalogMvm layer. */
function tileOf(f: AimcFolder, node: Node, index: number[]): string | undefined {
  const layer = f.program.mapping.layers.find((l) => l.name === node.name);
  if (!layer) return undefined;
  const conv = node.attrs["kernel_shape"] !== undefined;
  const n = conv ? index[1]! : index[index.length - 1]!;
  const blocks = layer.blocks.filter((b) => n >= b.outStart && n < b.outStart + b.outCount);
  return blocks.map((b) => `tile ${b.tile}, rows ${b.row}–${b.row + b.inCount - 1}, column ${b.col + n - b.outStart}`).join("; ");
}

export interface AimcVerifyResult {
  items: number;
  elements: number;
  difference?: Difference;
}

/**
 * The noise-free interpreter, tile by tile from the mapping, against the integer reference of
 * the program graph, on every item: the first value in graph order that differs, if any.
 */
export function verifyAimc(f: AimcFolder, feeds: ReadonlyMap<string, Tensor>): AimcVerifyResult {
  const config = exactConfig(f.config);
  const model = f.program.model;
  const chip = programChip(f.program, config, 0, 0);
  const items = splitItems(model, f.batching, feeds);
  let elements = 0;
  for (let k = 0; k < items.length; k++) {
    const ref = runQuantized(model, items[k]!, { keepAll: true });
    const sim = simulateAimc(f.program, items[k]!, { config, seed: 0, t: 0, chip, keepAll: true, firstInference: k * itemSize(f) });
    for (const node of model.graph.nodes) {
      for (const v of node.outputs) {
        const want = ref.get(v);
        const got = sim.get(v);
        if (!want || !got) continue;
        elements += want.data.length;
        const d = firstDifference(got, want);
        if (d === undefined) continue;
        const output = model.graph.outputs.find((o) => o.name === v || outputCodesValue(model, o.name) === v)?.name ?? "(intermediate)";
        const detail = node.op === "AnalogMvm" ? tileOf(f, node, d.index) : undefined;
        return { items: k + 1, elements, difference: { item: k, output, value: v, layer: node.name, ...d, ...(detail ? { detail } : {}) } };
      }
    }
  }
  return { items: items.length, elements };
}
