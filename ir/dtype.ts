/**
 * Element types of IR tensors and their runtime storage.
 *
 * Storage is chosen so that every op computes on plain typed arrays:
 * - float16 / bfloat16 values live in a Float32Array, already rounded to their precision;
 * - int4 / uint4 are unpacked, one element per byte (they are packed only in files);
 * - int64 / uint64 live in BigInt64Array / BigUint64Array so shape and index data stay exact;
 * - bool lives in a Uint8Array of 0/1.
 */

export type DType =
  | "float32"
  | "float64"
  | "float16"
  | "bfloat16"
  | "int4"
  | "uint4"
  | "int8"
  | "uint8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "bool"
  | "string";

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Storage of a string tensor: one JS string per element. */
export type TensorData = TypedArray | string[];

export const DTYPES: readonly DType[] = [
  "float32", "float64", "float16", "bfloat16", "int4", "uint4", "int8", "uint8",
  "int16", "uint16", "int32", "uint32", "int64", "uint64", "bool", "string",
];

/** ONNX TensorProto.DataType numbering (onnx.proto). */
export const ONNX_DTYPE: Readonly<Record<number, DType>> = {
  1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
  8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
  16: "bfloat16", 21: "uint4", 22: "int4",
};

/** Names ONNX gives element types hwac does not support, for error messages. */
export const ONNX_DTYPE_UNSUPPORTED: Readonly<Record<number, string>> = {
  0: "UNDEFINED", 14: "COMPLEX64", 15: "COMPLEX128", 17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ",
  19: "FLOAT8E5M2", 20: "FLOAT8E5M2FNUZ", 23: "FLOAT4E2M1", 24: "FLOAT8E8M0", 25: "UINT2", 26: "INT2",
};

export function onnxDTypeCode(d: DType): number {
  for (const [k, v] of Object.entries(ONNX_DTYPE)) if (v === d) return Number(k);
  throw new Error(`no ONNX code for ${d}`);
}

export function isFloat(d: DType): boolean {
  return d === "float32" || d === "float64" || d === "float16" || d === "bfloat16";
}

export function isInteger(d: DType): boolean {
  return !isFloat(d) && d !== "bool" && d !== "string";
}

export function isBigInt(d: DType): boolean {
  return d === "int64" || d === "uint64";
}

/** Bits one element occupies in a file (sub-byte types are packed). */
export function bitWidth(d: DType): number {
  switch (d) {
    case "int4": case "uint4": return 4;
    case "int8": case "uint8": case "bool": return 8;
    case "int16": case "uint16": case "float16": case "bfloat16": return 16;
    case "int32": case "uint32": case "float32": return 32;
    case "int64": case "uint64": case "float64": return 64;
    case "string": return 0;
  }
}

/** Inclusive value range of an integer type. */
export function intRange(d: DType): [number, number] {
  switch (d) {
    case "int4": return [-8, 7];
    case "uint4": return [0, 15];
    case "int8": return [-128, 127];
    case "uint8": return [0, 255];
    case "int16": return [-32768, 32767];
    case "uint16": return [0, 65535];
    case "int32": return [-2147483648, 2147483647];
    case "uint32": return [0, 4294967295];
    case "bool": return [0, 1];
    case "int64": return [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
    case "uint64": return [0, Number.MAX_SAFE_INTEGER];
    default: throw new Error(`${d} is not an integer type`);
  }
}

/** Allocates zeroed storage for `n` elements of `d`. */
export function allocate(d: DType, n: number): TensorData {
  switch (d) {
    case "float32": case "float16": case "bfloat16": return new Float32Array(n);
    case "float64": return new Float64Array(n);
    case "int4": case "int8": return new Int8Array(n);
    case "uint4": case "uint8": case "bool": return new Uint8Array(n);
    case "int16": return new Int16Array(n);
    case "uint16": return new Uint16Array(n);
    case "int32": return new Int32Array(n);
    case "uint32": return new Uint32Array(n);
    case "int64": return new BigInt64Array(n);
    case "uint64": return new BigUint64Array(n);
    case "string": return new Array<string>(n).fill("");
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds a number to the nearest float16 value (round half to even), returned as a JS number. */
export function roundF16(x: number): number {
  return f16BitsToNumber(numberToF16Bits(x));
}

/** Rounds a number to the nearest bfloat16 value (round half to even). */
export function roundBF16(x: number): number {
  return bf16BitsToNumber(numberToBF16Bits(x));
}

export function numberToBF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  if (Number.isNaN(x)) return 0x7fc0;
  const rounded = b + 0x7fff + ((b >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

export function bf16BitsToNumber(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0]!;
}

export function numberToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  // Unbiased exponent, rebiased for half precision.
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const halfway = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > halfway || (rest === halfway && (m & 1))) m++;
    return sign | m;
  }
  const rest = mant & 0x1fff;
  let m = mant >>> 13;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Short names used by the IR text format. */
export const DTYPE_SHORT: Readonly<Record<DType, string>> = {
  float32: "f32", float64: "f64", float16: "f16", bfloat16: "bf16", int4: "i4", uint4: "u4",
  int8: "i8", uint8: "u8", int16: "i16", uint16: "u16", int32: "i32", uint32: "u32",
  int64: "i64", uint64: "u64", bool: "bool", string: "str",
};
