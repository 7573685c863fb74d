/**
 * Mapping weight matrices onto crossbar tiles. A layer's W[out, in] (conv: in = C_in·kh·kw) is
 * split as aihwkit's TileModuleArray splits it — n = ceil(size/max) near-equal parts, the first
 * size mod n one larger (1152 → 3 × 384; 513 → 257 + 256) — into row blocks (inputs) and column
 * blocks (outputs). Blocks are then packed onto shared tiles so that small layers do not hold a
 * whole tile each. Only one block of a tile is active per MVM (the others' rows are driven with
 * 0 and their columns not read), so sharing costs time, not accuracy.
 *
 * Packing: first-fit decreasing with the MaxRects free-space representation (J. Jylänki, "A
 * thousand ways to pack the bin", 2010). Blocks are taken by decreasing area (ties: taller, wider,
 * layer order, block order); each goes to the first tile where it fits, at the free rectangle with
 * the best short-side fit (ties: best long side, then top-most, left-most); a tile's free space
 * is kept as maximal free rectangles, split around each placed block and pruned of contained ones.
 * Blocks are never rotated: rows are inputs, columns outputs. Everything is integer and ordered,
 * so the result is deterministic.
 */
import { HwacError } from "../../ir/errors.js";

/** A layer as the mapper sees it: W has `rows` inputs and `cols` outputs. */
export interface LayerShape {
  readonly name: string;
  readonly rows: number;
  readonly cols: number;
}

export interface TileGeometry {
  readonly rows: number;
  readonly cols: number;
  /** Tiles on the chip; a mapping that needs more is refused. */
  readonly count?: number;
}

/** One block of a layer, placed on a tile. */
export interface Block {
  /** Index in the layer: rowBlock·(number of column blocks) + columnBlock. */
  readonly index: number;
  readonly tile: number;
  /** First crossbar row and column of the block on its tile. */
  readonly row: number;
  readonly col: number;
  /** The inputs (W's columns) and outputs (W's rows) it holds. */
  readonly inStart: number;
  readonly inCount: number;
  readonly outStart: number;
  readonly outCount: number;
}

export interface LayerMapping extends LayerShape {
  readonly blocks: readonly Block[];
}

export interface Mapping {
  readonly tileRows: number;
  readonly tileCols: number;
  /** Tiles used: 0 … tiles − 1. */
  readonly tiles: number;
  readonly layers: readonly LayerMapping[];
}

export interface MappingStats {
  readonly tilesUsed: number;
  readonly mappedCells: number;
  readonly availableCells: number;
  /** mappedCells / availableCells. */
  readonly utilization: number;
  /** ceil(weights / cells per tile): no mapping uses fewer tiles. */
  readonly lowerBound: number;
}

/** aihwkit's get_split_sizes: ceil(size/max) parts, the first (size mod parts) one larger. */
export function splitSizes(size: number, max: number): number[] {
  const n = Math.ceil(size / max);
  const base = Math.floor(size / n);
  const extra = size % n;
  return Array.from({ length: n }, (_, i) => base + (i < extra ? 1 : 0));
}

interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A tile's free space as maximal free rectangles (x = column, y = row). */
class FreeSpace {
  private free: Rect[];

  constructor(rows: number, cols: number) {
    this.free = [{ x: 0, y: 0, w: cols, h: rows }];
  }

  /** The best-short-side-fit position for a w × h block, or undefined when it does not fit. */
  find(w: number, h: number): Rect | undefined {
    let best: Rect | undefined;
    let bestKey: number[] = [];
    for (const f of this.free) {
      if (f.w < w || f.h < h) continue;
      const key = [Math.min(f.w - w, f.h - h), Math.max(f.w - w, f.h - h), f.y, f.x];
      if (best === undefined || lexLess(key, bestKey)) {
        best = { x: f.x, y: f.y, w, h };
        bestKey = key;
      }
    }
    return best;
  }

  /** Occupies u: every free rectangle it cuts is replaced by its (up to four) maximal parts outside u. */
  place(u: Rect): void {
    const next: Rect[] = [];
    for (const f of this.free) {
      if (u.x >= f.x + f.w || u.x + u.w <= f.x || u.y >= f.y + f.h || u.y + u.h <= f.y) {
        next.push(f);
        continue;
      }
      if (u.y > f.y) next.push({ x: f.x, y: f.y, w: f.w, h: u.y - f.y });
      if (u.y + u.h < f.y + f.h) next.push({ x: f.x, y: u.y + u.h, w: f.w, h: f.y + f.h - u.y - u.h });
      if (u.x > f.x) next.push({ x: f.x, y: f.y, w: u.x - f.x, h: f.h });
      if (u.x + u.w < f.x + f.w) next.push({ x: u.x + u.w, y: f.y, w: f.x + f.w - u.x - u.w, h: f.h });
    }
    this.free = next.filter((a, i) => !next.some((b, k) => k !== i && contains(b, a) && (!contains(a, b) || k < i)));
  }
}

function lexLess(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}

function contains(outer: Rect, inner: Rect): boolean {
  return inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.w <= outer.x + outer.w && inner.y + inner.h <= outer.y + outer.h;
}

function checkLayers(layers: readonly LayerShape[]): void {
  const names = new Set<string>();
  for (const l of layers) {
    if (l.name === "") throw new HwacError("HW5111", "AIMC mapping: a layer has an empty name");
    if (names.has(l.name)) throw new HwacError("HW5111", `AIMC mapping: layer names must be unique, '${l.name}' appears twice`);
    names.add(l.name);
    for (const [what, v] of [["rows", l.rows], ["cols", l.cols]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new HwacError("HW5111", `AIMC mapping: layer '${l.name}' ${what} must be a positive integer, got ${v}`);
    }
  }
}

/** Splits every layer into blocks and packs the blocks onto tiles. */
export function mapLayers(layers: readonly LayerShape[], geom: TileGeometry): Mapping {
  checkLayers(layers);
  interface Item { layer: number; index: number; inStart: number; inCount: number; outStart: number; outCount: number }
  const items: Item[] = [];
  layers.forEach((l, layer) => {
    const outSizes = splitSizes(l.cols, geom.cols);
    let inStart = 0;
    splitSizes(l.rows, geom.rows).forEach((inCount, rb) => {
      let outStart = 0;
      outSizes.forEach((outCount, cb) => {
        items.push({ layer, index: rb * outSizes.length + cb, inStart, inCount, outStart, outCount });
        outStart += outCount;
      });
      inStart += inCount;
    });
  });
  items.sort(
    (a, b) =>
      b.inCount * b.outCount - a.inCount * a.outCount || b.inCount - a.inCount || b.outCount - a.outCount ||
      a.layer - b.layer || a.index - b.index,
  );
  const tiles: FreeSpace[] = [];
  const placed: Block[][] = layers.map(() => []);
  for (const it of items) {
    let tile = 0;
    let at: Rect | undefined;
    for (; tile < tiles.length; tile++) {
      at = tiles[tile]!.find(it.outCount, it.inCount);
      if (at) break;
    }
    if (!at) {
      tiles.push(new FreeSpace(geom.rows, geom.cols));
      at = tiles[tile]!.find(it.outCount, it.inCount)!;
    }
    tiles[tile]!.place(at);
    const { layer, ...rest } = it;
    placed[layer]!.push({ ...rest, tile, row: at.y, col: at.x });
  }
  if (geom.count !== undefined && tiles.length > geom.count) {
    throw new HwacError("HW5110", `AIMC mapping needs ${tiles.length} tiles of ${geom.rows}×${geom.cols}, the chip has ${geom.count}`);
  }
  return {
    tileRows: geom.rows,
    tileCols: geom.cols,
    tiles: tiles.length,
    layers: layers.map((l, i) => ({ name: l.name, rows: l.rows, cols: l.cols, blocks: placed[i]!.sort((a, b) => a.index - b.index) })),
  };
}

export function mappingStats(m: Mapping): MappingStats {
  const cells = m.tileRows * m.tileCols;
  const mappedCells = m.layers.reduce((s, l) => s + l.rows * l.cols, 0);
  const availableCells = m.tiles * cells;
  return {
    tilesUsed: m.tiles,
    mappedCells,
    availableCells,
    utilization: availableCells === 0 ? 0 : mappedCells / availableCells,
    lowerBound: Math.ceil(mappedCells / cells),
  };
}

function overlaps(a0: number, an: number, b0: number, bn: number): boolean {
  return a0 < b0 + bn && b0 < a0 + an;
}

/**
 * Checks a mapping read from a file: blocks listed by index, every block inside its tile and its
 * layer's matrix, the blocks of a layer covering the matrix exactly once (HW5121), no two blocks
 * sharing a cell (HW5122).
 */
export function checkMapping(m: Mapping, file?: string): void {
  const where = file === undefined ? {} : { file };
  const bad = (code: string, msg: string) => new HwacError(code, `AIMC mapping: ${msg}`, where);
  const byTile: { layer: string; b: Block }[][] = Array.from({ length: m.tiles }, () => []);
  for (const l of m.layers) {
    let area = 0;
    l.blocks.forEach((b, k) => {
      const name = `layer '${l.name}' block ${b.index}`;
      if (b.index !== k) throw bad("HW5121", `layer '${l.name}' lists block ${b.index} at position ${k}; blocks are listed by index 0, 1, …`);
      if (b.tile >= m.tiles) throw bad("HW5121", `${name} is on tile ${b.tile}, but the mapping has ${m.tiles} tiles`);
      if (b.row + b.inCount > m.tileRows || b.col + b.outCount > m.tileCols) {
        throw bad("HW5121", `${name} (rows ${b.row}+${b.inCount}, columns ${b.col}+${b.outCount}) exceeds the ${m.tileRows}×${m.tileCols} tile`);
      }
      if (b.inStart + b.inCount > l.rows || b.outStart + b.outCount > l.cols) {
        throw bad("HW5121", `${name} (inputs ${b.inStart}+${b.inCount}, outputs ${b.outStart}+${b.outCount}) exceeds the layer's ${l.cols}×${l.rows} matrix`);
      }
      for (const o of l.blocks.slice(0, k)) {
        if (overlaps(b.inStart, b.inCount, o.inStart, o.inCount) && overlaps(b.outStart, b.outCount, o.outStart, o.outCount)) {
          throw bad("HW5121", `${name} and block ${o.index} hold the same weights`);
        }
      }
      area += b.inCount * b.outCount;
      byTile[b.tile]!.push({ layer: l.name, b });
    });
    if (area !== l.rows * l.cols) throw bad("HW5121", `the blocks of layer '${l.name}' hold ${area} of its ${l.rows * l.cols} weights`);
  }
  byTile.forEach((list, tile) => {
    list.sort((p, q) => p.b.row - q.b.row);
    for (let i = 0; i < list.length; i++) {
      const a = list[i]!.b;
      for (let k = i + 1; k < list.length && list[k]!.b.row < a.row + a.inCount; k++) {
        const c = list[k]!.b;
        if (overlaps(a.col, a.outCount, c.col, c.outCount)) {
          throw bad("HW5122", `on tile ${tile}, layer '${list[i]!.layer}' block ${a.index} overlaps layer '${list[k]!.layer}' block ${c.index}`);
        }
      }
    }
  });
}
