/**
 * An AIMC program: one folder holding `model.hir` (the AIMC-quantized graph, ir/text), and
 * `mapping.json` and `weights.bin` (format.ts, docs/aimc-format.md). The layers of mapping.json
 * are those of the graph's analog nodes in graph order: one per `hwac::AnalogMvm` (named as the
 * node), and per direction d of an `hwac::AnalogLSTM` / `hwac::AnalogGRU` two, `<node>.W<d>` and
 * `<node>.R<d>` (W[d] and R[d] as [gates·hidden, K], no bias: B stays the node's). The
 * interpreter reads a layer's weights from weights.bin while the integer reference reads the
 * node's, so a reader checks that the three files tell one story: every node matches its layers
 * in name, K, N, row blocks, weight bits, input ranges, weight scales, weight codes and bias
 * (HW5132, naming the layer). A missing or unreadable file is HW5133.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { HwacError } from "../../ir/errors.js";
import type { Model, Node } from "../../ir/graph.js";
import { attrsOf } from "../../ir/op.js";
import { parseModel, printModel } from "../../ir/text/index.js";
import {
  checkImage, decodeWeights, encodeWeights, layerCodes, readMappingJson, writeMappingJson, type LayerRecord,
  type MappingFile, type WeightsImage,
} from "./format.js";

export interface AimcProgram {
  readonly model: Model;
  readonly mapping: MappingFile;
  readonly image: WeightsImage;
}

export const MODEL_FILE = "model.hir";
export const MAPPING_FILE = "mapping.json";
export const WEIGHTS_FILE = "weights.bin";

/** The folder's files by name. */
export function writeProgramFiles(p: AimcProgram): Map<string, Uint8Array> {
  const text = new TextEncoder();
  return new Map([
    [MODEL_FILE, text.encode(printModel(p.model))],
    [MAPPING_FILE, text.encode(writeMappingJson(p.mapping))],
    [WEIGHTS_FILE, encodeWeights(p.image)],
  ]);
}

function readFile(dir: string, name: string): Uint8Array {
  const file = join(dir, name);
  try {
    return readFileSync(file);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "is missing" : `cannot be read: ${(e as Error).message}`;
    throw new HwacError("HW5133", `the AIMC program's ${name} ${why}`, { file });
  }
}

/** Reads and validates a program folder. */
export function readProgram(dir: string): AimcProgram {
  const text = new TextDecoder();
  const mappingFile = join(dir, MAPPING_FILE);
  const weightsFile = join(dir, WEIGHTS_FILE);
  const modelFile = join(dir, MODEL_FILE);
  const mapping = readMappingJson(text.decode(readFile(dir, MAPPING_FILE)), mappingFile);
  const image = decodeWeights(readFile(dir, WEIGHTS_FILE), weightsFile);
  checkImage(mapping, image, weightsFile);
  const model = parseModel(text.decode(readFile(dir, MODEL_FILE)), modelFile);
  const p = { model, mapping, image };
  checkProgram(p, dir);
  return p;
}

/** The ops whose nodes own crossbar layers. */
export const ANALOG_OPS: ReadonlySet<string> = new Set(["AnalogMvm", "AnalogLSTM", "AnalogGRU"]);

/** The analog nodes of a graph (AnalogMvm, AnalogLSTM, AnalogGRU), in order. */
export function analogNodes(model: Model): Node[] {
  return model.graph.nodes.filter((n) => n.domain === "hwac" && ANALOG_OPS.has(n.op));
}

/** One of a node's layers as the node describes it. */
interface NodeLayer {
  readonly name: string;
  /** The node's weight input, W[out, in], or a recurrent node's W or R [dirs, gates·hidden, K]; `what` names it. */
  readonly weight: string;
  readonly what: "W" | "R";
  /** Direction of a recurrent node's matrix; undefined for AnalogMvm. */
  readonly dir: number | undefined;
  readonly rowBlocks: string;
  readonly inputRange: string;
  /** The node's bias input (AnalogMvm's B); a recurrent node's layers have none. */
  readonly bias: string | undefined;
}

/** A node's layers in mapping order: AnalogMvm's one, or W<d> then R<d> per direction. */
function nodeLayers(node: Node): NodeLayer[] {
  if (node.op === "AnalogMvm") {
    return [{ name: node.name, weight: node.inputs[1] ?? "", what: "W", dir: undefined, rowBlocks: "row_blocks", inputRange: "input_range", bias: node.inputs[2] || undefined }];
  }
  const dirs = attrsOf(node).string("direction", "forward") === "bidirectional" ? 2 : 1;
  return Array.from({ length: dirs }, (_, d) => (["W", "R"] as const).map((what, i): NodeLayer => {
    const attr = what.toLowerCase();
    return { name: `${node.name}.${what}${d}`, weight: node.inputs[1 + i] ?? "", what, dir: d, rowBlocks: `${attr}_row_blocks`, inputRange: `${attr}_input_range`, bias: undefined };
  })).flat();
}

function sameList(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const list = (a: ArrayLike<number>) => `[${Array.from(a).join(", ")}]`;

/** Checks that every analog node of the model matches its mapping layers (HW5132). */
export function checkProgram(p: AimcProgram, file?: string): void {
  const expected = analogNodes(p.model).flatMap((node) => nodeLayers(node).map((layer) => ({ node, layer })));
  const where = file === undefined ? {} : { file };
  if (expected.length !== p.mapping.layers.length) {
    throw new HwacError("HW5132", `the model's analog nodes have ${expected.length} layers, mapping.json ${p.mapping.layers.length}`, where);
  }
  expected.forEach(({ node, layer }, i) => checkLayer(p, node, layer, p.mapping.layers[i]!, i, file));
}

function checkLayer(p: AimcProgram, node: Node, nl: NodeLayer, l: LayerRecord, index: number, file?: string): void {
  const bad = (msg: string) => new HwacError("HW5132", `AIMC layer '${l.name}' (layer ${index}): ${msg}`, { ...(file === undefined ? {} : { file }), node: node.name, op: node.op });
  if (nl.name !== l.name) throw bad(nl.dir === undefined ? `its AnalogMvm node is named '${node.name}'` : `its ${node.op} node '${node.name}' has the layer '${nl.name}' here`);
  const g = p.model.graph;
  const what = nl.what;
  const w = g.initializers.get(nl.weight);
  if (!w) throw bad(`the node's ${what} '${nl.weight}' is not an initializer`);
  const dirs = nl.dir === undefined ? 1 : w.shape[0]!;
  const n = nl.dir === undefined ? w.shape[0]! : w.shape[1]!;
  const k = w.data.length / (dirs * n);
  if (n !== l.cols || k !== l.rows) throw bad(`the node's ${what} is [${n}, ${k}] as [N, K], the layer ${l.cols} outputs × ${l.rows} inputs`);
  const attrs = attrsOf(node);
  if (attrs.int("weight_bits") !== l.weightBits) throw bad(`weight_bits ${attrs.int("weight_bits")}, the layer has weightBits ${l.weightBits}`);
  const rowBlocks = l.blocks.filter((b) => b.outStart === 0).map((b) => b.inCount);
  if (!sameList(attrs.ints(nl.rowBlocks), rowBlocks)) throw bad(`${nl.rowBlocks} ${list(attrs.ints(nl.rowBlocks))}, the layer's row blocks are ${list(rowBlocks)}`);
  if (!l.scales) throw bad("mapping.json gives no scales");
  if (!sameList(attrs.floats(nl.inputRange), l.scales.input)) {
    throw bad(`${nl.inputRange} ${list(attrs.floats(nl.inputRange))}, the layer's scales.input ${list(l.scales.input)}`);
  }
  const sw = g.valueTypes.get(nl.weight)?.quant?.scale;
  const perOutput = sw?.length === 1 ? new Array<number>(n).fill(sw[0]!) : sw;
  if (!perOutput || !sameList(perOutput, l.scales.weight)) throw bad(`the weight scales of ${what}'s type differ from the layer's scales.weight`);
  const size = n * k;
  const codes = (w.data as Int8Array).subarray((nl.dir ?? 0) * size, ((nl.dir ?? 0) + 1) * size);
  if (!sameList(codes, layerCodes(p.image, l))) throw bad(`${what}'s codes differ from the layer's codes in weights.bin`);
  const b = g.initializers.get(nl.bias ?? "");
  if (nl.bias && !b) throw bad(`the node's B '${nl.bias}' is not an initializer`);
  if (!b !== !l.bias) throw bad(b ? "the node has a bias, the layer none" : "the layer has a bias, the node none");
  if (b && l.bias && !sameList(b.data as Int32Array, p.image.bias.subarray(l.bias.offset, l.bias.offset + l.bias.count))) {
    throw bad("B differs from the layer's bias in weights.bin");
  }
}
