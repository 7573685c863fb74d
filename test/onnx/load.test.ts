/**
 * ModelProto → IR translation on generated models: opsets, value declarations, initializers,
 * node names, every attribute kind, subgraphs, and load speed on a 100 MB model.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Graph, Model } from "../../ir/graph.js";
import { decodeModel, loadModel } from "../../src/onnx/load.js";
import type { AttributeProto } from "../../src/onnx/proto.js";
import { encodeModel, FLOAT, floatTensor, INT64, node, reluGraph, tempDir, valueInfo, writeModel } from "./proto-builders.js";

const tmp = tempDir();
afterAll(tmp.cleanup);
const mem = { file: "mem.onnx", baseDir: tmp.dir };

function decode(...args: Parameters<typeof encodeModel>): Model {
  return decodeModel(encodeModel(...args), mem);
}

describe("model header", () => {
  it("translates opset imports, normalising ai.onnx to '' and keeping vendor domains", () => {
    const m = decode(reluGraph(), {
      irVersion: 9,
      producerName: "exporter",
      producerVersion: "2.1",
      opsetImport: [{ domain: "ai.onnx", version: 13 }, { domain: "com.microsoft", version: 1 }, { domain: "ai.onnx.ml", version: 3 }],
    });
    expect(m.irVersion).toBe(9);
    expect(m.producer).toBe("exporter 2.1");
    expect(m.opsets).toEqual({ "": 13, "com.microsoft": 1, "ai.onnx.ml": 3 });
    expect(m.source).toBe("mem.onnx");
  });

  it("rejects a domain imported twice", () => {
    expect(() => decode(reluGraph(), { opsetImport: [{ domain: "", version: 13 }, { domain: "ai.onnx", version: 11 }] }))
      .toThrow("opset_import lists domain '' twice");
  });
});

describe("values", () => {
  it("translates dims: dim_value, dim_param, neither, and a missing shape", () => {
    const m = decode({
      name: "g",
      node: [node("Relu", ["x"], ["y"])],
      input: [valueInfo("x", FLOAT, [3, "batch", null])],
      output: [valueInfo("y", FLOAT, null)],
      valueInfo: [valueInfo("t", INT64, []), { name: "untyped" }],
    });
    expect(m.graph.inputs).toEqual([{ name: "x", type: { dtype: "float32", shape: [3, "batch", "?"] } }]);
    expect(m.graph.outputs).toEqual([{ name: "y", type: { dtype: "float32", shape: null } }]);
    expect([...m.graph.valueTypes]).toEqual([["t", { dtype: "int64", shape: [] }]]);
  });

  it("drops initializers listed as graph inputs (IR < 4) and keeps them as constants", () => {
    const m = decode(
      reluGraph({
        input: [valueInfo("x", FLOAT, [2, 3]), valueInfo("w", FLOAT, [2])],
        initializer: [floatTensor("w", [2], [0.5, -1])],
      }),
      { irVersion: 3 },
    );
    expect(m.graph.inputs.map((i) => i.name)).toEqual(["x"]);
    const w = m.graph.initializers.get("w")!;
    expect(w.shape).toEqual([2]);
    expect(Array.from(w.data as Float32Array)).toEqual([0.5, -1]);
  });
});

describe("nodes", () => {
  it("names unnamed nodes <op>_<index>, unique model-wide, never taking an explicit name", () => {
    const m = decode(
      reluGraph({
        node: [
          node("Relu", ["x"], ["a"]), // Relu_0 is taken by an explicit name below
          node("Relu", ["a"], ["b"], [], "Relu_0"),
          node("Neg", ["b"], ["c"], [], "dup"),
          node("Neg", ["c"], ["d"], [], "dup"),
          node("Abs", ["d"], ["y"], [], ""),
        ],
      }),
    );
    expect(m.graph.nodes.map((n) => n.name)).toEqual(["Relu_0_1", "Relu_0", "dup", "dup_1", "Abs_4"]);
  });

  it("keeps inputs (with '' for omitted ones), outputs and domains", () => {
    const clip = { ...node("Clip", ["x", "", "hi"], ["y"]), domain: "ai.onnx" };
    const custom = { ...node("FusedThing", ["y"], ["z"]), domain: "com.vendor" };
    const m = decode(reluGraph({ node: [clip, custom] }));
    expect(m.graph.nodes.map((n) => [n.op, n.domain, n.inputs, n.outputs])).toEqual([
      ["Clip", "", ["x", "", "hi"], ["y"]],
      ["FusedThing", "com.vendor", ["y"], ["z"]],
    ]);
  });

  it("converts every attribute kind", () => {
    const sub = { name: "body", node: [node("Add", ["x", "w"], ["o"])], output: [valueInfo("o", FLOAT, [2, 3])] };
    const attrs: AttributeProto[] = [
      { name: "i", type: 2, i: -7 },
      { name: "big", type: 2, i: "9223372036854775807" as unknown as number },
      { name: "f", type: 1, f: 0.1 },
      { name: "s", type: 3, s: Buffer.from("héllo", "utf8") },
      { name: "is", type: 7, ints: [1, -2, 3] },
      { name: "fs", type: 6, floats: [0.5, -1.25] },
      { name: "ss", type: 8, strings: [Buffer.from("a"), Buffer.from("日本")] },
      { name: "t", type: 4, t: floatTensor("", [2], [1, 2]) },
      { name: "ts", type: 9, tensors: [floatTensor("a", [1], [3]), { dims: [], dataType: INT64, int64Data: [-4] }] },
      { name: "g", type: 5, g: sub },
      { name: "gs", type: 10, graphs: [sub, sub] },
    ];
    const m = decode(reluGraph({ initializer: [floatTensor("w", [1], [1])], node: [node("Custom", ["x"], ["y"], attrs, "c")] }));
    const a = m.graph.nodes[0]!.attrs;
    expect(a["i"]).toEqual({ kind: "int", value: -7 });
    expect(a["big"]).toEqual({ kind: "int", value: 2 ** 63 });
    expect(a["f"]).toEqual({ kind: "float", value: Math.fround(0.1) });
    expect(a["s"]).toEqual({ kind: "string", value: "héllo" });
    expect(a["is"]).toEqual({ kind: "ints", value: [1, -2, 3] });
    expect(a["fs"]).toEqual({ kind: "floats", value: [0.5, -1.25] });
    expect(a["ss"]).toEqual({ kind: "strings", value: ["a", "日本"] });
    const t = a["t"]!;
    expect(t.kind === "tensor" && [t.value.shape, Array.from(t.value.data as Float32Array)]).toEqual([[2], [1, 2]]);
    const ts = a["ts"]!;
    expect(ts.kind === "tensors" && ts.value.map((x) => [x.dtype, x.shape, x.data[0]])).toEqual([
      ["float32", [1], 3],
      ["int64", [], -4n],
    ]);
    const g = a["g"]!;
    expect(g.kind).toBe("graph");
    const body = (g as { value: Graph }).value;
    // The body reads the outer initializer `w`: outer-scope references stay plain names.
    expect(body.nodes[0]).toMatchObject({ op: "Add", inputs: ["x", "w"], outputs: ["o"] });
    expect(body.outputs).toEqual([{ name: "o", type: { dtype: "float32", shape: [2, 3] } }]);
    const gs = a["gs"]!;
    expect(gs.kind === "graphs" && gs.value.map((x) => x.nodes[0]!.name)).toEqual(["Add_0_1", "Add_0_2"]);
    expect(body.nodes[0]!.name).toBe("Add_0");
  });

  it("declares untyped subgraph outputs as float32 of unknown rank", () => {
    const branch = { name: "b", node: [node("Identity", ["x"], ["o"])], output: [{ name: "o", type: {} }] };
    const m = decode(reluGraph({ node: [node("If", ["c"], ["y"], [{ name: "then_branch", type: 5, g: branch }])] }));
    const then = m.graph.nodes[0]!.attrs["then_branch"] as { value: Graph };
    expect(then.value.outputs).toEqual([{ name: "o", type: { dtype: "float32", shape: null } }]);
  });
});

describe("speed", () => {
  it("loads a 100 MB model in well under a second", () => {
    const n = 6_553_600; // 25 MiB of float32 per initializer, four of them
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = i % 1000;
    const init = ["w0", "w1", "w2", "w3"].map((name) => ({
      name, dims: [n], dataType: FLOAT, rawData: new Uint8Array(values.buffer),
    }));
    const file = writeModel(tmp.dir, reluGraph({ initializer: init }), {}, "big.onnx");
    const t0 = performance.now();
    const m = loadModel(file);
    const ms = performance.now() - t0;
    const w3 = m.graph.initializers.get("w3")!.data as Float32Array;
    expect([w3.length, w3[0], w3[999], w3[1000], w3[n - 1]]).toEqual([n, 0, 999, 0, (n - 1) % 1000]);
    expect(ms).toBeLessThan(1000);
  });
});

it("loadModel records the file it came from", () => {
  const file = writeModel(tmp.dir, reluGraph());
  expect(loadModel(file).source).toBe(join(tmp.dir, "model.onnx"));
});
