/**
 * An AIMC program: one folder holding `model.hir` (the AIMC-quantized graph, ir/text), and
 * `mapping.json` and `weights.bin` (format.ts, docs/aimc-format.md). Layer i of mapping.json is
 * the i-th `hwac::AnalogMvm` node in graph order, and the interpreter reads a layer's weights
 * from weights.bin while the integer reference reads the node's, so a reader checks that the
 * three files tell one story: every node matches its layer in name, K, N, row blocks, weight
 * bits, input ranges, weight scales, weight codes and bias (HW5132, naming the layer). A
 * missing or unreadable file is HW5133.
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

/** The AnalogMvm nodes of a graph, in order. */
export function analogNodes(model: Model): Node[] {
  return model.graph.nodes.filter((n) => n.domain === "hwac" && n.op === "AnalogMvm");
}

function sameList(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const list = (a: ArrayLike<number>) => `[${Array.from(a).join(", ")}]`;

/** Checks that every AnalogMvm node of the model matches its mapping layer (HW5132). */
export function checkProgram(p: AimcProgram, file?: string): void {
  const nodes = analogNodes(p.model);
  const where = file === undefined ? {} : { file };
  if (nodes.length !== p.mapping.layers.length) {
    throw new HwacError("HW5132", `the model has ${nodes.length} AnalogMvm nodes, mapping.json ${p.mapping.layers.length} layers`, where);
  }
  nodes.forEach((node, i) => checkLayer(p, node, p.mapping.layers[i]!, i, file));
}

function checkLayer(p: AimcProgram, node: Node, l: LayerRecord, index: number, file?: string): void {
  const bad = (msg: string) => new HwacError("HW5132", `AIMC layer '${l.name}' (layer ${index}): ${msg}`, { ...(file === undefined ? {} : { file }), node: node.name, op: node.op });
  if (node.name !== l.name) throw bad(`its AnalogMvm node is named '${node.name}'`);
  const g = p.model.graph;
  const w = g.initializers.get(node.inputs[1] ?? "");
  if (!w) throw bad(`the node's W '${node.inputs[1] ?? ""}' is not an initializer`);
  const attrs = attrsOf(node);
  const n = w.shape[0]!;
  const k = w.data.length / n;
  if (n !== l.cols || k !== l.rows) throw bad(`the node's W is [${n}, ${k}] as [N, K], the layer ${l.cols} outputs × ${l.rows} inputs`);
  if (attrs.int("weight_bits") !== l.weightBits) throw bad(`weight_bits ${attrs.int("weight_bits")}, the layer has weightBits ${l.weightBits}`);
  const rowBlocks = l.blocks.filter((b) => b.outStart === 0).map((b) => b.inCount);
  if (!sameList(attrs.ints("row_blocks"), rowBlocks)) throw bad(`row_blocks ${list(attrs.ints("row_blocks"))}, the layer's row blocks are ${list(rowBlocks)}`);
  if (!l.scales) throw bad("mapping.json gives no scales");
  if (!sameList(attrs.floats("input_range"), l.scales.input)) {
    throw bad(`input_range ${list(attrs.floats("input_range"))}, the layer's scales.input ${list(l.scales.input)}`);
  }
  const sw = g.valueTypes.get(node.inputs[1]!)?.quant?.scale;
  if (!sw || !sameList(sw, l.scales.weight)) throw bad("the weight scales of W's type differ from the layer's scales.weight");
  const codes = layerCodes(p.image, l);
  if (!sameList(w.data as Int8Array, codes)) throw bad("W's codes differ from the layer's codes in weights.bin");
  const b = g.initializers.get(node.inputs[2] ?? "");
  if (node.inputs[2] && !b) throw bad(`the node's B '${node.inputs[2]}' is not an initializer`);
  if (!b !== !l.bias) throw bad(b ? "the node has a bias, the layer none" : "the layer has a bias, the node none");
  if (b && l.bias && !sameList(b.data as Int32Array, p.image.bias.subarray(l.bias.offset, l.bias.offset + l.bias.count))) {
    throw bad("B differs from the layer's bias in weights.bin");
  }
}
