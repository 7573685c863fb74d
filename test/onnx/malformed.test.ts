/**
 * Bad input never escapes as a raw exception: each malformed model or tensor gives a HwacError
 * with its code and a message naming the file and the tensor. The bad protobufs are built here.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HwacError } from "../../ir/errors.js";
import { decodeModel, loadModel } from "../../src/onnx/load.js";
import { onnx, type TensorProto } from "../../src/onnx/proto.js";
import { decodeTensor, readTensorFile } from "../../src/onnx/tensor-proto.js";
import { FIXTURES } from "../helpers/fixtures.js";
import { encodeModel, FLOAT, floatTensor, node, reluGraph, tempDir, writeModel } from "./proto-builders.js";

function hwacError(fn: () => unknown): HwacError {
  try {
    fn();
  } catch (e) {
    if (e instanceof HwacError) return e;
    throw new Error(`expected a HwacError, got ${String(e)}`);
  }
  throw new Error("expected a HwacError, but nothing was thrown");
}

/** A deterministic byte generator (xorshift32). */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

const tmp = tempDir();
afterAll(tmp.cleanup);
const mem = { file: "mem.onnx", baseDir: tmp.dir };

/** A model with a weight initializer `W` made from `tp`, consumed by a MatMul. */
function modelWith(tp: TensorProto): string {
  return writeModel(tmp.dir, reluGraph({ initializer: [tp], node: [node("MatMul", ["x", tp.name!], ["y"])] }), {}, `${tp.name}.onnx`);
}

describe("not a protobuf model", () => {
  const good = readFileSync(join(FIXTURES, "trained/digits-mlp/model.onnx"));

  it.each([0.25, 0.5, 0.75, 0.99])("truncated at %s of its length: HW1001 naming the file", (frac) => {
    const file = join(tmp.dir, `truncated-${frac}.onnx`);
    writeFileSync(file, good.subarray(0, Math.floor(good.length * frac)));
    const e = hwacError(() => loadModel(file));
    expect(e.code).toBe("HW1001");
    expect(e.message).toMatch(/^not a valid ONNX model: .+/);
    expect(e.format()).toContain(file);
  });

  it.each([1, 2, 3, 4, 5])("random garbage (seed %i): HW1001", (seed) => {
    const next = prng(seed);
    const bytes = Uint8Array.from({ length: 4096 }, () => next() & 0xff);
    const e = hwacError(() => decodeModel(bytes, { file: "garbage.onnx", baseDir: tmp.dir }));
    expect(e.code).toBe("HW1001");
    expect(e.format()).toContain("garbage.onnx");
  });

  it("a protobuf without a graph: HW1001", () => {
    const bytes = onnx.ModelProto.encode({ irVersion: 8, producerName: "x" }).finish();
    const e = hwacError(() => decodeModel(bytes, mem));
    expect(e.code).toBe("HW1001");
    expect(e.message).toBe("not a valid ONNX model: it has no graph");
  });

  it("a missing file: HW1002 naming it", () => {
    const e = hwacError(() => loadModel(join(tmp.dir, "absent.onnx")));
    expect(e.code).toBe("HW1002");
    expect(e.message).toContain("absent.onnx");
  });

  it("a garbage tensor file: HW1001", () => {
    const file = join(tmp.dir, "bad.pb");
    writeFileSync(file, Uint8Array.from([0x0a, 0xff, 0xff, 0x03]));
    const e = hwacError(() => readTensorFile(file));
    expect(e.code).toBe("HW1001");
    expect(e.message).toMatch(/^not a valid ONNX tensor file: /);
    expect(e.format()).toContain(file);
  });

  it("every prefix and 600 random corruptions of a model load or fail with a HwacError", () => {
    const branch = { name: "b", node: [node("Identity", ["w"], ["o"])], output: [{ name: "o", type: {} }] };
    const bytes = encodeModel(
      reluGraph({
        initializer: [floatTensor("w", [2, 3], [1, 2, 3, 4, 5, 6])],
        node: [
          node("Constant", [], ["c"], [{ name: "value_ints", type: 7, ints: [1, -1] }]),
          node("If", ["cond"], ["y"], [
            { name: "then_branch", type: 5, g: branch },
            { name: "else_branch", type: 5, g: branch },
          ]),
        ],
      }),
    );
    const attempt = (b: Uint8Array): void => {
      try {
        decodeModel(b, mem);
      } catch (e) {
        if (!(e instanceof HwacError)) throw new Error(`raw ${String(e)} for bytes ${Buffer.from(b).toString("hex")}`);
      }
    };
    for (let n = 0; n < bytes.length; n++) attempt(bytes.subarray(0, n));
    const next = prng(42);
    for (let k = 0; k < 600; k++) {
      const b = Uint8Array.from(bytes);
      for (let j = 1 + (next() % 3); j > 0; j--) b[next() % b.length] = next() & 0xff;
      attempt(b);
    }
  });
});

describe("bad tensors", () => {
  it("raw_data of the wrong size: HW1005 with expected and actual bytes", () => {
    const file = modelWith({ name: "W", dims: [3], dataType: FLOAT, rawData: new Uint8Array(10) });
    const e = hwacError(() => loadModel(file));
    expect(e.code).toBe("HW1005");
    expect(e.message).toBe("tensor 'W' has 10 bytes of raw_data, but shape [3] of float32 needs 12");
    expect(e.format()).toContain(file);
  });

  it("a typed field of the wrong length, or no data at all: HW1005", () => {
    const e = hwacError(() => loadModel(modelWith({ name: "V", dims: [2, 2], dataType: FLOAT, floatData: [1, 2, 3] })));
    expect(e.code).toBe("HW1005");
    expect(e.message).toBe("tensor 'V' has 3 values in float_data, but shape [2,2] of float32 needs 4");
    const none = hwacError(() => loadModel(modelWith({ name: "N", dims: [5], dataType: FLOAT })));
    expect(none.message).toBe("tensor 'N' has no data, but shape [5] has 5 elements");
  });

  it("values in the wrong typed field: HW1003", () => {
    const e = hwacError(() => loadModel(modelWith({ name: "Q", dims: [1], dataType: 7, floatData: [1] })));
    expect(e.code).toBe("HW1003");
    expect(e.message).toBe("tensor 'Q' of element type int64 carries float_data; expected int64_data or raw_data");
  });

  it("a negative dimension: HW1006 naming the tensor", () => {
    const file = modelWith({ name: "Neg", dims: [2, -3], dataType: FLOAT, rawData: new Uint8Array(0) });
    const e = hwacError(() => loadModel(file));
    expect(e.code).toBe("HW1006");
    expect(e.message).toBe("tensor 'Neg' has dimension 1 = -3; dimensions must be non-negative integers");
    expect(e.format()).toContain(file);
  });

  it("10^12 declared elements fail fast, before any allocation", () => {
    const file = modelWith({ name: "Huge", dims: [1_000_000, 1_000_000], dataType: FLOAT, rawData: new Uint8Array(4) });
    const before = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    const e = hwacError(() => loadModel(file));
    expect(performance.now() - t0).toBeLessThan(100);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 2 ** 20);
    expect(e.code).toBe("HW1007");
    expect(e.message).toBe(
      "tensor 'Huge' declares 1000000000000 elements (shape [1000000,1000000]), more than the limit of 2147483648 (LoadOptions.maxTensorElements)",
    );
  });

  it("maxTensorElements lowers the limit", () => {
    const tp = floatTensor("W", [4], [1, 2, 3, 4]);
    expect(() => loadModel(modelWith(tp), { maxTensorElements: 4 })).not.toThrow();
    expect(hwacError(() => loadModel(modelWith(tp), { maxTensorElements: 3 })).code).toBe("HW1007");
  });

  it.each([
    [17, "FLOAT8E4M3FN"], [18, "FLOAT8E4M3FNUZ"], [19, "FLOAT8E5M2"], [20, "FLOAT8E5M2FNUZ"],
    [23, "FLOAT4E2M1"], [24, "FLOAT8E8M0"], [25, "UINT2"], [26, "INT2"], [14, "COMPLEX64"],
  ])("element type %i: HW1004 naming type and tensor", (code, name) => {
    const e = hwacError(() => loadModel(modelWith({ name: "F8", dims: [1], dataType: code, rawData: new Uint8Array(1) })));
    expect(e.code).toBe("HW1004");
    expect(e.message).toBe(`tensor 'F8': element type ${name} (${code}) is not supported`);
  });

  it("an unknown element type code: HW1004", () => {
    const e = hwacError(() => decodeTensor({ name: "U", dims: [1], dataType: 99, rawData: new Uint8Array(1) }, { where: {} }));
    expect(e.code).toBe("HW1004");
    expect(e.message).toBe("tensor 'U': element type 99 is not a known ONNX type");
  });
});

describe("unsupported or malformed model structure", () => {
  it("a sparse initializer: HW1009", () => {
    const sparse = { values: floatTensor("S", [1], [1]), indices: { name: "i", dims: [1], dataType: 7, int64Data: [0] }, dims: [4] };
    const e = hwacError(() => decodeModel(encodeModel(reluGraph({ sparseInitializer: [sparse] })), mem));
    expect(e.code).toBe("HW1009");
    expect(e.message).toBe("graph 'g' has sparse initializer 'S'; sparse tensors are not supported");
  });

  it("a sparse tensor attribute: HW1009 naming the node", () => {
    const attr = { name: "sparse_value", type: 11, sparseTensor: { values: floatTensor("v", [1], [1]), dims: [3] } };
    const g = reluGraph({ node: [node("Constant", [], ["y"], [attr], "k")] });
    const e = hwacError(() => decodeModel(encodeModel(g), mem));
    expect(e.code).toBe("HW1009");
    expect(e.where).toEqual({ file: "mem.onnx", node: "k", op: "Constant" });
  });

  it("a sequence-typed graph input: HW1009", () => {
    const seq = { name: "s", type: { sequenceType: { elemType: { tensorType: { elemType: FLOAT } } } } };
    const e = hwacError(() => decodeModel(encodeModel(reluGraph({ input: [seq] })), mem));
    expect(e.code).toBe("HW1009");
    expect(e.message).toBe("graph input 's' has a sequence type; only tensors are supported");
  });

  it("a main-graph input without a type, or duplicate initializers: HW1003", () => {
    expect(hwacError(() => decodeModel(encodeModel(reluGraph({ input: [{ name: "x" }] })), mem)).message)
      .toBe("graph input 'x' has no tensor type");
    const dup = reluGraph({ initializer: [floatTensor("w", [1], [1]), floatTensor("w", [1], [2])] });
    expect(hwacError(() => decodeModel(encodeModel(dup), mem)).message).toBe("graph 'g' defines initializer 'w' twice");
  });

  it("an attribute without a type: HW1003 naming node and attribute", () => {
    const g = reluGraph({ node: [node("LeakyRelu", ["x"], ["y"], [{ name: "alpha", f: 0.1 }], "lr")] });
    const e = hwacError(() => decodeModel(encodeModel(g), mem));
    expect(e.code).toBe("HW1003");
    expect(e.format()).toBe(
      "error HW1003 in mem.onnx, node 'lr' (LeakyRelu): attribute 'alpha' has no type (required since IR version 2)",
    );
  });

  it("more nodes than maxNodes, or a file over maxModelBytes: HW1007", () => {
    const bytes = encodeModel(reluGraph({ node: [node("Relu", ["x"], ["t"]), node("Relu", ["t"], ["y"])] }));
    expect(() => decodeModel(bytes, { ...mem, maxNodes: 2 })).not.toThrow();
    expect(hwacError(() => decodeModel(bytes, { ...mem, maxNodes: 1 })).message).toBe(
      "the model has more than 1 nodes (LoadOptions.maxNodes)",
    );
    const file = writeModel(tmp.dir, reluGraph(), {}, "small.onnx");
    const e = hwacError(() => loadModel(file, { maxModelBytes: 10 }));
    expect(e.code).toBe("HW1007");
    expect(e.message).toMatch(/^model file has \d+ bytes, more than the limit of 10 \(LoadOptions.maxModelBytes\)$/);
  });

  it("model-local functions: HW1009", () => {
    const bytes = encodeModel(reluGraph(), { functions: [{ name: "f", domain: "my" }] });
    expect(hwacError(() => decodeModel(bytes, mem)).message).toBe(
      "the model defines local functions (my:f), which are not supported",
    );
  });
});

describe("external data", () => {
  const modelDir = join(tmp.dir, "ext");
  mkdirSync(join(modelDir, "sub"), { recursive: true });
  // 32 bytes: float32 values 0..7.
  writeFileSync(join(modelDir, "weights.bin"), new Uint8Array(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]).buffer));
  writeFileSync(join(tmp.dir, "outside.bin"), new Uint8Array(64));
  symlinkSync(join(tmp.dir, "outside.bin"), join(modelDir, "escape.bin"));
  symlinkSync(tmp.dir, join(modelDir, "up"));
  symlinkSync(join(modelDir, "weights.bin"), join(modelDir, "sub", "alias.bin"));

  /** Loads a model whose initializer `W` (float [2,2]) lives in external data with these entries. */
  function load(entries: Record<string, string>): ReturnType<typeof loadModel> {
    const w: TensorProto = {
      name: "W", dims: [2, 2], dataType: FLOAT, dataLocation: 1,
      externalData: Object.entries(entries).map(([key, value]) => ({ key, value })),
    };
    const file = writeModel(modelDir, reluGraph({ initializer: [w] }));
    return loadModel(file);
  }

  function rejected(entries: Record<string, string>, code: string, why: RegExp): void {
    const e = hwacError(() => load(entries));
    expect(e.code).toBe(code);
    expect(e.format()).toContain(join(modelDir, "model.onnx"));
    expect(e.message).toContain("tensor 'W'");
    if (entries["location"]) expect(e.message).toContain(`'${entries["location"]}'`);
    expect(e.message).toMatch(why);
  }

  it("reads the byte range named by offset and length", () => {
    const w = load({ location: "weights.bin", offset: "8", length: "16" }).graph.initializers.get("W")!;
    expect(Array.from(w.data as Float32Array)).toEqual([2, 3, 4, 5]);
  });

  it("without a length, reads to the end of the file", () => {
    const w = load({ location: "weights.bin", offset: "16" }).graph.initializers.get("W")!;
    expect(Array.from(w.data as Float32Array)).toEqual([4, 5, 6, 7]);
  });

  it("follows a symlink that stays inside the model's folder", () => {
    const w = load({ location: "sub/alias.bin", length: "16" }).graph.initializers.get("W")!;
    expect(Array.from(w.data as Float32Array)).toEqual([0, 1, 2, 3]);
  });

  it("rejects an absolute path", () => {
    rejected({ location: join(tmp.dir, "outside.bin"), length: "16" }, "HW1008", /is an absolute path/);
  });

  it.each(["../outside.bin", "sub/../weights.bin", "sub\\..\\weights.bin"])("rejects '..' segments: %s", (location) => {
    rejected({ location, length: "16" }, "HW1008", /contains a '\.\.' segment/);
  });

  it("rejects a symlinked file or folder leading outside", () => {
    rejected({ location: "escape.bin", length: "16" }, "HW1008", /outside the model's folder/);
    rejected({ location: "up/outside.bin", length: "16" }, "HW1008", /outside the model's folder/);
  });

  it("rejects an offset or length past the end of the file", () => {
    rejected({ location: "weights.bin", offset: "40", length: "16" }, "HW1008", /has offset 40, past the end of the file \(32 bytes\)/);
    rejected({ location: "weights.bin", offset: "24", length: "16" }, "HW1008", /offset 24 \+ length 16 = 40, past the end of the file \(32 bytes\)/);
  });

  it("rejects a length that does not match the tensor", () => {
    rejected({ location: "weights.bin", length: "12" }, "HW1005", /holds 12 bytes, but the tensor's shape and element type need 16/);
    rejected({ location: "weights.bin" }, "HW1005", /holds 32 bytes/);
  });

  it("rejects a missing file, a folder, a bad offset and a missing location", () => {
    rejected({ location: "nope.bin" }, "HW1008", /cannot be opened: ENOENT/);
    rejected({ location: "sub", length: "16" }, "HW1002", /is not a regular file/);
    rejected({ location: "weights.bin", offset: "-4" }, "HW1008", /has an invalid offset '-4'/);
    rejected({ offset: "0" }, "HW1008", /has no 'location' entry/);
  });

  it("is refused for a model decoded from bytes without a folder", () => {
    const e = hwacError(() =>
      decodeTensor({ name: "W", dims: [1], dataType: FLOAT, dataLocation: 1, externalData: [{ key: "location", value: "w.bin" }] }, { where: {} }),
    );
    expect(e.code).toBe("HW1008");
    expect(e.message).toBe("tensor 'W': external data location 'w.bin' cannot be resolved: the model was not loaded from a folder");
  });
});
