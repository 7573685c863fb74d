/**
 * Writing a model in pieces: the joined pieces are exactly protobufjs's encoding of the whole
 * message (so the field order the pieces assume is the encoder's), raw_data of every stored
 * element type is laid out as ONNX has it, and a tensor's bytes are written from its own
 * storage, not from a copy.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Model } from "../../ir/graph.js";
import { f32, i64, tensor, type Tensor } from "../../ir/tensor.js";
import { loadModel } from "../../src/onnx/load.js";
import { joinPieces, onnx } from "../../src/onnx/proto.js";
import { encodeModel, modelPieces, saveModel } from "../../src/onnx/save.js";
import { encodeTensor } from "../../src/onnx/tensor-proto.js";
import { loadableModels, modelFiles } from "../helpers/fixtures.js";
import { tempDir } from "./proto-builders.js";

const tmp = tempDir();
afterAll(tmp.cleanup);

/** Fixture models whose encoding protobufjs does not reproduce when it re-encodes the decoded message. */
function notCanonical(files: readonly string[]): string[] {
  const out: string[] = [];
  for (const [f, m] of loadableModels(files)) {
    const bytes = encodeModel(m);
    if (!Buffer.from(onnx.ModelProto.encode(onnx.ModelProto.decode(bytes)).finish()).equals(Buffer.from(bytes))) out.push(f);
  }
  return out;
}

describe("modelPieces", () => {
  it.each(["real", "trained", "onnx-node"])("fixtures/%s: the pieces are protobufjs's encoding of the whole message", (group) => {
    expect(notCanonical(modelFiles(group))).toEqual([]);
  });

  it("writes a float initializer's raw_data from the tensor's storage", () => {
    const w = f32([2, 3], [1, 2, 3, 4, 5, 6]);
    const m: Model = {
      irVersion: 8, opsets: { "": 13 }, producer: "t",
      graph: { name: "g", inputs: [], outputs: [{ name: "w", type: { dtype: "float32", shape: [2, 3] } }], initializers: new Map([["w", w]]), nodes: [], valueTypes: new Map() },
    };
    const pieces = [...modelPieces(m).pieces()];
    expect(pieces.some((p) => p.buffer === (w.data as Float32Array).buffer && p.byteLength === 24)).toBe(true);
    expect(pieces.reduce((n, p) => n + p.length, 0)).toBe(modelPieces(m).length);
  });

  it("saveModel writes the same bytes as encodeModel", () => {
    const m = loadModel(modelFiles("trained")[0]!);
    const file = join(tmp.dir, "saved.onnx");
    saveModel(m, file);
    expect(readFileSync(file).equals(Buffer.from(encodeModel(m)))).toBe(true);
  });
});

describe("encodeTensor", () => {
  /** protobufjs's encoding of the TensorProto with `raw` as raw_data, computed apart from hwac. */
  const expected = (t: Tensor, dataType: number, raw: number[]) =>
    Buffer.from(onnx.TensorProto.encode(onnx.TensorProto.create({ name: "t", dims: [...t.shape], dataType, rawData: Uint8Array.from(raw) })).finish());

  it.each<[string, Tensor, number, number[]]>([
    ["float32", f32([2], [1, -2]), 1, [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]],
    ["int4, two per byte, low nibble first", tensor("int4", [3], Int8Array.from([1, -2, 3])), 22, [0xe1, 0x03]],
    ["float16 bits", tensor("float16", [2], Float32Array.from([1, -2])), 10, [0x00, 0x3c, 0x00, 0xc0]],
    ["bool bytes", tensor("bool", [3], Uint8Array.from([1, 0, 1])), 9, [1, 0, 1]],
    ["int64", i64([1], [-1]), 7, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
    ["an empty tensor", f32([0], []), 1, []],
  ])("%s", (_, t, dataType, raw) => {
    expect(Buffer.from(encodeTensor(t, "t")).equals(expected(t, dataType, raw))).toBe(true);
  });

  it("joins pieces into exactly the planned length", () => {
    expect(() => joinPieces({ length: 3, pieces: () => [Uint8Array.of(1, 2)] })).toThrow("encoded 2 bytes where 3 were planned");
  });
});
