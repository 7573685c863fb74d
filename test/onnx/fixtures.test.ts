/**
 * Every bundled model and test tensor decodes: fixtures/{real,trained} and all of onnx-node.
 * Models or tensors that use element types hwac cannot store (float8, float4, int2) must fail
 * with HW1004 naming the type; which ones those are is found independently, by scanning the
 * raw protobuf.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ONNX_DTYPE_UNSUPPORTED } from "../../ir/dtype.js";
import { HwacError } from "../../ir/errors.js";
import type { Model } from "../../ir/graph.js";
import { loadModel } from "../../src/onnx/load.js";
import { onnx, type GraphProto } from "../../src/onnx/proto.js";
import { readTensorFile } from "../../src/onnx/tensor-proto.js";
import { FIXTURES } from "../helpers/fixtures.js";

function caseDirs(group: string): string[] {
  const root = join(FIXTURES, group);
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith("_"))
    .map((d) => join(root, d.name))
    .sort();
}

/** Element type codes used anywhere in a graph's declarations and tensors. */
function elementCodes(g: GraphProto, out = new Set<number>()): Set<number> {
  for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) {
    if (v.type?.tensorType?.elemType) out.add(v.type.tensorType.elemType);
  }
  for (const t of g.initializer ?? []) out.add(t.dataType ?? 0);
  for (const n of g.node ?? []) {
    for (const a of n.attribute ?? []) {
      if (a.t) out.add(a.t.dataType ?? 0);
      for (const t of a.tensors ?? []) out.add(t.dataType ?? 0);
      if (a.g) elementCodes(a.g, out);
      for (const s of a.graphs ?? []) elementCodes(s, out);
    }
  }
  return out;
}

const UNSUPPORTED_CODES = new Set([17, 18, 19, 20, 23, 24, 25, 26]);

function unsupportedCode(codes: Iterable<number>): number | undefined {
  for (const c of codes) if (UNSUPPORTED_CODES.has(c)) return c;
  return undefined;
}

function expectUnsupported(fn: () => unknown, codes: Set<number>): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HwacError);
    const err = e as HwacError;
    expect(err.code).toBe("HW1004");
    const m = /element type (\w+) \((\d+)\) is not supported/.exec(err.message);
    expect(m, err.message).not.toBeNull();
    expect(codes.has(Number(m![2]))).toBe(true);
    expect(m![1]).toBe(ONNX_DTYPE_UNSUPPORTED[Number(m![2])]);
    return;
  }
  throw new Error("expected HW1004");
}

function countNodes(m: Model["graph"]): number {
  let n = 0;
  for (const node of m.nodes) {
    n++;
    for (const a of Object.values(node.attrs)) {
      if (a.kind === "graph") n += countNodes(a.value);
      if (a.kind === "graphs") for (const g of a.value) n += countNodes(g);
    }
  }
  return n;
}

function checkCase(dir: string): void {
  const file = join(dir, "model.onnx");
  const proto = onnx.ModelProto.decode(readFileSync(file));
  const codes = elementCodes(proto.graph!);
  if (unsupportedCode(codes) !== undefined) {
    expectUnsupported(() => loadModel(file), codes);
  } else {
    const model = loadModel(file);
    expect(countNodes(model.graph)).toBeGreaterThan(0);
    expect(model.graph.outputs.length).toBe(proto.graph!.output!.length);
  }
  for (const set of readdirSync(dir).filter((d) => d.startsWith("test_data_set_"))) {
    for (const f of readdirSync(join(dir, set)).filter((n) => n.endsWith(".pb"))) {
      const path = join(dir, set, f);
      const tp = onnx.TensorProto.decode(readFileSync(path));
      if (UNSUPPORTED_CODES.has(tp.dataType)) {
        expectUnsupported(() => readTensorFile(path), new Set([tp.dataType]));
        continue;
      }
      const { name, tensor } = readTensorFile(path);
      expect(name).toBe(tp.name);
      expect(tensor.shape).toEqual(tp.dims.map(Number));
      expect(tensor.data.length).toBe(tensor.shape.reduce((a, b) => a * b, 1));
    }
  }
}

describe.each(["real", "trained"])("%s models", (group) => {
  it.each(caseDirs(group))("%s", (dir) => checkCase(dir));
});

describe("onnx-node models", () => {
  const dirs = caseDirs("onnx-node");

  it("are all present", () => {
    expect(dirs.length).toBeGreaterThan(500);
  });

  it("all decode, or fail with HW1004 exactly when they use an unsupported element type", () => {
    for (const dir of dirs) {
      try {
        checkCase(dir);
      } catch (e) {
        throw new Error(`${dir}: ${e instanceof HwacError ? e.format() : String(e)}`);
      }
    }
  });
});

describe("decoded fixture contents", () => {
  it("digits-mlp: opsets, symbolic batch dim, initializers, node names", () => {
    const m = loadModel(join(FIXTURES, "trained/digits-mlp/model.onnx"));
    expect(m.opsets).toEqual({ "": 13 });
    expect(m.graph.inputs).toEqual([{ name: "x", type: { dtype: "float32", shape: ["batch", 64] } }]);
    expect(m.graph.nodes.map((n) => n.op)).toEqual(["Gemm", "Relu", "Gemm", "Relu", "Gemm"]);
    expect(new Set(m.graph.nodes.map((n) => n.name)).size).toBe(5);
    // 17226 trainable parameters, all float32 initializers.
    let params = 0;
    for (const t of m.graph.initializers.values()) {
      expect(t.dtype).toBe("float32");
      params += t.data.length;
    }
    expect(params).toBe(17226);
  });

  it("oww_embedding_model keeps the ai.onnx.ml domain and anonymous dims", () => {
    const m = loadModel(join(FIXTURES, "real/oww_embedding_model/model.onnx"));
    expect(m.opsets).toEqual({ "": 13, "ai.onnx.ml": 2 });
    expect(m.producer).toBe("tf2onnx 1.12.1 b6d590");
    expect(m.graph.inputs[0]!.type.shape).toEqual(["unk__314", 76, 32, 1]);
  });

  it("silero_vad_v5: nested If subgraphs, dims with neither value nor param are '?'", () => {
    const m = loadModel(join(FIXTURES, "real/silero_vad_v5/model.onnx"));
    const input = m.graph.inputs.find((i) => i.name === "input")!;
    expect(input.type.shape).toEqual(["?", "?"]);
    const ifNode = m.graph.nodes.find((n) => n.op === "If")!;
    expect(ifNode.attrs["then_branch"]!.kind).toBe("graph");
    expect(ifNode.attrs["else_branch"]!.kind).toBe("graph");
    const names = new Set<string>();
    const collect = (g: Model["graph"]): void => {
      for (const n of g.nodes) {
        expect(names.has(n.name), n.name).toBe(false);
        names.add(n.name);
        for (const a of Object.values(n.attrs)) if (a.kind === "graph") collect(a.value);
      }
    };
    collect(m.graph);
    expect(names.size).toBe(countNodes(m.graph));
  });

  it("loads the biggest fixture quickly", () => {
    const files = [...caseDirs("real"), ...caseDirs("trained")].map((d) => join(d, "model.onnx"));
    const biggest = files.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
    loadModel(biggest);
    const t0 = performance.now();
    loadModel(biggest);
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(200);
  });
});
