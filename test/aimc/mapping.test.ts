import { describe, expect, it } from "vitest";
import {
  checkMapping, mapLayers, mappingStats, splitSizes, type LayerShape, type Mapping,
} from "../../backends/aimc/mapping.js";
import { philox4x32_10 } from "../../backends/aimc/rng.js";
import { resnet50Layers } from "./helpers.js";

const TILE = { rows: 512, cols: 512 };

describe("splitting", () => {
  it("splits as aihwkit: n = ceil(size/max) near-equal parts, the larger first", () => {
    expect(splitSizes(1152, 512)).toEqual([384, 384, 384]);
    expect(splitSizes(513, 512)).toEqual([257, 256]);
    expect(splitSizes(512, 512)).toEqual([512]);
    expect(splitSizes(2304, 512)).toEqual([461, 461, 461, 461, 460]);
    expect(splitSizes(1, 512)).toEqual([1]);
  });

  it("maps (in 1152, out 512) as 3 row blocks of 384 and (513, 512) as 257 + 256", () => {
    const m = mapLayers([{ name: "a", rows: 1152, cols: 512 }, { name: "b", rows: 513, cols: 512 }], TILE);
    expect(m.layers[0]!.blocks.map((b) => [b.inStart, b.inCount, b.outStart, b.outCount])).toEqual([
      [0, 384, 0, 512], [384, 384, 0, 512], [768, 384, 0, 512],
    ]);
    expect(m.layers[1]!.blocks.map((b) => [b.inStart, b.inCount])).toEqual([[0, 257], [257, 256]]);
    // No two of these full-width blocks share a tile (the smallest pair, 257 + 256, is 513 rows high).
    expect(m.tiles).toBe(5);
  });

  it("splits outputs as well, indexing blocks row block first", () => {
    const m = mapLayers([{ name: "fc", rows: 2048, cols: 1000 }], TILE);
    const blocks = m.layers[0]!.blocks;
    expect(blocks).toHaveLength(8);
    expect(blocks.map((b) => [b.index, b.inStart, b.outStart, b.outCount])).toEqual([
      [0, 0, 0, 500], [1, 0, 500, 500], [2, 512, 0, 500], [3, 512, 500, 500],
      [4, 1024, 0, 500], [5, 1024, 500, 500], [6, 1536, 0, 500], [7, 1536, 500, 500],
    ]);
  });
});

describe("packing", () => {
  it("shares tiles between small blocks", () => {
    const m = mapLayers(["a", "b", "c", "d"].map((name) => ({ name, rows: 256, cols: 256 })), TILE);
    expect(m.tiles).toBe(1);
    expect(mappingStats(m)).toEqual({ tilesUsed: 1, mappedCells: 262144, availableCells: 262144, utilization: 1, lowerBound: 1 });
    expect(m.layers.map((l) => [l.blocks[0]!.row, l.blocks[0]!.col]).sort()).toEqual([[0, 0], [0, 256], [256, 0], [256, 256]]);
  });

  /** Paints every block into per-tile occupancy maps; throws on a cell painted twice or off the tile. */
  function paint(m: Mapping): number {
    const cells = new Uint8Array(m.tiles * m.tileRows * m.tileCols);
    let painted = 0;
    for (const l of m.layers) {
      for (const b of l.blocks) {
        expect(b.row + b.inCount).toBeLessThanOrEqual(m.tileRows);
        expect(b.col + b.outCount).toBeLessThanOrEqual(m.tileCols);
        for (let r = 0; r < b.inCount; r++) {
          for (let c = 0; c < b.outCount; c++) {
            const k = (b.tile * m.tileRows + b.row + r) * m.tileCols + b.col + c;
            if (cells[k]) throw new Error(`overlap on tile ${b.tile} at ${b.row + r},${b.col + c}`);
            cells[k] = 1;
            painted++;
          }
        }
      }
    }
    return painted;
  }

  it("never overlaps, covers every weight once and splits near-equally (200 random layer lists)", () => {
    const word = new Uint32Array(4);
    let draw = 0;
    const rand = (n: number) => {
      philox4x32_10([draw++, 0, 0, 0], [2024, 1], word);
      return word[0]! % n;
    };
    const geometries = [{ rows: 128, cols: 128 }, { rows: 64, cols: 96 }, { rows: 37, cols: 23 }];
    for (let trial = 0; trial < 200; trial++) {
      const geom = geometries[trial % 3]!;
      const layers: LayerShape[] = Array.from({ length: 1 + rand(30) }, (_, i) => ({
        name: `l${i}`,
        rows: 1 + rand(3 * geom.rows),
        cols: 1 + rand(2 * geom.cols),
      }));
      const m = mapLayers(layers, geom);
      const stats = mappingStats(m);
      expect(paint(m)).toBe(stats.mappedCells);
      expect(() => checkMapping(m)).not.toThrow();
      expect(stats.tilesUsed).toBeGreaterThanOrEqual(stats.lowerBound);
      for (const l of m.layers) {
        const rowBlocks = l.blocks.filter((b) => b.outStart === 0).map((b) => b.inCount);
        expect(rowBlocks).toHaveLength(Math.ceil(l.rows / geom.rows));
        expect(Math.max(...rowBlocks) - Math.min(...rowBlocks)).toBeLessThanOrEqual(1);
      }
    }
  });

  it("maps ResNet-50 within 10% of the lower bound", () => {
    const layers = resnet50Layers();
    expect(layers).toHaveLength(54); // stem, 16 × 3 bottleneck convs, 4 projections, fc
    const m = mapLayers(layers, TILE);
    const stats = mappingStats(m);
    // ResNet-50's 25,557,032 parameters less 53,120 BatchNorm and 1000 fc-bias parameters.
    expect(stats.mappedCells).toBe(25_502_912);
    expect(stats.lowerBound).toBe(98);
    expect(stats.tilesUsed).toBe(100);
    expect(stats.tilesUsed).toBeLessThanOrEqual(Math.floor(1.1 * stats.lowerBound));
    expect(stats.utilization).toBeCloseTo(25_502_912 / (100 * 262_144), 12);
    expect(paint(m)).toBe(stats.mappedCells);
    expect(mapLayers(layers, TILE)).toEqual(m); // deterministic
  });

  it("refuses layer lists it cannot map", () => {
    expect(() => mapLayers([{ name: "a", rows: 512, cols: 512 }, { name: "b", rows: 1, cols: 1 }], { ...TILE, count: 1 }))
      .toThrow(/needs 2 tiles of 512×512, the chip has 1/);
    expect(() => mapLayers([{ name: "a", rows: 0, cols: 4 }], TILE)).toThrow(/rows must be a positive integer/);
    expect(() => mapLayers([{ name: "a", rows: 1, cols: 4 }, { name: "a", rows: 1, cols: 4 }], TILE)).toThrow(/unique/);
  });
});
