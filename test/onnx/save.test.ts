/**
 * IR → ONNX writing: every bundled model that loads comes back with the same IR text after
 * encodeModel + decodeModel; hand-built models cover the parts fixtures may not (int64
 * sentinels, anonymous dims, every attribute kind, nested graphs); saveModel writes atomically.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Attr, Graph, Model, Node } from "../../ir/graph.js";
import { f32, i64, tensor } from "../../ir/tensor.js";
import { printModel } from "../../ir/text/index.js";
import { decodeModel, loadModel } from "../../src/onnx/load.js";
import { encodeModel, saveModel } from "../../src/onnx/save.js";
import { loadableModels, modelFiles } from "../helpers/fixtures.js";

const tmp = mkdtempSync(join(tmpdir(), "hwac-save-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function reload(m: Model): Model {
  return decodeModel(encodeModel(m), { file: "mem.onnx", baseDir: tmp });
}

/** Loads every model (skipping element types the IR cannot hold) and lists those whose text changes. */
function roundTrip(files: readonly string[]): { done: number; failures: string[] } {
  let done = 0;
  const failures: string[] = [];
  for (const [f, m] of loadableModels(files)) {
    if (printModel(reload(m)) !== printModel(m)) failures.push(f);
    done++;
  }
  return { done, failures };
}

describe("fixture models round-trip through encodeModel", () => {
  it.each(["real", "trained"])("fixtures/%s", (group) => {
    const files = modelFiles(group);
    expect(files.length).toBeGreaterThanOrEqual(3);
    expect(roundTrip(files)).toEqual({ done: files.length, failures: [] });
  });

  it("fixtures/onnx-node", () => {
    const files = modelFiles("onnx-node");
    const { done, failures } = roundTrip(files);
    expect(failures).toEqual([]);
    expect(done).toBeGreaterThan(files.length * 0.9);
  });
});

function node(op: string, inputs: string[], outputs: string[], attrs: Record<string, Attr> = {}): Node {
  return { op, domain: "", name: `${op}_${outputs[0]}`, inputs, outputs, attrs };
}

function graph(parts: Partial<Graph>): Graph {
  return { name: "g", inputs: [], outputs: [], initializers: new Map(), nodes: [], valueTypes: new Map(), ...parts };
}

describe("hand-built models", () => {
  /** Node names are unique model-wide, so each branch names its own. */
  const branch = (name: string): Graph =>
    graph({
      name,
      outputs: [{ name: `${name}_out`, type: { dtype: "float32", shape: null } }],
      initializers: new Map([["k", f32([1], [2])]]),
      nodes: [node("Mul", ["x", "k"], [`${name}_out`])],
    });
  const model: Model = {
    irVersion: 8,
    opsets: { "": 17, "com.example": 2 },
    producer: "hand 1.0",
    graph: graph({
      inputs: [
        { name: "x", type: { dtype: "float32", shape: ["batch", "?", 3] } },
        { name: "c", type: { dtype: "bool", shape: [] } },
      ],
      outputs: [{ name: "y", type: { dtype: "float32", shape: null } }],
      initializers: new Map([
        ["w4", tensor("int4", [3], Int8Array.of(-8, 7, -1))],
        ["h", tensor("float16", [2], Float32Array.of(0.5, -2))],
        ["s", tensor("string", [2], ["a", "ünï"])],
      ]),
      valueTypes: new Map([["t", { dtype: "int64", shape: [] }]]),
      nodes: [
        node("Slice", ["x"], ["sl"], {
          ends: { kind: "ints", value: [2 ** 63, -(2 ** 63), 5] },
          axis: { kind: "int", value: 2 ** 63 },
          alpha: { kind: "float", value: Math.fround(0.1) },
          mode: { kind: "string", value: "ünï" },
          scales: { kind: "floats", value: [Math.fround(0.3), -0] },
          names: { kind: "strings", value: ["", "b"] },
          value: { kind: "tensor", value: i64([2], [-1, 2]) },
          values: { kind: "tensors", value: [f32([], [1.5]), tensor("uint4", [1], Uint8Array.of(15))] },
        }),
        {
          ...node("If", ["c"], ["y"], {
            then_branch: { kind: "graph", value: branch("then") },
            branches: { kind: "graphs", value: [branch("first"), graph({ name: "empty" })] },
          }),
          domain: "com.example",
        },
      ],
    }),
  };

  it("keeps every attribute kind, int64 extremes, dims, initializers and subgraphs", () => {
    const back = reload(model);
    expect(printModel(back)).toBe(printModel(model));
    expect(back.graph.nodes[0]!.attrs["ends"]).toEqual({ kind: "ints", value: [2 ** 63, -(2 ** 63), 5] });
    expect(back.graph.inputs[0]!.type.shape).toEqual(["batch", "?", 3]);
  });

  it("writes no quantization parameters: a quantized type comes back as its plain element type", () => {
    const q = {
      ...model,
      graph: {
        ...model.graph,
        valueTypes: new Map([["t", { dtype: "int8" as const, shape: [2], quant: { scale: Float32Array.of(0.5), zeroPoint: Int32Array.of(3) } }]]),
      },
    };
    expect(reload(q).graph.valueTypes.get("t")).toEqual({ dtype: "int8", shape: [2] });
  });

  it("saveModel writes the file atomically and leaves no temporary file", () => {
    const dir = join(tmp, "out");
    const file = join(dir, "m.onnx");
    saveModel(model, file);
    saveModel(model, file);
    expect(readdirSync(dir)).toEqual(["m.onnx"]);
    expect(printModel(loadModel(file))).toBe(printModel(model));
  });

  it("saveModel reports a path it cannot write as HW1002", () => {
    const dir = join(tmp, "is-a-dir");
    mkdirSync(dir);
    expect(() => saveModel(model, dir)).toThrow(expect.objectContaining({ code: "HW1002" }));
  });
});
