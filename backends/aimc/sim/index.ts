/**
 * The AIMC interpreter: runs a compiled program (model.hir, mapping.json, weights.bin) with the
 * integer reference for the digital ops and the chip for every `hwac::AnalogMvm` node, tile by
 * tile through the analog model (noise as the config switches it). With the `exact` profile its
 * outputs equal `runQuantized(program.model)` bit for bit; with noise they are reproducible for a
 * seed whatever the batch split, since every draw is keyed by the inference index.
 */
import { HwacError } from "../../../ir/errors.js";
import type { Graph, Node, TensorType } from "../../../ir/graph.js";
import { runQuantized } from "../../../ir/interpret.js";
import type { Tensor } from "../../../ir/tensor.js";
import type { AimcConfig } from "../config.js";
import type { AimcProgram } from "../program.js";
import { programChip, type Chip } from "./chip.js";
import { evaluateAnalogMvm, prepareAnalogMvm, type AnalogMvmPlan, type MvmNodeTypes } from "./mvm-node.js";

export { programChip, type Chip, type ChipBlock, type ChipLayer } from "./chip.js";

export interface SimOptions {
  readonly config: AimcConfig;
  /** Noise seed (uint32); default 0. */
  readonly seed?: number;
  /** Seconds from programming to the inference; default the config's tInference. */
  readonly t?: number;
  /** Inference index of the feeds' first batch item; default 0. */
  readonly firstInference?: number;
  /** A chip programmed for this program, config, seed and t (programChip), reused across calls. */
  readonly chip?: Chip;
  /** Keep every intermediate value in the result. */
  readonly keepAll?: boolean;
}

/** Every AnalogMvm node of the graph and its subgraphs, with its X and Y types. */
function analogNodes(g: Graph, outer: readonly Graph[] = [], out = new Map<Node, MvmNodeTypes>()): Map<Node, MvmNodeTypes> {
  const scopes = [g, ...outer];
  const typeOf = (name: string): TensorType | undefined => {
    for (const s of scopes) {
      const t = s.valueTypes.get(name) ?? s.inputs.find((i) => i.name === name)?.type;
      if (t) return t;
    }
    return undefined;
  };
  for (const node of g.nodes) {
    if (isAnalogMvm(node)) {
      const x = typeOf(node.inputs[0] ?? "");
      const y = typeOf(node.outputs[0] ?? "");
      if (!x?.quant || !y?.quant) throw new HwacError("HW5151", `AnalogMvm '${node.name}' needs quantized X and Y types in model.hir`, { node: node.name, op: node.op });
      out.set(node, { x, y });
    }
    for (const a of Object.values(node.attrs)) {
      const subs = a.kind === "graph" ? [a.value] : a.kind === "graphs" ? a.value : [];
      for (const s of subs) analogNodes(s, scopes, out);
    }
  }
  return out;
}

function isAnalogMvm(node: Node): boolean {
  return node.domain === "hwac" && node.op === "AnalogMvm";
}

/** Refuses a chip programmed for another program, config, seed or inference time. */
function checkChip(chip: Chip, program: AimcProgram, config: AimcConfig, seed: number, t: number): void {
  const layers = program.mapping.layers;
  const sameLayers = chip.layers.size === layers.length && layers.every((l, i) => chip.layers.get(l.name)?.index === i);
  const sameConfig = chip.config === config || JSON.stringify(chip.config) === JSON.stringify(config);
  if (!sameLayers || !sameConfig || chip.seed !== seed || chip.t !== t) {
    throw new HwacError(
      "HW5150",
      `the chip given was programmed for another program or config, or for seed ${chip.seed} at t = ${chip.t} s instead of seed ${seed} at t = ${t} s`,
    );
  }
}

/** Each chip's node plans: its periphery is set up once, however many calls run on it. */
const plansByChip = new WeakMap<Chip, WeakMap<Node, AnalogMvmPlan>>();

/** Runs the program on `feeds` (by input name); returns the graph outputs by name. */
export function simulateAimc(
  program: AimcProgram,
  feeds: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>,
  opts: SimOptions,
): Map<string, Tensor> {
  const seed = opts.seed ?? 0;
  const t = opts.t ?? opts.config.tInference;
  const chip = opts.chip ?? programChip(program, opts.config, seed, t);
  if (opts.chip) checkChip(chip, program, opts.config, seed, t);
  let plans = plansByChip.get(chip);
  if (!plans) plansByChip.set(chip, (plans = new WeakMap()));
  let types: Map<Node, MvmNodeTypes> | undefined;
  const first = opts.firstInference ?? 0;
  const evaluate = (node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] | undefined => {
    if (!isAnalogMvm(node)) return undefined;
    let plan = plans!.get(node);
    if (!plan) {
      const layer = chip.layers.get(node.name);
      if (!layer) throw new HwacError("HW5151", `AnalogMvm '${node.name}' has no layer of that name in mapping.json`, { node: node.name, op: node.op });
      types ??= analogNodes(program.model.graph);
      plan = prepareAnalogMvm(node, types.get(node)!, layer, chip);
      plans!.set(node, plan);
    }
    return [evaluateAnalogMvm(plan, inputs[0]!, first)];
  };
  return runQuantized(program.model, feeds, { evaluate, keepAll: opts.keepAll });
}
