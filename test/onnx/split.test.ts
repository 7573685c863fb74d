/**
 * Loading a model initializer by initializer: splitModel finds the top graph's initializers from
 * field headers alone (checked against protobufjs decoding the whole message), bytes it cannot
 * split plainly are left to the whole decode, and the file source serves every byte range right
 * across its read window.
 */
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { xorshift32 } from "../../ir/numeric.js";
import { printModel } from "../../ir/text/index.js";
import { fileSource, type ByteSource } from "../../src/onnx/io.js";
import { decodeModel, loadModel } from "../../src/onnx/load.js";
import { fieldHeader, onnx } from "../../src/onnx/proto.js";
import { splitModel } from "../../src/onnx/split.js";
import { modelFiles } from "../helpers/fixtures.js";
import { encodeModel, floatTensor, reluGraph, tempDir } from "./proto-builders.js";

const tmp = tempDir();
afterAll(tmp.cleanup);
const mem = { file: "mem.onnx", baseDir: tmp.dir };

const inMemory = (b: Uint8Array): ByteSource => ({ size: b.length, read: (o, n) => b.subarray(o, o + n) });
/** Canonical bytes of a decoded message, for comparing messages field by field. */
const canon = (b: Uint8Array) => Buffer.from(b).toString("base64");

/** The split against protobufjs's decode of the whole message; "" when they agree. */
function splitDisagreement(bytes: Uint8Array): string {
  const split = splitModel(inMemory(bytes));
  if (!split) return "not split";
  const whole = onnx.ModelProto.decode(bytes);
  const graph = whole.graph ?? {};
  const inits = (graph.initializer ?? []).map((t) => canon(onnx.TensorProto.encode(t).finish()));
  const apart = split.initializers.map((s) => canon(onnx.TensorProto.encode(onnx.TensorProto.decode(bytes.subarray(s.start, s.end))).finish()));
  if (JSON.stringify(apart) !== JSON.stringify(inits)) return "initializers differ";
  graph.initializer = [];
  const rest = canon(onnx.ModelProto.encode(onnx.ModelProto.decode(split.rest)).finish());
  return rest === canon(onnx.ModelProto.encode(whole).finish()) ? "" : "the rest differs";
}

describe("splitModel", () => {
  it.each(["real", "trained", "onnx-node"])("splits every model of fixtures/%s exactly as protobufjs decodes it", (group) => {
    const files = modelFiles(group);
    const wrong = files.map((f) => [f, splitDisagreement(readFileSync(f))]).filter(([, why]) => why !== "");
    expect(wrong).toEqual([]);
  });

  it("finds initializers between other graph fields and leaves no field behind", () => {
    const w = floatTensor("w", [3], [1, 2, 3]);
    const bytes = encodeModel(reluGraph({ initializer: [w, floatTensor("b", [1], [4])], docString: "after the initializers" }));
    const split = splitModel(inMemory(bytes))!;
    expect(split.initializers.map((s) => onnx.TensorProto.decode(bytes.subarray(s.start, s.end)).name)).toEqual(["w", "b"]);
    const rest = onnx.ModelProto.decode(split.rest).graph;
    expect([rest?.initializer?.length, rest?.docString, rest?.node?.[0]?.opType]).toEqual([0, "after the initializers", "Relu"]);
  });

  it("leaves bytes it cannot split plainly to the whole decode, which reads them as before", () => {
    const a = encodeModel(reluGraph({ name: "first", initializer: [floatTensor("w", [1], [1])] }));
    const b = encodeModel(reluGraph({ name: "second" }), { opsetImport: [] });
    const twoGraphs = Uint8Array.from([...a, ...b]);
    // A repeated singular field: protobufjs keeps the last graph.
    expect(splitModel(inMemory(twoGraphs))).toBeUndefined();
    expect(decodeModel(twoGraphs, mem).graph.name).toBe("second");

    const graph = onnx.GraphProto.encode(reluGraph()).finish();
    const varintInitializer = Uint8Array.from([...fieldHeader(7, graph.length + 2), ...graph, 5 << 3, 1]);
    expect(splitModel(inMemory(varintInitializer))).toBeUndefined();
    const group = Uint8Array.from([...a, (30 << 3) | 3, (30 << 3) | 4]);
    expect(splitModel(inMemory(group))).toBeUndefined();
    const truncated = a.subarray(0, a.length - 3);
    expect(splitModel(inMemory(truncated))).toBeUndefined();
    expect(() => decodeModel(truncated, mem)).toThrow(expect.objectContaining({ code: "HW1001" }));
  });

  it("fails a bad initializer with the whole decode's error", () => {
    const bad = { ...floatTensor("w", [4], [1, 2, 3]) };
    expect(splitModel(inMemory(encodeModel(reluGraph({ initializer: [bad] }))))).toBeDefined();
    expect(() => decodeModel(encodeModel(reluGraph({ initializer: [bad] })), mem))
      .toThrow("tensor 'w' has 12 bytes of raw_data, but shape [4] of float32 needs 16");
  });
});

describe("loadModel", () => {
  it("reads a file tensor by tensor into the same model as decoding its bytes", () => {
    // Initializers larger and smaller than the 64 KiB read window, at unaligned offsets.
    const values = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (xorshift32(seed + i) % 1000) / 7);
    const inits = [floatTensor("a", [3], values(3, 1)), floatTensor("big", [40000], values(40000, 2)), floatTensor("c", [5], values(5, 3)), floatTensor("huge", [100, 700], values(70000, 4))];
    const file = join(tmp.dir, "window.onnx");
    writeFileSync(file, encodeModel(reluGraph({ initializer: inits })));
    const m = loadModel(file);
    expect([...m.graph.initializers.keys()]).toEqual(["a", "big", "c", "huge"]);
    expect(Array.from(m.graph.initializers.get("huge")!.data as Float32Array)).toEqual(Array.from(Float32Array.from(values(70000, 4))));
    expect(printModel(m)).toBe(printModel(decodeModel(readFileSync(file), { file, baseDir: tmp.dir })));
  });
});

describe("fileSource", () => {
  it("returns the file's bytes for any range, across and beyond its read window", () => {
    const bytes = new Uint8Array(300_000);
    let s = 7;
    for (let i = 0; i < bytes.length; i++) bytes[i] = (s = xorshift32(s)) & 0xff;
    const file = join(tmp.dir, "random.bin");
    writeFileSync(file, bytes);
    const fd = openSync(file, "r");
    try {
      const src = fileSource(fd, bytes.length, { file });
      const ranges = [[0, 10], [65530, 20], [65536, 1], [10, 200_000], [5, 5], [299_990, 10], [131_072, 65_536], [0, 300_000]];
      for (let k = 0; k < 200; k++) {
        const start = (s = xorshift32(s)) % bytes.length;
        ranges.push([start, (s = xorshift32(s)) % (bytes.length - start + 1)]);
      }
      const wrong = ranges.filter(([o, n]) => !Buffer.from(src.read(o!, n!)).equals(Buffer.from(bytes.subarray(o, o! + n!))));
      expect(wrong).toEqual([]);
    } finally {
      closeSync(fd);
    }
  });
});
