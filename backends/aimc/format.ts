/**
 * The AIMC program files (docs/aimc-format.md): `mapping.json`, where every layer's blocks sit on
 * which tiles with its scales and bias location, and `weights.bin`, the conductance codes of every
 * tile and the digital biases. Readers validate everything they rely on and fail with HW512x
 * (mapping.json) or HW513x (weights.bin) naming what is wrong.
 */
import { z } from "zod";
import { HwacError } from "../../ir/errors.js";
import { levels } from "./config.js";
import { checkMapping, mappingStats, type LayerMapping, type Mapping } from "./mapping.js";

/** A layer's digital parameters, stored beside its blocks. */
export interface LayerParams {
  /** Weight width; codes lie in ±(2^(bits−1) − 1), and that largest code programs g_max. */
  readonly weightBits: number;
  /** Per output column the weight scale s_w; per row block the DAC input range r_in. */
  readonly scales?: { readonly weight: readonly number[]; readonly input: readonly number[] };
  /** Where the layer's int32 bias (one per output) sits in weights.bin's bias section. */
  readonly bias: { readonly offset: number; readonly count: number } | null;
}

export type LayerRecord = LayerMapping & LayerParams;

export interface MappingFile extends Mapping {
  readonly layers: readonly LayerRecord[];
}

/** weights.bin decoded: every tile's codes back to back, then the biases. */
export interface WeightsImage {
  readonly tileRows: number;
  readonly tileCols: number;
  readonly tiles: number;
  /** Cell (t, r, c) at (t·tileRows + r)·tileCols + c: the signed weight code of the pair. */
  readonly codes: Int8Array;
  readonly bias: Int32Array;
}

export const MAPPING_FORMAT = "hwac-aimc-mapping";
export const FORMAT_VERSION = 1;
export const WEIGHTS_MAGIC = "HWAIMCW\0";
export const HEADER_BYTES = 32;

const count = z.number().int().min(0);
const blockSchema = z.strictObject({
  index: count, tile: count, row: count, col: count,
  inStart: count, inCount: count.min(1), outStart: count, outCount: count.min(1),
});
const layerSchema = z.strictObject({
  name: z.string().min(1),
  rows: count.min(1),
  cols: count.min(1),
  weightBits: z.number().int().min(2).max(8),
  blocks: z.array(blockSchema).min(1),
  scales: z.strictObject({ weight: z.array(z.number().positive()), input: z.array(z.number().positive()) }).optional(),
  bias: z.strictObject({ offset: count, count: count.min(1) }).nullable(),
});
const fileSchema = z.strictObject({
  format: z.literal(MAPPING_FORMAT),
  version: z.literal(FORMAT_VERSION),
  tile: z.strictObject({ rows: count.min(1), cols: count.min(1) }),
  tiles: count,
  /** Written for readers of the file; recomputed, never trusted. */
  stats: z.record(z.string(), z.number()).optional(),
  layers: z.array(layerSchema),
});

export function writeMappingJson(m: MappingFile): string {
  const doc = {
    format: MAPPING_FORMAT,
    version: FORMAT_VERSION,
    tile: { rows: m.tileRows, cols: m.tileCols },
    tiles: m.tiles,
    stats: mappingStats(m),
    layers: m.layers,
  };
  return `${JSON.stringify(doc, null, 1)}\n`;
}

export function readMappingJson(text: string, file?: string): MappingFile {
  const where = file === undefined ? {} : { file };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new HwacError("HW5120", `mapping.json is not JSON: ${(e as Error).message}`, where);
  }
  const r = fileSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new HwacError("HW5120", `mapping.json ${issue.path.join(".") || "(top level)"}: ${issue.message}`, where);
  }
  const d = r.data;
  const m: MappingFile = { tileRows: d.tile.rows, tileCols: d.tile.cols, tiles: d.tiles, layers: d.layers };
  checkMapping(m, file);
  for (const l of m.layers) {
    const bad = (msg: string) => new HwacError("HW5123", `mapping.json layer '${l.name}': ${msg}`, where);
    const rowBlocks = l.blocks.filter((b) => b.outStart === 0).length;
    if (l.scales && l.scales.weight.length !== l.cols) throw bad(`scales.weight has ${l.scales.weight.length} entries, expected one per output (${l.cols})`);
    if (l.scales && l.scales.input.length !== rowBlocks) throw bad(`scales.input has ${l.scales.input.length} entries, expected one per row block (${rowBlocks})`);
    if (l.bias && l.bias.count !== l.cols) throw bad(`bias.count is ${l.bias.count}, expected one per output (${l.cols})`);
  }
  return m;
}

/** A layer's quantized weights W[out, in] (row-major, out = cols, in = rows) and int32 bias. */
export interface LayerWeights {
  readonly codes: Int8Array;
  readonly bias?: Int32Array;
}

/**
 * Lays the layers' codes out on their tiles and the biases one after another (in layer order),
 * returning the file contents: the mapping with bias locations, and the weights image.
 */
export function assemble(
  m: Mapping, weights: readonly LayerWeights[], params: readonly Omit<LayerParams, "bias">[],
): { mapping: MappingFile; image: WeightsImage } {
  const codes = new Int8Array(m.tiles * m.tileRows * m.tileCols);
  const biasTotal = weights.reduce((s, w) => s + (w.bias?.length ?? 0), 0);
  const bias = new Int32Array(biasTotal);
  let biasAt = 0;
  const layers = m.layers.map((l, i): LayerRecord => {
    const w = weights[i]!;
    const q = levels(params[i]!.weightBits);
    const bad = (msg: string) => new HwacError("HW5123", `AIMC weights of layer '${l.name}': ${msg}`);
    if (w.codes.length !== l.rows * l.cols) throw bad(`${w.codes.length} codes, expected ${l.cols}×${l.rows}`);
    if (w.bias && w.bias.length !== l.cols) throw bad(`${w.bias.length} biases, expected ${l.cols}`);
    for (const b of l.blocks) {
      for (let j = 0; j < b.inCount; j++) {
        const base = (b.tile * m.tileRows + b.row + j) * m.tileCols + b.col;
        for (let o = 0; o < b.outCount; o++) {
          const v = w.codes[(b.outStart + o) * l.rows + b.inStart + j]!;
          if (v < -q || v > q) throw bad(`code ${v} outside ±${q}`);
          codes[base + o] = v;
        }
      }
    }
    let loc: LayerParams["bias"] = null;
    if (w.bias) {
      bias.set(w.bias, biasAt);
      loc = { offset: biasAt, count: w.bias.length };
      biasAt += w.bias.length;
    }
    return { ...l, ...params[i]!, bias: loc };
  });
  return {
    mapping: { tileRows: m.tileRows, tileCols: m.tileCols, tiles: m.tiles, layers },
    image: { tileRows: m.tileRows, tileCols: m.tileCols, tiles: m.tiles, codes, bias },
  };
}

function biasOffset(img: { tileRows: number; tileCols: number; tiles: number }): number {
  return HEADER_BYTES + Math.ceil((img.tiles * img.tileRows * img.tileCols) / 4) * 4;
}

export function encodeWeights(img: WeightsImage): Uint8Array {
  const at = biasOffset(img);
  const bytes = new Uint8Array(at + 4 * img.bias.length);
  const dv = new DataView(bytes.buffer);
  for (let i = 0; i < 8; i++) bytes[i] = WEIGHTS_MAGIC.charCodeAt(i);
  dv.setUint16(8, FORMAT_VERSION, true);
  dv.setUint16(10, HEADER_BYTES, true);
  dv.setUint32(12, img.tileRows, true);
  dv.setUint32(16, img.tileCols, true);
  dv.setUint32(20, img.tiles, true);
  dv.setUint32(24, img.bias.length, true);
  bytes.set(new Uint8Array(img.codes.buffer, img.codes.byteOffset, img.codes.length), HEADER_BYTES);
  for (let i = 0; i < img.bias.length; i++) dv.setInt32(at + 4 * i, img.bias[i]!, true);
  return bytes;
}

export function decodeWeights(bytes: Uint8Array, file?: string): WeightsImage {
  const bad = (msg: string) => new HwacError("HW5130", `weights.bin: ${msg}`, file === undefined ? {} : { file });
  if (bytes.length < HEADER_BYTES) throw bad(`${bytes.length} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (magic !== WEIGHTS_MAGIC) throw bad("not an AIMC weights file (bad magic)");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint16(8, true);
  if (version !== FORMAT_VERSION) throw bad(`version ${version}, this hwac reads version ${FORMAT_VERSION}`);
  if (dv.getUint16(10, true) !== HEADER_BYTES) throw bad(`header size ${dv.getUint16(10, true)}, expected ${HEADER_BYTES}`);
  const tileRows = dv.getUint32(12, true);
  const tileCols = dv.getUint32(16, true);
  const tiles = dv.getUint32(20, true);
  const biasCount = dv.getUint32(24, true);
  const at = biasOffset({ tileRows, tileCols, tiles });
  if (bytes.length !== at + 4 * biasCount) {
    throw bad(`${bytes.length} bytes, the header announces ${at + 4 * biasCount} (${tiles} tiles of ${tileRows}×${tileCols}, ${biasCount} biases)`);
  }
  const codes = new Int8Array(tiles * tileRows * tileCols);
  codes.set(new Int8Array(bytes.buffer, bytes.byteOffset + HEADER_BYTES, codes.length));
  const bias = new Int32Array(biasCount);
  for (let i = 0; i < biasCount; i++) bias[i] = dv.getInt32(at + 4 * i, true);
  return { tileRows, tileCols, tiles, codes, bias };
}

/** Checks that weights.bin belongs to mapping.json: same tiles, biases inside, codes within each layer's width. */
export function checkImage(m: MappingFile, img: WeightsImage, file?: string): void {
  const bad = (msg: string) => new HwacError("HW5131", `weights.bin does not match mapping.json: ${msg}`, file === undefined ? {} : { file });
  if (img.tileRows !== m.tileRows || img.tileCols !== m.tileCols || img.tiles !== m.tiles) {
    throw bad(`${img.tiles} tiles of ${img.tileRows}×${img.tileCols}, the mapping has ${m.tiles} of ${m.tileRows}×${m.tileCols}`);
  }
  for (const l of m.layers) {
    if (l.bias && l.bias.offset + l.bias.count > img.bias.length) {
      throw bad(`layer '${l.name}' bias ends at ${l.bias.offset + l.bias.count}, the file holds ${img.bias.length}`);
    }
    const q = levels(l.weightBits);
    for (const b of l.blocks) {
      const cells = blockCodes(img, b);
      if (cells.some((v) => v < -q || v > q)) throw bad(`layer '${l.name}' block ${b.index} holds codes outside ±${q}`);
    }
  }
}

/** A block's codes in crossbar layout: inCount rows × outCount columns. */
export function blockCodes(img: WeightsImage, b: LayerMapping["blocks"][number]): Int8Array {
  const out = new Int8Array(b.inCount * b.outCount);
  for (let j = 0; j < b.inCount; j++) {
    const base = (b.tile * img.tileRows + b.row + j) * img.tileCols + b.col;
    out.set(img.codes.subarray(base, base + b.outCount), j * b.outCount);
  }
  return out;
}

/** A layer's W[out, in] gathered back from its blocks. */
export function layerCodes(img: WeightsImage, l: LayerMapping): Int8Array {
  const w = new Int8Array(l.rows * l.cols);
  for (const b of l.blocks) {
    const cells = blockCodes(img, b);
    for (let j = 0; j < b.inCount; j++) {
      for (let i = 0; i < b.outCount; i++) w[(b.outStart + i) * l.rows + b.inStart + j] = cells[j * b.outCount + i]!;
    }
  }
  return w;
}
