/**
 * TensorProto decoding and encoding: exact round trips for every IR element type, typed fields
 * against raw_data, unaligned raw_data, 4-bit packing, and real fixture tensors whose expected
 * values are known (Cast tests: output = input converted).
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DTYPES, roundBF16, roundF16, type DType, type TensorData } from "../../ir/dtype.js";
import { tensor, type Tensor } from "../../ir/tensor.js";
import { onnx, type TensorProto } from "../../src/onnx/proto.js";
import { decodeTensor, encodeTensor, readTensorFile, writeTensorFile } from "../../src/onnx/tensor-proto.js";
import { FIXTURES } from "../helpers/fixtures.js";
import { tempDir } from "./proto-builders.js";

const ctx = { where: { file: "mem.onnx" } };

function decodeBytes(bytes: Uint8Array): Tensor {
  return decodeTensor(onnx.TensorProto.decode(Buffer.from(bytes)), ctx);
}

function roundTrip(t: Tensor): Tensor {
  return decodeBytes(encodeTensor(t, "t"));
}

/** Elements as plain values, with -0 and NaN spelled out so equality is exact. */
function plain(d: TensorData | number[]): unknown[] {
  return Array.from(d as ArrayLike<unknown>, (v) =>
    typeof v === "number" && Object.is(v, -0) ? "-0" : typeof v === "number" && Number.isNaN(v) ? "NaN" : v,
  );
}

const F16_SPECIALS = [0, -0, 1, -2.5, 65504, -65504, Infinity, -Infinity, NaN, 2 ** -24, 2 ** -14, roundF16(0.1), roundF16(1 / 3)];
const BF16_SPECIALS = [0, -0, 1, -2.5, Infinity, -Infinity, NaN, 3.3895313892515355e38, 2 ** -133, roundBF16(0.1), roundBF16(-1 / 3)];

/** Representative values of each element type, extremes included. */
const SAMPLES: Record<DType, TensorData> = {
  float32: Float32Array.from([0, -0, 1.5, -3.25, 3.4028234663852886e38, 1e-45, Infinity, -Infinity, NaN]),
  float64: Float64Array.from([0, -0, Math.PI, -1e308, 5e-324, Infinity, NaN]),
  float16: Float32Array.from(F16_SPECIALS),
  bfloat16: Float32Array.from(BF16_SPECIALS),
  int4: Int8Array.from([-8, -7, -1, 0, 1, 6, 7]),
  uint4: Uint8Array.from([0, 1, 8, 14, 15]),
  int8: Int8Array.from([-128, -1, 0, 1, 127]),
  uint8: Uint8Array.from([0, 1, 128, 255]),
  int16: Int16Array.from([-32768, -1, 0, 1, 32767]),
  uint16: Uint16Array.from([0, 1, 32768, 65535]),
  int32: Int32Array.from([-2147483648, -1, 0, 1, 2147483647]),
  uint32: Uint32Array.from([0, 1, 2147483648, 4294967295]),
  int64: BigInt64Array.from([-(2n ** 63n), -1n, 0n, 1n, 2n ** 63n - 1n]),
  uint64: BigUint64Array.from([0n, 1n, 2n ** 63n, 2n ** 64n - 1n]),
  bool: Uint8Array.from([0, 1, 1, 0]),
  string: ["", "a", "héllo", "日本語", "emoji 🙂"],
};

describe("encode → decode round trip", () => {
  it.each(DTYPES)("%s is exact", (dtype) => {
    const data = SAMPLES[dtype];
    const t = tensor(dtype, [data.length], data);
    const back = roundTrip(t);
    expect(back.dtype).toBe(dtype);
    expect(back.shape).toEqual([data.length]);
    expect(plain(back.data)).toEqual(plain(data));
  });

  it("keeps shapes, scalars and empty tensors", () => {
    const m = roundTrip(tensor("float32", [2, 3, 1], Float32Array.from([1, 2, 3, 4, 5, 6])));
    expect(m.shape).toEqual([2, 3, 1]);
    expect(Array.from(m.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    const s = roundTrip(tensor("int64", [], BigInt64Array.from([-5n])));
    expect(s.shape).toEqual([]);
    expect(s.data[0]).toBe(-5n);
    const e = roundTrip(tensor("float32", [0, 4]));
    expect(e.shape).toEqual([0, 4]);
    expect(e.data.length).toBe(0);
  });

  it("packs int4 two per byte, low nibble first, for odd and even counts", () => {
    const odd = onnx.TensorProto.decode(encodeTensor(tensor("int4", [3], Int8Array.from([1, -1, 7])), "q"));
    expect(Array.from(odd.rawData)).toEqual([0xf1, 0x07]);
    const even = onnx.TensorProto.decode(encodeTensor(tensor("uint4", [2, 2], Uint8Array.from([15, 0, 3, 12])), "q"));
    expect(Array.from(even.rawData)).toEqual([0x0f, 0xc3]);
    for (let n = 0; n <= 9; n++) {
      const data = Int8Array.from({ length: n }, (_, i) => ((i * 5) % 16) - 8);
      expect(Array.from(roundTrip(tensor("int4", [n], data)).data as Int8Array)).toEqual(Array.from(data));
    }
  });

  it("writes float16 and bfloat16 as their bit patterns", () => {
    const h = onnx.TensorProto.decode(encodeTensor(tensor("float16", [3], Float32Array.from([1, -2, Infinity])), "h"));
    expect(Array.from(new Uint16Array(Uint8Array.prototype.slice.call(h.rawData).buffer))).toEqual([0x3c00, 0xc000, 0x7c00]);
    const b = onnx.TensorProto.decode(encodeTensor(tensor("bfloat16", [2], Float32Array.from([1, -2])), "b"));
    expect(Array.from(new Uint16Array(Uint8Array.prototype.slice.call(b.rawData).buffer))).toEqual([0x3f80, 0xc000]);
  });

  it("stores strings in string_data", () => {
    const p = onnx.TensorProto.decode(encodeTensor(tensor("string", [2], ["x", "ÿ"]), "s"));
    expect(p.rawData.length).toBe(0);
    expect(p.stringData.map((s) => Buffer.from(s).toString("utf8"))).toEqual(["x", "ÿ"]);
  });
});

/** The same values written in the typed field ONNX uses for `dtype` instead of raw_data. */
function typedProto(dtype: DType, code: number, values: TensorData): TensorProto {
  const n = values.length;
  const base: TensorProto = { name: "typed", dims: [n], dataType: code };
  const nums = Array.from(values as ArrayLike<number>);
  switch (dtype) {
    case "float32": return { ...base, floatData: nums };
    case "float64": return { ...base, doubleData: nums };
    case "int64": case "uint64": case "uint32": {
      const field = dtype === "int64" ? "int64Data" : "uint64Data";
      // protobufjs takes decimal strings for 64-bit values beyond 2^53.
      return { ...base, [field]: Array.from(values as ArrayLike<unknown>, (v) => String(v)) as unknown as number[] };
    }
    case "float16": return { ...base, int32Data: [0, 0x8000, 0x3c00, 0x7c00, 0x7e00, 0x0001, 0x7bff] };
    case "bfloat16": return { ...base, int32Data: [0, 0x8000, 0x3f80, 0x7f80, 0x7fc0, 0x0001, 0x7f7f] };
    case "int4": case "uint4": {
      const packed: number[] = [];
      for (let i = 0; i < n; i += 2) packed.push((nums[i]! & 0xf) | (((nums[i + 1] ?? 0) & 0xf) << 4));
      return { ...base, int32Data: packed };
    }
    default: return { ...base, int32Data: nums };
  }
}

describe("typed fields decode like raw_data", () => {
  const codes: Record<string, number> = {
    float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, bool: 9, float16: 10,
    float64: 11, uint32: 12, uint64: 13, bfloat16: 16, uint4: 21, int4: 22,
  };
  const halfBits = {
    float16: [0, -0, 1, Infinity, NaN, 2 ** -24, 65504],
    bfloat16: [0, -0, 1, Infinity, NaN, 2 ** -133, 3.3895313892515355e38],
  };
  it.each(Object.keys(codes) as DType[])("%s", (dtype) => {
    const values =
      dtype === "float16" || dtype === "bfloat16" ? Float32Array.from(halfBits[dtype]) : SAMPLES[dtype];
    const fromTyped = decodeBytes(onnx.TensorProto.encode(onnx.TensorProto.create(typedProto(dtype, codes[dtype]!, values))).finish());
    const fromRaw = roundTrip(tensor(dtype, [values.length], values));
    expect(fromTyped.dtype).toBe(dtype);
    expect(plain(fromTyped.data)).toEqual(plain(values));
    expect(plain(fromTyped.data)).toEqual(plain(fromRaw.data));
  });

  it("bool treats any non-zero byte or int32 as true", () => {
    const raw = decodeTensor({ dims: [3], dataType: 9, rawData: Uint8Array.from([0, 2, 255]) }, ctx);
    expect(Array.from(raw.data as Uint8Array)).toEqual([0, 1, 1]);
    const typed = decodeTensor({ dims: [3], dataType: 9, int32Data: [0, 7, -1] }, ctx);
    expect(Array.from(typed.data as Uint8Array)).toEqual([0, 1, 1]);
  });
});

describe("raw_data handling", () => {
  it("decodes raw_data at an unaligned offset, into storage of its own", () => {
    const values = Float32Array.from([1.5, -2, 3.25, 1e-30]);
    for (const name of ["a", "ab", "abc", "abcd"]) {
      const bytes = Buffer.from(encodeTensor(tensor("float32", [4], values), name));
      const tp = onnx.TensorProto.decode(bytes);
      const t = decodeTensor(tp, ctx);
      expect(Array.from(t.data as Float32Array)).toEqual(Array.from(values));
      expect((t.data as Float32Array).buffer).not.toBe(bytes.buffer);
    }
    const offsets = ["a", "ab", "abc", "abcd"].map((n) => onnx.TensorProto.decode(Buffer.from(encodeTensor(tensor("float32", [4], values), n))).rawData.byteOffset % 4);
    expect(new Set(offsets).size).toBeGreaterThan(1);
  });

  it("decodes int16 and float16 raw_data at odd offsets", () => {
    const raw = Buffer.alloc(7);
    raw.writeInt16LE(-300, 1);
    raw.writeInt16LE(7, 3);
    raw.writeUInt16LE(0xbc00, 5); // float16 -1
    const view = raw.subarray(1);
    const i16 = decodeTensor({ dims: [2], dataType: 5, rawData: view.subarray(0, 4) }, ctx);
    expect(Array.from(i16.data as Int16Array)).toEqual([-300, 7]);
    const f16 = decodeTensor({ dims: [1], dataType: 10, rawData: view.subarray(4, 6) }, ctx);
    expect(Array.from(f16.data as Float32Array)).toEqual([-1]);
  });
});

describe("tensor files", () => {
  const tmp = tempDir();
  afterAll(tmp.cleanup);

  it("writeTensorFile → readTensorFile keeps name and values", () => {
    const file = join(tmp.dir, "output_0.pb");
    writeTensorFile(file, tensor("int4", [5], Int8Array.from([-8, 7, 0, -1, 3])), "out");
    const { name, tensor: t } = readTensorFile(file);
    expect(name).toBe("out");
    expect(t.shape).toEqual([5]);
    expect(Array.from(t.data as Int8Array)).toEqual([-8, 7, 0, -1, 3]);
  });

  // ONNX's own Cast tests: the output file holds the input file's values converted.
  it.each([
    ["test_cast_INT4_to_FLOAT", "int4", (x: number) => x],
    ["test_cast_UINT4_to_FLOAT", "uint4", (x: number) => x],
    ["test_cast_INT4_to_INT8", "int4", (x: number) => x],
    ["test_cast_FLOAT16_to_FLOAT", "float16", (x: number) => x],
    ["test_cast_FLOAT_to_FLOAT16", "float32", roundF16],
    ["test_cast_FLOAT_to_BFLOAT16", "float32", roundBF16],
  ] as const)("%s: fixture values agree", (name, inputType, convert) => {
    const dir = join(FIXTURES, "onnx-node", name, "test_data_set_0");
    const input = readTensorFile(join(dir, "input_0.pb")).tensor;
    const output = readTensorFile(join(dir, "output_0.pb")).tensor;
    expect(input.dtype).toBe(inputType);
    expect(input.data.length).toBeGreaterThan(0);
    expect(plain(output.data)).toEqual(plain(Array.from(input.data as Float32Array, convert)));
  });
});
