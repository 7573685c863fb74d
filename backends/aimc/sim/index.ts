/**
 * The AIMC interpreter: runs a compiled program (model.hir, mapping.json, weights.bin) with the
 * integer reference for the digital ops and the chip for every analog node — `hwac::AnalogMvm`
 * (mvm-node.ts), `hwac::AnalogLSTM` and `hwac::AnalogGRU` (recurrent-node.ts) — tile by tile
 * through the analog model (noise as the config switches it). With the `exact` profile its
 * outputs equal `runQuantized(program.model)` bit for bit; with noise they are reproducible for a
 * seed whatever the batch split, since every draw is keyed by the inference index.
 */
import { HwacError } from "../../../ir/errors.js";
import type { Graph, Node, TensorType } from "../../../ir/graph.js";
import { runQuantized } from "../../../ir/interpret.js";
import type { Tensor } from "../../../ir/tensor.js";
import type { AimcConfig } from "../config.js";
import { ANALOG_OPS, type AimcProgram } from "../program.js";
import { programChip, type Chip } from "./chip.js";
import { evaluateAnalogMvm, prepareAnalogMvm } from "./mvm-node.js";
import { evaluateRecurrent, prepareRecurrent, type NodeTypes } from "./recurrent-node.js";

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

/** Every analog node of the graph and its subgraphs, with the types of its inputs and outputs. */
function analogNodes(g: Graph, outer: readonly Graph[] = [], out = new Map<Node, NodeTypes>()): Map<Node, NodeTypes> {
  const scopes = [g, ...outer];
  const typeOf = (name: string): TensorType | undefined => {
    if (name === "") return undefined;
    for (const s of scopes) {
      const t = s.valueTypes.get(name) ?? s.inputs.find((i) => i.name === name)?.type;
      if (t) return t;
    }
    return undefined;
  };
  for (const node of g.nodes) {
    if (isAnalog(node)) {
      out.set(node, { inTypes: node.inputs.map(typeOf), outTypes: node.outputs.map((v) => typeOf(v) ?? { dtype: "float32", shape: null }) });
    }
    for (const a of Object.values(node.attrs)) {
      const subs = a.kind === "graph" ? [a.value] : a.kind === "graphs" ? a.value : [];
      for (const s of subs) analogNodes(s, scopes, out);
    }
  }
  return out;
}

function isAnalog(node: Node): boolean {
  return node.domain === "hwac" && ANALOG_OPS.has(node.op);
}

/** A node prepared on a chip: evaluates its inputs, batch item i being inference firstInference + i. */
type NodeRun = (inputs: readonly (Tensor | undefined)[], firstInference: number) => Tensor[];

/** Sets a node's periphery up on a chip. */
function prepareNode(node: Node, types: NodeTypes, chip: Chip, opset: number): NodeRun {
  if (node.op !== "AnalogMvm") {
    const plan = prepareRecurrent(node, types, chip, opset);
    return (inputs, first) => evaluateRecurrent(plan, inputs, first);
  }
  const layer = chip.layers.get(node.name);
  if (!layer) throw new HwacError("HW5151", `AnalogMvm '${node.name}' has no layer of that name in mapping.json`, { node: node.name, op: node.op });
  const [x] = types.inTypes;
  const [y] = types.outTypes;
  if (!x?.quant || !y?.quant) throw new HwacError("HW5151", `AnalogMvm '${node.name}' needs quantized X and Y types in model.hir`, { node: node.name, op: node.op });
  const plan = prepareAnalogMvm(node, { x, y }, layer, chip);
  return (inputs, first) => [evaluateAnalogMvm(plan, inputs[0]!, first)];
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

/** Each chip's prepared nodes: its periphery is set up once, however many calls run on it. */
const plansByChip = new WeakMap<Chip, WeakMap<Node, NodeRun>>();

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
  let types: Map<Node, NodeTypes> | undefined;
  const first = opts.firstInference ?? 0;
  const evaluate = (node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] | undefined => {
    if (!isAnalog(node)) return undefined;
    let run = plans!.get(node);
    if (!run) {
      types ??= analogNodes(program.model.graph);
      run = prepareNode(node, types.get(node)!, chip, program.model.opsets[""] ?? 0);
      plans!.set(node, run);
    }
    return run(inputs, first);
  };
  return runQuantized(program.model, feeds, { evaluate, keepAll: opts.keepAll });
}
