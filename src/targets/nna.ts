/**
 * The NNA target: lowering a static quantized graph into a program (`model.nnab`, its assembly
 * `model.nnas`, the machine's `config.json`), running it on the simulator with the host's
 * boundary around it, and verifying it bit for bit against the integer reference.
 */
import { readFileSync } from "node:fs";
import { HwacError } from "../../ir/errors.js";
import type { Model } from "../../ir/graph.js";
import { runQuantized } from "../../ir/interpret.js";
import type { Tensor } from "../../ir/tensor.js";
import { DEFAULT_CONFIG, parseConfig, type NnaConfig } from "../../backends/nna/config.js";
import { estimateCycles, type CycleStats } from "../../backends/nna/cycles.js";
import { lowerWithProbes, type Probe } from "../../backends/nna/lower/index.js";
import { decodeProgram, encodeProgramSharing, type Program } from "../../backends/nna/program.js";
import { printProgramPieces } from "../../backends/nna/asm/index.js";
import { findRace } from "../../backends/nna/hazards.js";
import { simulate } from "../../backends/nna/sim/index.js";
import { runItems, splitItems, type Batching } from "../batch.js";
import type { TargetProgram } from "../compile.js";
import type { FileContent } from "../fsutil.js";
import { programFile, readManifest, readProgramModel } from "../program-dir.js";
import { boundaryOf, hostAfter, hostBefore } from "./host.js";
import { firstDifference, type Difference } from "./verify.js";

const bitsOf: Record<string, number> = { int4: 4, uint4: 4, int8: 8, uint8: 8, int16: 16, int32: 32 };

/** Per-layer rows of the report: the node's op and shapes beside the cycle model's numbers. */
function layerRows(model: Model, stats: CycleStats): Record<string, unknown>[] {
  const byName = new Map(model.graph.nodes.map((n) => [n.name, n]));
  const shape = (v: string) => model.graph.valueTypes.get(v)?.shape ?? model.graph.inputs.find((i) => i.name === v)?.type.shape ?? null;
  return stats.layers.filter((l) => l.name !== undefined).map((l) => {
    const n = byName.get(l.name!);
    const w = n?.inputs[1] ? model.graph.initializers.get(n.inputs[1]) : undefined;
    const x = n ? model.graph.valueTypes.get(n.inputs[0]!) : undefined;
    return {
      name: l.name,
      op: n?.op ?? null,
      inputShape: n ? shape(n.inputs[0]!) : null,
      outputShape: n ? shape(n.outputs[0]!) : null,
      weightBits: w ? (bitsOf[w.dtype] ?? null) : null,
      actBits: x ? (bitsOf[x.dtype] ?? null) : null,
      instructions: l.instructions,
      macs: l.macs,
      idealCycles: l.idealCycles,
      cycles: l.end - l.start,
      utilization: Math.round(l.utilization * 10000) / 10000,
      dramRead: l.dramRead,
      dramWritten: l.dramWritten,
    };
  });
}

/**
 * MAC-array utilization over the convolution layers: Σ ideal cycles (MACs / array MACs per
 * cycle) / Σ modelled cycles of their spans — the roofline number of docs/nna-isa.md.
 */
function convUtilization(model: Model, stats: CycleStats): number | null {
  const convs = new Set(model.graph.nodes.filter((n) => n.op === "Conv").map((n) => n.name));
  const layers = stats.layers.filter((l) => l.name !== undefined && convs.has(l.name));
  const span = layers.reduce((s, l) => s + (l.end - l.start), 0);
  return span > 0 ? Math.round((layers.reduce((s, l) => s + l.idealCycles, 0) / span) * 10000) / 10000 : null;
}

/**
 * The assembly is printed when the folder is written, not held as text beside the other files
 * from the compile on (a ResNet-50's is 60 MB); the program kept for it shares its weight
 * segments with the binary.
 */
export function compileNna(model: Model, config: NnaConfig = DEFAULT_CONFIG): TargetProgram {
  const lowered = lowerWithProbes(model, { config });
  const stats = estimateCycles(lowered.program, config);
  const { bytes, program } = encodeProgramSharing(lowered.program);
  return {
    model,
    files: new Map<string, FileContent>([
      ["model.nnab", bytes],
      ["model.nnas", { pieces: () => printProgramPieces(program) }],
      ["model.probes.json", JSON.stringify(lowered.probes, null, 1) + "\n"],
      ["config.json", JSON.stringify(config, null, 1) + "\n"],
    ]),
    stats: {
      config: config.name,
      clockHz: config.clockHz,
      cycles: stats.cycles,
      seconds: stats.seconds,
      instructions: program.insns.length,
      macs: stats.macs,
      idealCycles: stats.idealCycles,
      utilization: Math.round(stats.utilization * 10000) / 10000,
      convUtilization: convUtilization(model, stats),
      dramRead: stats.dramRead,
      dramWritten: stats.dramWritten,
      dramBytes: program.dramBytes,
      layers: layerRows(model, stats),
    },
    notices: [],
  };
}

export interface NnaFolder {
  model: Model;
  program: Program;
  config: NnaConfig;
  batching: Batching;
  /** Where each value sits in DRAM (`model.probes.json`), for naming the first differing layer. */
  probes: Probe[];
}

export function readNnaFolder(dir: string, config?: NnaConfig): NnaFolder {
  const model = readProgramModel(dir);
  const nnab = programFile(dir, "model.nnab");
  const program = decodeProgram(new Uint8Array(readFileSync(nnab)), nnab);
  const cfgPath = programFile(dir, "config.json");
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(cfgPath, "utf8"));
  } catch (e) {
    throw new HwacError("HW5001", `the NNA config is not JSON: ${(e as Error).message}`, { file: cfgPath });
  }
  const probesPath = programFile(dir, "model.probes.json");
  let probes: Probe[];
  try {
    probes = JSON.parse(readFileSync(probesPath, "utf8")) as Probe[];
  } catch (e) {
    throw new HwacError("HW6021", `model.probes.json is not JSON: ${(e as Error).message}`, { file: probesPath });
  }
  return { model, program, config: config ?? parseConfig(json, cfgPath), batching: readManifest(dir).batch, probes };
}

export interface NnaRun {
  outputs: Map<string, Tensor>;
  /** Cycles summed over the items. */
  cycles: number;
  items: number;
}

/** Runs the program on `feeds` (item by item when they hold several of its batches), with the host's parts around it. */
export function simulateNna(f: NnaFolder, feeds: ReadonlyMap<string, Tensor>, opts: { raw?: boolean } = {}): NnaRun {
  let cycles = 0;
  let items = 0;
  if (opts.raw) {
    // Raw codes stand for the graph's outputs only when the program writes them all.
    const made = new Set(f.program.tensors.filter((t) => t.kind === "output").map((t) => t.name));
    const after = f.model.graph.outputs.find((o) => !made.has(o.name));
    if (after) throw new HwacError("HW6010", `--raw writes the program's output codes, but the host computes graph output '${after.name}' after the program; leave out --raw`);
  }
  const outputs = runItems(f.model, f.batching, feeds, (item) => {
    const host = hostBefore(f.model, item);
    const sim = simulate(f.program, { config: f.config, inputs: Object.fromEntries(host.codes) });
    cycles += sim.stats.cycles;
    items++;
    return opts.raw ? sim.outputs : hostAfter(f.model, sim.outputs, host);
  });
  return { outputs, cycles, items };
}

/**
 * The first element where a probed value's int8 codes in DRAM differ from the reference's, or
 * undefined (also for values whose layout cannot be read back element by element).
 */
function layerDifference(p: Probe, model: Model, dram: Uint8Array, ref: ReadonlyMap<string, Tensor>): Omit<Difference, "item" | "output"> | undefined {
  const want = ref.get(p.value);
  if (!want || want.dtype !== "int8") return undefined;
  const n = want.data.length;
  const codes = new Int8Array(dram.buffer, dram.byteOffset, dram.byteLength);
  const got = new Int8Array(n);
  if (p.layout === "dense") {
    if (p.rows * p.cols !== n) return undefined;
    got.set(codes.subarray(p.addr, p.addr + n));
  } else {
    // nhwc: element (image, channel, pixel) of the value at byte (image·pixels + pixel)·cols + channel.
    const images = want.shape[0] ?? 1;
    const channels = p.channels ?? 0;
    const pixels = n / Math.max(1, images * channels);
    if (!channels || !Number.isInteger(pixels) || images * pixels !== p.rows) return undefined;
    for (let i = 0; i < images; i++) {
      for (let c = 0; c < channels; c++) {
        for (let q = 0; q < pixels; q++) got[(i * channels + c) * pixels + q] = codes[p.addr + (i * pixels + q) * p.cols + c]!;
      }
    }
  }
  const d = firstDifference({ dtype: "int8", shape: want.shape, data: got }, want);
  return d && { value: p.value, layer: p.node, ...d };
}

export interface VerifyResult {
  items: number;
  /** Output elements compared. */
  elements: number;
  difference?: Difference;
  /** The program's first race (hazards.ts): two accesses the tokens leave unordered, whatever the outputs. */
  race?: string;
}

/**
 * Simulator against the integer reference on every item: the program's inputs are the host's
 * codes, and each program output must equal the reference's codes of the same value; the first
 * element that differs, if any. First, the race check: a program whose tokens leave two
 * conflicting accesses unordered could give other results under another timing.
 */
export function verifyNna(f: NnaFolder, feeds: ReadonlyMap<string, Tensor>): VerifyResult {
  const race = findRace(f.program, f.config);
  if (race) return { items: 0, elements: 0, race };
  const items = splitItems(f.model, f.batching, feeds);
  const crossings = boundaryOf(f.model).outputs;
  let elements = 0;
  for (let k = 0; k < items.length; k++) {
    const ref = runQuantized(f.model, items[k]!, { keepAll: true });
    const sim = simulate(f.program, { config: f.config, inputs: Object.fromEntries(hostBefore(f.model, items[k]!).codes) });
    for (const t of f.program.tensors.filter((t) => t.kind === "output")) {
      const value = crossings.find((c) => c.name === t.name)?.codes;
      const want = value ? ref.get(value) : undefined;
      const got = sim.outputs.get(t.name);
      if (!want || !got) throw new HwacError("HW5041", `output '${t.name}' is not computed by the program`);
      elements += want.data.length;
      const d = firstDifference(got, want);
      if (d === undefined) continue;
      // Name the first layer, in graph order, whose codes in DRAM differ from the reference's.
      const first = f.probes.map((p) => layerDifference(p, f.model, sim.machine.dram, ref)).find((x) => x !== undefined);
      const at = first ?? { value: value!, ...d };
      return { items: k + 1, elements, difference: { item: k, output: t.name, ...at } };
    }
  }
  return { items: items.length, elements };
}
