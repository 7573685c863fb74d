/**
 * Number spelling shared by the printer and the parser, so that every printed number reads back
 * as exactly the stored value.
 */
import { roundBF16, roundF16, type DType } from "../dtype.js";

const identity = (x: number): number => x;

/** How a float element type rounds a JS number when storing it. */
export function floatRounding(dtype: DType): (x: number) => number {
  switch (dtype) {
    case "float16": return roundF16;
    case "bfloat16": return roundBF16;
    case "float64": return identity;
    default: return Math.fround;
  }
}

/**
 * The shortest decimal that `round` maps back to `v` (`0.1` for float32 0.1, not
 * `0.10000000149011612`), nan/inf spelled out.
 */
export function formatFloat(v: number, round: (x: number) => number): string {
  if (Number.isNaN(v)) return "nan";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  if (Object.is(v, -0)) return "-0";
  if (round !== identity) {
    for (let p = 1; p < 17; p++) {
      const s = Number(v.toPrecision(p));
      // String(s) is the shortest spelling of s, never longer than the p digits tried.
      if (round(s) === v) return String(s);
    }
  }
  return String(v);
}

/**
 * A float attribute: a float32 value in ONNX, so printed as the shortest float32 spelling. A
 * value float32 cannot hold (only hand-built IR has those) gets a `d` suffix and full precision.
 * Always has a '.', exponent or letter, which is what tells a float from an int attribute.
 */
export function formatFloatAttr(v: number): string {
  const f32 = Number.isNaN(v) || Math.fround(v) === v;
  const s = formatFloat(v, f32 ? Math.fround : identity);
  const marked = /[.en]/.test(s) ? s : `${s}.0`;
  return f32 ? marked : `${marked}d`;
}

/** Reads a Float or Int token's image as a double (the `d` suffix only matters to attributes). */
export function parseNumber(image: string): number {
  switch (image) {
    case "nan": return NaN;
    case "inf": return Infinity;
    case "-inf": return -Infinity;
  }
  return Number(image.endsWith("d") ? image.slice(0, -1) : image);
}

/** Reads a float attribute literal: float32 unless it carries the `d` suffix. */
export function parseFloatAttr(image: string): number {
  const v = parseNumber(image);
  return image.endsWith("d") ? v : Math.fround(v);
}

/** An int attribute or element: BigInt spells large magnitudes without an exponent. */
export function formatInt(v: number | bigint): string {
  return typeof v === "bigint" || !Number.isInteger(v) ? String(v) : BigInt(v).toString();
}
