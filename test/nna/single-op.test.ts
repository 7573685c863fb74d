import { describe, expect, it } from "vitest";
import { tensor } from "../../ir/tensor.js";
import { DEFAULT_CONFIG, decodeProgram } from "../../backends/nna/index.js";
import { compile } from "../../src/compile.js";
import { verifyNna } from "../../src/targets/nna.js";
import { attentionModel } from "../helpers/program-folders.js";
import { checkOnNna, int, ints, randomFloats } from "./single-op.js";

describe("single-op graphs on the NNA", () => {
  it("Gemm + Relu with K and N not multiples of the array size", () => {
    const { sim, q } = checkOnNna({
      inputs: { x: [5, 37] },
      constants: { w: tensor("float32", [21, 37], randomFloats(3, 21 * 37)), b: tensor("float32", [21], randomFloats(4, 21)) },
      nodes: [
        { op: "Gemm", inputs: ["x", "w", "b"], outputs: ["h"], attrs: { transB: int(1) } },
        { op: "Relu", inputs: ["h"], outputs: ["y"] },
      ],
    });
    expect(q.graph.nodes.map((n) => n.op)).toEqual(["QuantizeLinear", "Gemm", "Relu", "DequantizeLinear"]);
    expect(sim.stats.cycles).toBeGreaterThan(0);
  });

  it("a Relu that cannot fuse keeps its Conv's nhwc layout for the Add that joins both paths", () => {
    const { q, program } = checkOnNna({
      inputs: { x: [1, 3, 6, 6] },
      constants: { w: tensor("float32", [20, 3, 3, 3], randomFloats(5, 20 * 27)) },
      nodes: [
        { op: "Conv", inputs: ["x", "w"], outputs: ["c"], attrs: { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) } },
        { op: "Relu", inputs: ["c"], outputs: ["r"] },
        { op: "Add", inputs: ["r", "c"], outputs: ["y"] },
      ],
    });
    expect(q.graph.nodes.map((n) => n.op)).toEqual(["QuantizeLinear", "Conv", "Relu", "Add", "DequantizeLinear"]);
    expect(program.layers.map((l) => l.name)).toEqual(["n0", "n1", "n2"]);
  });
});

describe("Transpose on the NNA", () => {
  const cases: [number[], number[]][] = [[[5, 37], [1, 0]], [[2, 3, 17], [0, 2, 1]], [[2, 3, 4, 5], [0, 3, 1, 2]], [[1, 6, 1, 9], [0, 2, 1, 3]]];
  it.each(cases)("%j by %j equals the reference", (shape, perm) => {
    const { program } = checkOnNna({
      inputs: { x: shape },
      nodes: [
        { op: "Relu", inputs: ["x"], outputs: ["r"] },
        { op: "Transpose", inputs: ["r"], outputs: ["y"], attrs: { perm: ints(perm) } },
      ],
    });
    expect(program.layers.length).toBeGreaterThan(0);
  });

  it("after a Conv (an nhwc feature map)", () => {
    checkOnNna({
      inputs: { x: [1, 3, 5, 7] },
      constants: { w: tensor("float32", [20, 3, 3, 3], randomFloats(9, 20 * 27)) },
      nodes: [
        { op: "Conv", inputs: ["x", "w"], outputs: ["c"], attrs: { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) } },
        { op: "Transpose", inputs: ["c"], outputs: ["y"], attrs: { perm: ints([0, 2, 3, 1]) } },
      ],
    });
  });
});

describe("self-attention on the NNA", () => {
  it("projections, Q·Kᵀ through a Transpose, Softmax and P·V verify bit for bit", () => {
    const { model, sets } = attentionModel();
    const c = compile(model, sets, { target: "nna" });
    const folder = { model: c.program.model, program: decodeProgram(c.files.get("model.nnab") as Uint8Array), config: DEFAULT_CONFIG, batching: c.batching, probes: [] };
    expect(c.program.model.graph.nodes.map((n) => n.op)).toContain("Transpose");
    const r = verifyNna(folder, sets[0]!);
    expect(r.difference).toBeUndefined();
    expect(r.items).toBe(16);
  });
});
