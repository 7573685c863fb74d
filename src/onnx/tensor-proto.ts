/**
 * TensorProto ⇄ IR Tensor. Weight bytes are copied exactly once, from the protobuf's (unaligned)
 * raw_data view into the tensor's own storage, so a loaded model never pins the file buffer (and
 * the loader may reuse its read buffer); they are written back from that storage without a copy.
 */
import os from "node:os";
import path from "node:path";
import {
  allocate, bitWidth, ONNX_DTYPE, ONNX_DTYPE_UNSUPPORTED, onnxDTypeCode,
  type DType, type TensorData, type TypedArray,
} from "../../ir/dtype.js";
import { fail, type Where } from "../../ir/errors.js";
import { numel, shapeStr, tensor, type Tensor } from "../../ir/tensor.js";
import { CODES } from "./codes.js";
import { f32ToHalfBits, halfBitsToF32, packNibbles, toBool, unpackNibbles, words16 } from "./elements.js";
import { readExternalData, type ExternalDataCtx } from "./external-data.js";
import { readWholeFile, writeWholeFile } from "./io.js";
import { LOAD_DEFAULTS, type LoadOptions } from "./options.js";
import {
  decodeProto, fieldHeader, joinPieces, onnx, safeNumber, toBigInt, type Encoded, type Int64, type TensorProto,
} from "./proto.js";

// raw_data is little-endian; byte copies into typed arrays are only right on a little-endian host.
if (os.endianness() !== "LE") throw new Error("hwac needs a little-endian host");

export interface TensorCtx extends ExternalDataCtx {
  readonly maxTensorElements?: number;
}

/** The typed TensorProto fields, with their names in onnx.proto for messages. */
const DATA_FIELDS = {
  floatData: "float_data",
  int32Data: "int32_data",
  int64Data: "int64_data",
  doubleData: "double_data",
  uint64Data: "uint64_data",
  stringData: "string_data",
} as const;
type DataField = keyof typeof DATA_FIELDS;

/** Where a tensor's values sit in the proto, for messages. */
interface Decl {
  readonly label: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly where: Where;
}

const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;
const utf8 = new TextDecoder("utf-8");
const utf8Encoder = new TextEncoder();

export function decodeTensor(tp: TensorProto, ctx: TensorCtx): Tensor {
  const where = ctx.where;
  const label = tp.name ? `tensor '${tp.name}'` : "unnamed tensor";
  const dtype = elementType(tp.dataType ?? 0, label, where);
  if (tp.segment) fail(CODES.unsupported, `${label} is split into segments, which hwac does not read`, where);
  const shape = declaredShape(tp.dims ?? [], label, ctx.maxTensorElements ?? LOAD_DEFAULTS.maxTensorElements, where);
  const decl: Decl = { label, dtype, shape, where };
  const n = numel(shape);
  const location = tp.dataLocation ?? 0;
  if (location !== 0 && location !== EXTERNAL) {
    fail(CODES.malformed, `${label} has data_location ${location}; expected 0 (DEFAULT) or 1 (EXTERNAL)`, where);
  }
  if (location === EXTERNAL && dtype === "string") {
    fail(CODES.malformed, `${label} is a string tensor stored externally; strings must be in string_data`, where);
  }
  const raw = location === EXTERNAL ? readExternalData(tp, byteSize(dtype, n), label, ctx) : tp.rawData ?? new Uint8Array(0);
  return tensor(dtype, shape, decodeData(tp, raw, decl, n));
}

/** The IR element type of an ONNX data type code; HW1004 for types the IR cannot store. */
export function elementType(code: number, what: string, where: Where): DType {
  const dtype = ONNX_DTYPE[code];
  if (dtype) return dtype;
  const name = ONNX_DTYPE_UNSUPPORTED[code];
  fail(
    CODES.unsupportedDType,
    name ? `${what}: element type ${name} (${code}) is not supported` : `${what}: element type ${code} is not a known ONNX type`,
    where,
  );
}

/** Checks dims and the element count against the limit, before any storage is allocated. */
function declaredShape(dims: readonly Int64[], label: string, limit: number, where: Where): number[] {
  const shape = dims.map(safeNumber);
  shape.forEach((d, i) => {
    if (!(d >= 0)) {
      fail(CODES.badDims, `${label} has dimension ${i} = ${toBigInt(dims[i]!)}; dimensions must be non-negative integers`, where);
    }
  });
  const count = shape.reduce((a, b) => a * b, 1);
  if (count > limit) {
    fail(
      CODES.limit,
      `${label} declares ${count} elements (shape ${shapeStr(shape)}), more than the limit of ${limit} (LoadOptions.maxTensorElements)`,
      where,
    );
  }
  return shape;
}

/** Bytes `n` elements occupy in raw_data (4-bit types pack two per byte). */
function byteSize(dtype: DType, n: number): number {
  return Math.ceil((n * bitWidth(dtype)) / 8);
}

/** The typed field ONNX stores `dtype` in when raw_data is not used. */
function dataField(dtype: DType): DataField {
  switch (dtype) {
    case "float32": return "floatData";
    case "float64": return "doubleData";
    case "int64": return "int64Data";
    case "uint32": case "uint64": return "uint64Data";
    case "string": return "stringData";
    default: return "int32Data";
  }
}

function decodeData(tp: TensorProto, raw: Uint8Array, decl: Decl, n: number): TensorData {
  const { label, dtype, shape, where } = decl;
  const field = dataField(dtype);
  for (const f of Object.keys(DATA_FIELDS) as DataField[]) {
    if (f !== field && (tp[f]?.length ?? 0) > 0) {
      fail(CODES.malformed, `${label} of element type ${dtype} carries ${DATA_FIELDS[f]}; expected ${DATA_FIELDS[field]} or raw_data`, where);
    }
  }
  const values = tp[field] ?? [];
  if (raw.length > 0) {
    if (values.length > 0) fail(CODES.malformed, `${label} has both raw_data and ${DATA_FIELDS[field]}`, where);
    if (dtype === "string") fail(CODES.malformed, `${label} is a string tensor with raw_data; strings belong in string_data`, where);
    const bytes = byteSize(dtype, n);
    if (raw.length !== bytes) {
      fail(CODES.dataSize, `${label} has ${raw.length} bytes of raw_data, but shape ${shapeStr(shape)} of ${dtype} needs ${bytes}`, where);
    }
    return fromRaw(raw, dtype, n);
  }
  // Typed fields hold one element per entry, except 4-bit types: one packed byte per entry.
  const count = dtype === "int4" || dtype === "uint4" ? Math.ceil(n / 2) : n;
  if (values.length !== count) {
    fail(
      CODES.dataSize,
      values.length === 0
        ? `${label} has no data, but shape ${shapeStr(shape)} has ${n} elements`
        : `${label} has ${values.length} values in ${DATA_FIELDS[field]}, but shape ${shapeStr(shape)} of ${dtype} needs ${count}`,
      where,
    );
  }
  return fromTyped(values, dtype, n);
}

function fromRaw(raw: Uint8Array, dtype: DType, n: number): TensorData {
  switch (dtype) {
    case "int4": case "uint4": return unpackNibbles(raw, n, dtype === "int4");
    case "float16": case "bfloat16": return halfBitsToF32(words16(raw), n, dtype);
    case "bool": return toBool(raw, n);
    default: {
      const out = allocate(dtype, n) as TypedArray;
      new Uint8Array(out.buffer).set(raw);
      return out;
    }
  }
}

function fromTyped(values: NonNullable<TensorProto[DataField]>, dtype: DType, n: number): TensorData {
  switch (dtype) {
    case "int4": case "uint4": return unpackNibbles(values as number[], n, dtype === "int4");
    case "float16": case "bfloat16": return halfBitsToF32(values as number[], n, dtype);
    case "bool": return toBool(values as number[], n);
    case "string": return (values as Uint8Array[]).map((s) => utf8.decode(s));
    case "int64": case "uint64": {
      const out = allocate(dtype, n) as BigInt64Array | BigUint64Array;
      for (let i = 0; i < n; i++) out[i] = toBigInt((values as Int64[])[i]!);
      return out;
    }
    case "uint32": {
      // uint64_data entries; the typed array keeps the low 32 bits.
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        const v = (values as Int64[])[i]!;
        out[i] = typeof v === "number" ? v : v.low;
      }
      return out;
    }
    default: {
      const out = allocate(dtype, n) as Float32Array;
      out.set(values as number[]);
      return out;
    }
  }
}

/** Serializes a tensor as a TensorProto: raw_data little-endian, strings in string_data. */
export function encodeTensor(t: Tensor, name: string): Uint8Array {
  return joinPieces(tensorProtoPieces(t, name));
}

/**
 * A TensorProto in pieces: its other fields, then raw_data straight from the tensor's storage
 * (converted only for packed and half types), so writing a large tensor copies nothing.
 */
export function tensorProtoPieces(t: Tensor, name: string): Encoded {
  const props: TensorProto = { name, dims: [...t.shape], dataType: onnxDTypeCode(t.dtype) };
  if (t.dtype === "string") {
    props.stringData = (t.data as string[]).map((s) => utf8Encoder.encode(s));
    const bytes = onnx.TensorProto.encode(onnx.TensorProto.create(props)).finish();
    return { length: bytes.length, pieces: () => [bytes] };
  }
  // raw_data (field 9) is the highest field set, so its bytes follow the encoding of the others.
  const head = onnx.TensorProto.encode(onnx.TensorProto.create(props)).finish();
  const rawLength = byteSize(t.dtype, t.data.length);
  const frame = fieldHeader(9, rawLength);
  return { length: head.length + frame.length + rawLength, pieces: () => [head, frame, rawBytes(t)] };
}

function rawBytes(t: Tensor): Uint8Array {
  switch (t.dtype) {
    case "int4": case "uint4": return packNibbles(t.data as Int8Array | Uint8Array);
    case "float16": case "bfloat16": return new Uint8Array(f32ToHalfBits(t.data as Float32Array, t.dtype).buffer);
    case "bool": return toBool(t.data as Uint8Array, t.data.length);
    default: {
      const d = t.data as TypedArray;
      return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    }
  }
}

/** Reads an ONNX `.pb` tensor file (the test-data format); `name` is the TensorProto's name. */
export function readTensorFile(file: string, opts: LoadOptions = {}): { name: string; tensor: Tensor } {
  const where = { file };
  const bytes = readWholeFile(file, "tensor file", opts.maxModelBytes ?? LOAD_DEFAULTS.maxModelBytes, where);
  const tp = decodeProto((b) => onnx.TensorProto.decode(b), bytes, "ONNX tensor file", where);
  const t = decodeTensor(tp, { where, baseDir: path.dirname(file), maxTensorElements: opts.maxTensorElements });
  return { name: tp.name ?? "", tensor: t };
}

export function writeTensorFile(file: string, t: Tensor, name: string): void {
  writeWholeFile(file, encodeTensor(t, name), "tensor file", { file });
}
