import { isBigInt, isFloat, type DType } from "../dtype.js";
import { fail } from "../errors.js";
import { bigIntOf } from "../kernels/elementwise.js";
import { dtypeFromCode, roundTo } from "../kernels/quantize.js";
import { need, needType, type OpDef } from "../op.js";
import { tensor, type Tensor } from "../tensor.js";

/**
 * Element type conversion (`saturate` only concerns float8 types, which hwac does not support).
 * ONNX leaves float → integer undefined out of range; hwac truncates toward zero and then wraps
 * as integer → integer does (keeps the low bits), which reproduces the conformance data for
 * int4/uint4 (-9 → 7). NaN and ±∞ become 0.
 */
export const Cast: OpDef = {
  op: "Cast",
  inferTypes(ctx) {
    return [{ dtype: dtypeFromCode(ctx.attrs.int("to"), "Cast 'to'"), shape: needType(ctx, 0).shape }];
  },
  run(inputs, ctx) {
    return [castTensor(need(inputs, 0, ctx), dtypeFromCode(ctx.attrs.int("to"), "Cast 'to'"))];
  },
};

/** `t` converted to `to` by ONNX Cast's rules (the input itself when it already has that type). */
export function castTensor(t: Tensor, to: DType): Tensor {
  if (t.dtype === to) return t;
  if (to === "string") return tensor("string", t.shape, formatAll(t));
  return castNumbers(t.dtype === "string" ? parseAll(t, isBigInt(to)) : t, to);
}

function castNumbers(t: Tensor, to: DType): Tensor {
  const out = tensor(to, t.shape);
  const n = t.data.length;
  if (isBigInt(to)) {
    const o = out.data as BigInt64Array;
    // BigInt64Array/BigUint64Array stores keep the low 64 bits.
    if (isBigInt(t.dtype)) o.set(t.data as BigInt64Array);
    else for (let i = 0; i < n; i++) o[i] = bigIntOf((t.data as Float64Array)[i]!);
    return out;
  }
  const o = out.data as Float32Array;
  const conv = elementConversion(to);
  if (isBigInt(t.dtype)) {
    const s = t.data as BigInt64Array;
    // Integers keep their low 32 bits before the narrower store; floats take the nearest value.
    if (to === "bool") for (let i = 0; i < n; i++) o[i] = s[i] === 0n ? 0 : 1;
    else if (isFloat(to)) for (let i = 0; i < n; i++) o[i] = conv(Number(s[i]!));
    else for (let i = 0; i < n; i++) o[i] = conv(Number(BigInt.asIntN(32, s[i]!)));
  } else {
    const s = t.data as Float32Array;
    for (let i = 0; i < n; i++) o[i] = conv(s[i]!);
  }
  return out;
}

/**
 * What a number goes through before the typed-array store, which already truncates and wraps for
 * the 8/16/32-bit types and rounds to float32.
 */
function elementConversion(to: DType): (x: number) => number {
  switch (to) {
    case "bool":
      return (x) => (x === 0 ? 0 : 1); // NaN is true
    case "int4":
      return (x) => (x << 28) >> 28; // << first truncates to int32 (NaN, ±∞ → 0)
    case "uint4":
      return (x) => (x << 28) >>> 28;
    default:
      return roundTo(to);
  }
}

/**
 * Strings as numbers: float64 values, or int64 when the target is a 64-bit integer type (so integer
 * literals beyond 2^53 stay exact).
 */
function parseAll(t: Tensor, big: boolean): Tensor {
  const s = t.data as string[];
  if (!big) return tensor("float64", t.shape, Float64Array.from(s, parseNumber));
  const out = new BigInt64Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!.trim();
    out[i] = /^[+-]?\d+$/.test(v) ? BigInt.asIntN(64, BigInt(v)) : bigIntOf(parseNumber(v));
  }
  return tensor("int64", t.shape, out);
}

/** ONNX's numeric literals: plain or scientific notation, and INF/+INF/-INF/NaN in any case. */
function parseNumber(s: string): number {
  const v = s.trim();
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(v);
  if (special) return special[2]!.toLowerCase() === "nan" ? NaN : special[1] === "-" ? -Infinity : Infinity;
  const x = v === "" ? NaN : Number(v);
  if (Number.isNaN(x)) fail("HW3030", `cannot convert the string '${s}' to a number`);
  return x;
}

/** Numbers as numpy prints them (`astype(str)`): True/False, integers, shortest round-trip floats. */
function formatAll(t: Tensor): string[] {
  const d = t.data;
  const out = new Array<string>(d.length);
  if (t.dtype === "bool") for (let i = 0; i < d.length; i++) out[i] = d[i] ? "True" : "False";
  else if (isFloat(t.dtype)) for (let i = 0; i < d.length; i++) out[i] = formatFloat(d[i] as number, t.dtype);
  else for (let i = 0; i < d.length; i++) out[i] = String(d[i]);
  return out;
}

/**
 * Python's float repr, with the fewest digits that read back as the same value of `dtype`:
 * positional for 1e-4 ≤ |x| < 1e16 ("0.1", "100.0"), otherwise scientific with a two-digit
 * exponent ("1e-07", "1.5e+16").
 */
export function formatFloat(x: number, dtype: DType): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  if (x === 0) return `${sign}0.0`;
  const round = roundTo(dtype);
  let sci = "";
  for (let p = 1; p <= 17; p++) {
    sci = Math.abs(x).toExponential(p - 1);
    if (round(Number(sci)) === Math.abs(x)) break;
  }
  const [mantissa, expPart] = sci.split("e") as [string, string];
  const digits = mantissa.replace(".", "");
  const exp = Number(expPart);
  if (exp < -4 || exp >= 16) {
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : "";
    return `${sign}${digits[0]}${frac}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
  return `${sign}${intPart}.${digits.slice(exp + 1) || "0"}`;
}
