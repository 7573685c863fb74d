/**
 * The ONNX protobuf schema (onnx-proto: ONNX 1.10 on protobufjs 6). Newer fields decode as
 * unknown and are skipped; newer element types survive because data types are plain int32s.
 */
import pkg from "onnx-proto";
import type { onnx as P } from "onnx-proto";
import { HwacError, type Where } from "../../ir/errors.js";
import { CODES } from "./codes.js";

// The named import type-checks but fails under Node's ESM loader: the package is CommonJS.
export const onnx = pkg.onnx;

export type ModelProto = P.IModelProto;
export type GraphProto = P.IGraphProto;
export type NodeProto = P.INodeProto;
export type AttributeProto = P.IAttributeProto;
export type TensorProto = P.ITensorProto;
export type TypeProto = P.ITypeProto;
export type ValueInfoProto = P.IValueInfoProto;
export type DimensionProto = P.TensorShapeProto.IDimension;

/** What protobufjs hands out for 64-bit fields when the `long` package is present. */
export interface LongLike {
  readonly low: number;
  readonly high: number;
  readonly unsigned: boolean;
}

export type Int64 = number | LongLike;

/** The exact value, as a JS number when it is a safe integer, otherwise NaN. */
export function safeNumber(v: Int64): number {
  if (typeof v === "number") return Number.isSafeInteger(v) ? v : NaN;
  const n = (v.unsigned ? v.high >>> 0 : v.high) * 2 ** 32 + (v.low >>> 0);
  return Number.isSafeInteger(n) ? n : NaN;
}

/**
 * The nearest JS number. Attributes legitimately use INT64_MAX / INT64_MIN as "to the end"
 * sentinels (Slice ends), which must stay huge rather than be rejected.
 */
export function approxNumber(v: Int64): number {
  if (typeof v === "number") return v;
  return (v.unsigned ? v.high >>> 0 : v.high) * 2 ** 32 + (v.low >>> 0);
}

export function toBigInt(v: Int64): bigint {
  if (typeof v === "number") return BigInt(v);
  const high = v.unsigned ? v.high >>> 0 : v.high;
  return (BigInt(high) << 32n) | BigInt(v.low >>> 0);
}

/**
 * Decodes protobuf bytes; protobufjs reports truncation and bad wire types as plain Errors,
 * and deeply nested garbage as a stack overflow, all of which become HW1001.
 */
export function decodeProto<T>(decode: (b: Uint8Array) => T, bytes: Uint8Array, what: string, where: Where): T {
  // A Buffer view lets protobufjs take its fast path (native UTF-8, zero-copy byte fields).
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return decode(buf);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new HwacError(CODES.invalidFile, `not a valid ${what}: ${reason}`, where);
  }
}

/** True when `field` was on the wire: protobufjs keeps defaults on the prototype, set fields as own properties. */
export function hasField(msg: object, field: string): boolean {
  return Object.prototype.hasOwnProperty.call(msg, field);
}

/**
 * The key and length of a length-delimited field (wire type 2) as protobuf varints: what precedes
 * a field's bytes when they are written or read apart from the rest of the message.
 */
export function fieldHeader(field: number, length: number): Uint8Array {
  const out: number[] = [];
  for (let v of [field * 8 + 2, length]) {
    for (; v >= 0x80; v = Math.floor(v / 0x80)) out.push((v % 0x80) | 0x80);
    out.push(v);
  }
  return Uint8Array.from(out);
}

/** Protobuf bytes of known total length, made piece by piece when iterated (a StreamedFile). */
export interface Encoded {
  readonly length: number;
  readonly pieces: () => Iterable<Uint8Array>;
}

/** The pieces in one buffer. */
export function joinPieces(e: Encoded): Uint8Array {
  const out = new Uint8Array(e.length);
  let at = 0;
  for (const p of e.pieces()) {
    out.set(p, at);
    at += p.length;
  }
  if (at !== e.length) throw new Error(`encoded ${at} bytes where ${e.length} were planned`);
  return out;
}
