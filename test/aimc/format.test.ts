import { describe, expect, it } from "vitest";
import {
  assemble, blockCodes, checkImage, decodeWeights, encodeWeights, layerCodes, readMappingJson,
  writeMappingJson, HEADER_BYTES, type LayerWeights,
} from "../../backends/aimc/format.js";
import { mapLayers, type LayerShape } from "../../backends/aimc/mapping.js";
import { philox4x32_10 } from "../../backends/aimc/rng.js";

const word = new Uint32Array(4);
function ints(n: number, range: number, stream: number): number[] {
  return Array.from({ length: n }, (_, k) => {
    philox4x32_10([k, stream, 0, 0], [7, 7], word);
    return (word[0]! % (2 * range + 1)) - range;
  });
}

const SHAPES: LayerShape[] = [
  { name: "conv", rows: 75, cols: 40 },
  { name: "big", rows: 150, cols: 70 },
  { name: "fc", rows: 64, cols: 10 },
];
const GEOM = { rows: 64, cols: 48 };
const BITS = [8, 4, 8];

function build() {
  const m = mapLayers(SHAPES, GEOM);
  const weights: LayerWeights[] = SHAPES.map((l, i) => ({
    codes: Int8Array.from(ints(l.rows * l.cols, BITS[i] === 4 ? 7 : 127, i)),
    ...(i === 1 ? {} : { bias: Int32Array.from(ints(l.cols, 100_000, 10 + i)) }),
  }));
  const params = SHAPES.map((l, i) => ({
    weightBits: BITS[i]!,
    scales: {
      weight: Array.from({ length: l.cols }, (_, c) => 0.01 + c / 1000),
      input: m.layers[i]!.blocks.filter((b) => b.outStart === 0).map((_, k) => 1.5 + k),
    },
  }));
  return { m, weights, ...assemble(m, weights, params) };
}

describe("mapping.json and weights.bin", () => {
  it("round-trip: every layer's codes, biases, blocks and scales come back", () => {
    const { weights, mapping, image } = build();
    const bytes = encodeWeights(image);
    expect(bytes.length).toBe(HEADER_BYTES + image.tiles * 64 * 48 + 4 * (40 + 10));
    expect(String.fromCharCode(...bytes.subarray(0, 8))).toBe("HWAIMCW\0");
    const img = decodeWeights(bytes);
    const doc = readMappingJson(writeMappingJson(mapping));
    expect(doc).toEqual(mapping);
    expect(() => checkImage(doc, img)).not.toThrow();
    doc.layers.forEach((l, i) => {
      expect(Array.from(layerCodes(img, l))).toEqual(Array.from(weights[i]!.codes));
      const bias = l.bias ? Array.from(img.bias.subarray(l.bias.offset, l.bias.offset + l.bias.count)) : undefined;
      expect(bias).toEqual(weights[i]!.bias ? Array.from(weights[i]!.bias!) : undefined);
    });
    expect(doc.layers.map((l) => l.bias)).toEqual([{ offset: 0, count: 40 }, null, { offset: 40, count: 10 }]);
    // A block in crossbar layout: row j = input inStart + j, column i = output outStart + i.
    const b = doc.layers[1]!.blocks[3]!;
    const cells = blockCodes(img, b);
    expect(cells[2 * b.outCount + 5]).toBe(weights[1]!.codes[(b.outStart + 5) * 150 + b.inStart + 2]);
    expect(encodeWeights(img)).toEqual(bytes);
  });

  it("writes the statistics for readers and lays blocks out readably", () => {
    const json = JSON.parse(writeMappingJson(build().mapping));
    expect(json.format).toBe("hwac-aimc-mapping");
    expect(json.stats.mappedCells).toBe(75 * 40 + 150 * 70 + 64 * 10);
    expect(Object.keys(json.layers[0].blocks[0])).toEqual(["index", "inStart", "inCount", "outStart", "outCount", "tile", "row", "col"]);
  });

  describe("mapping.json reader", () => {
    const text = writeMappingJson(build().mapping);
    const edit = (f: (j: any) => void) => {
      const j = JSON.parse(text);
      f(j);
      return () => readMappingJson(JSON.stringify(j), "m.json");
    };
    it("rejects overlapping blocks", () => {
      const read = edit((j) => {
        // fc's one block is 64 × 10 (the full tile height); put conv's 37 × 40 block 1 across it.
        const [fc, moved] = [j.layers[2].blocks[0], j.layers[0].blocks[1]];
        Object.assign(moved, { tile: fc.tile, row: 0, col: Math.min(fc.col, 48 - 40) });
      });
      expect(read).toThrow(expect.objectContaining({ code: "HW5122", message: expect.stringMatching(/overlaps/) }));
    });
    it("rejects blocks outside their tile, the tile count or the layer", () => {
      expect(edit((j) => { j.layers[0].blocks[0].row = 60; })).toThrow(expect.objectContaining({ code: "HW5121", message: expect.stringMatching(/exceeds the 64×48 tile/) }));
      expect(edit((j) => { j.layers[0].blocks[0].tile = j.tiles; })).toThrow(/is on tile \d+, but the mapping has \d+ tiles/);
      expect(edit((j) => { j.layers[2].blocks[0].inCount = 65; })).toThrow(/HW5121|exceeds/);
      expect(edit((j) => { j.layers[1].blocks.pop(); })).toThrow(/hold \d+ of its 10500 weights/);
    });
    it("rejects malformed documents with the JSON path", () => {
      expect(() => readMappingJson("{", "m.json")).toThrow(expect.objectContaining({ code: "HW5120" }));
      expect(edit((j) => { j.version = 2; })).toThrow(/mapping.json version/);
      expect(edit((j) => { j.layers[1].blocks[0].row = -1; })).toThrow(/layers.1.blocks.0.row/);
      expect(edit((j) => { j.layers[0].extra = 1; })).toThrow(expect.objectContaining({ code: "HW5120" }));
      expect(edit((j) => { j.layers[0].scales.weight.pop(); })).toThrow(expect.objectContaining({ code: "HW5123", message: expect.stringMatching(/one per output \(40\)/) }));
      expect(edit((j) => { j.layers[0].bias.count = 3; })).toThrow(/bias.count is 3/);
    });
  });

  describe("weights.bin reader", () => {
    const { mapping, image } = build();
    const bytes = encodeWeights(image);
    it("rejects a bad magic, version or size", () => {
      const bad = (f: (b: Uint8Array) => Uint8Array) => () => decodeWeights(f(bytes.slice()), "w.bin");
      expect(bad((b) => { b[0] = 0; return b; })).toThrow(expect.objectContaining({ code: "HW5130", message: expect.stringMatching(/bad magic/) }));
      expect(bad((b) => { b[8] = 9; return b; })).toThrow(/version 9/);
      expect(bad((b) => b.subarray(0, b.length - 1))).toThrow(/the header announces/);
      expect(bad((b) => b.subarray(0, 10))).toThrow(/shorter than the 32-byte header/);
    });
    it("rejects a file that does not belong to the mapping", () => {
      const img = decodeWeights(bytes);
      expect(() => checkImage(mapping, { ...img, tiles: img.tiles + 1 })).toThrow(expect.objectContaining({ code: "HW5131" }));
      expect(() => checkImage(mapping, { ...img, bias: img.bias.subarray(0, 45) })).toThrow(/fc' bias ends at 50/);
      const codes = img.codes.slice();
      const b = mapping.layers[1]!.blocks[0]!;
      codes[(b.tile * 64 + b.row) * 48 + b.col] = 8; // layer "big" is 4-bit: ±7
      expect(() => checkImage(mapping, { ...img, codes })).toThrow(/codes outside ±7/);
    });
  });
});
