import { describe, expect, it } from "vitest";
import { tensor } from "../../ir/tensor.js";
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
