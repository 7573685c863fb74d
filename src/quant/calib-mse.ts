/**
 * Expected quantization error of a histogram on a grid: the objective of the `mse` range method.
 * The values of each bin are taken as spread uniformly over it, and the squared distance to the
 * nearest grid point is integrated exactly, so the estimate stays right when a bin is narrower
 * than a step (4 bits) or wider than many (16 bits).
 */
import { intRange } from "../../ir/dtype.js";
import type { Histogram } from "./observers.js";
import { activationType, type ActRange } from "./quantize.js";

/** The representable values gLo, gLo + s, …, gHi of a quantized type. */
export interface Grid {
  readonly gLo: number;
  readonly gHi: number;
  readonly s: number;
}

/** The grid the quantizer (`activationType`) makes of `range`. */
export function gridOf(range: ActRange, bits: 4 | 8 | 16, symmetric: boolean): Grid {
  const t = activationType(range, bits, symmetric, null);
  const s = t.quant!.scale[0]!;
  const z = t.quant!.zeroPoint[0]!;
  const [qmin, qmax] = intRange(t.dtype);
  return { gLo: s * (qmin - z), gHi: s * (qmax - z), s };
}

/** Mean squared error of quantizing the histogram's values to `g`. */
export function expectedMse(h: Histogram, g: Grid): number {
  const w = h.width;
  let err = 0;
  let total = 0;
  let below = accumulatedError(h.offset * w, g);
  for (let i = 0; i < h.counts.length; i++) {
    const above = accumulatedError((h.offset + i + 1) * w, g);
    const c = h.counts[i]!;
    err += c * (above - below);
    total += c;
    below = above;
  }
  return err / (total * w);
}

/**
 * ∫ from gLo to x of the squared distance to the nearest grid point (negative below gLo): the
 * error of values spread uniformly over [u, v] is its difference between v and u.
 */
function accumulatedError(x: number, g: Grid): number {
  if (x <= g.gLo) return -cube(g.gLo - x) / 3;
  const s3 = g.s * g.s * g.s;
  if (x <= g.gHi) return s3 * (cellIntegral((x - g.gLo) / g.s + 0.5) - CELL_ORIGIN);
  return s3 * (cellIntegral((g.gHi - g.gLo) / g.s + 0.5) - CELL_ORIGIN) + cube(x - g.gHi) / 3;
}

/**
 * ∫ from 0 to y of the squared distance to the nearest grid point, in units of the step, where
 * cell K spans [K, K + 1) around its grid point K + ½ (a whole cell contributes 1/12).
 */
function cellIntegral(y: number): number {
  const k = Math.floor(y);
  return k / 12 + (cube(y - k - 0.5) + 0.125) / 3;
}

/** cellIntegral(½): gLo sits half a cell from the origin of the cell coordinate. */
const CELL_ORIGIN = 0.125 / 3;

// x ** 3 compiles to a pow call, which made this loop ten times slower.
function cube(x: number): number {
  return x * x * x;
}
