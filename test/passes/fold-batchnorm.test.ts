/** fold-batchnorm on hand-built graphs: exact folded weights and biases, and where it must not fold. */
import { describe, expect, it } from "vitest";
import type { Node } from "../../ir/graph.js";
import { runModel } from "../../ir/interpret.js";
import { f32, toFloat64, type Tensor } from "../../ir/tensor.js";
import { foldBatchNorm } from "../../src/passes/fold-batchnorm.js";
import { decl, f32t, float, graph, int, model, node, unchanged, values, wiring } from "./build.js";

/** γ = [3, 0.5], β = [0.1, 0.2], μ = [1, 2], σ² = [4, 0.25] with ε = 0: a = γ/√σ² = [1.5, 1]. */
const stats: [string, Tensor][] = [
  ["gamma", f32([2], [3, 0.5])],
  ["beta", f32([2], [0.1, 0.2])],
  ["mean", f32([2], [1, 2])],
  ["var", f32([2], [4, 0.25])],
];
const bn = (input: string, output: string, attrs = {}): Node =>
  node("BatchNormalization", [input, "gamma", "beta", "mean", "var"], [output], { epsilon: float(0), ...attrs }, "bn");

function convBn(extra: { convInputs?: string[]; nodes?: Node[]; outputs?: string[]; opset?: number; bnAttrs?: object } = {}) {
  return model(
    graph({
      inputs: [decl("x", f32t(1, 1, 2, 2))],
      outputs: (extra.outputs ?? ["y"]).map((n) => decl(n, f32t(1, 2, 2, 2))),
      initializers: [["W", f32([2, 1, 1, 1], [2, 3])], ["b", f32([2], [1, -1])], ...stats],
      nodes: [node("Conv", extra.convInputs ?? ["x", "W", "b"], ["c"], {}, "conv"), bn("c", "y", extra.bnAttrs), ...(extra.nodes ?? [])],
    }),
    extra.opset,
  );
}

describe("fold-batchnorm", () => {
  it("scales W per output channel and folds the statistics into the bias", () => {
    const m = convBn();
    const out = unchanged(m, foldBatchNorm);
    expect(wiring(out.graph)).toEqual(["y = Conv(x, W, b) @conv"]);
    expect(values(out.graph.initializers.get("W"))).toEqual([3, 3]);
    // b' = (b − μ)·a + β
    expect(values(out.graph.initializers.get("b"))).toEqual([Math.fround(0.1), Math.fround(-3 + 0.2)]);
    const feeds = new Map([["x", f32([1, 1, 2, 2], [1, -2, 0.5, 4])]]);
    const want = toFloat64(runModel(m, feeds).get("y")!);
    toFloat64(runModel(out, feeds).get("y")!).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));
  });

  it("gives a Conv without bias a new one, and leaves a shared weight alone", () => {
    const noBias = foldBatchNorm(convBn({ convInputs: ["x", "W"] }));
    expect(wiring(noBias.graph)).toEqual(["y = Conv(x, W, W_bias) @conv"]);
    expect(values(noBias.graph.initializers.get("W_bias"))).toEqual([Math.fround(-1.5 + 0.1), Math.fround(-2 + 0.2)]);

    const shared = foldBatchNorm(
      convBn({ nodes: [node("Conv", ["x", "W"], ["y2"], {}, "conv2")], outputs: ["y", "y2"] }),
    );
    expect(wiring(shared.graph)).toEqual(["y = Conv(x, W_bn, b) @conv", "y2 = Conv(x, W) @conv2"]);
    expect(values(shared.graph.initializers.get("W"))).toEqual([2, 3]);
    expect(values(shared.graph.initializers.get("W_bn"))).toEqual([3, 3]);
  });

  it("matches the unfolded model on a grouped 3x3 convolution with ε = 1e-5", () => {
    const w = Float32Array.from({ length: 4 * 9 }, (_, i) => Math.sin(i) / 3);
    const x = Float32Array.from({ length: 2 * 25 }, (_, i) => Math.cos(i * 0.7));
    const m = model(
      graph({
        inputs: [decl("x", f32t(1, 2, 5, 5))],
        outputs: [decl("y", f32t(1, 4, 5, 5))],
        initializers: [
          ["W", f32([4, 1, 3, 3], w)],
          ["gamma", f32([4], [0.5, 1.5, -2, 1])],
          ["beta", f32([4], [0.1, -0.3, 0, 2])],
          ["mean", f32([4], [0.2, -0.1, 0.3, 0])],
          ["var", f32([4], [0.9, 0.01, 2, 1])],
        ],
        nodes: [
          node("Conv", ["x", "W"], ["c"], { group: int(2), pads: { kind: "ints", value: [1, 1, 1, 1] } }, "conv"),
          node("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["y"], {}, "bn"),
        ],
      }),
    );
    const out = foldBatchNorm(m);
    expect(wiring(out.graph)).toEqual(["y = Conv(x, W, W_bias) @conv"]);
    const feeds = new Map([["x", f32([1, 2, 5, 5], x)]]);
    const want = toFloat64(runModel(m, feeds).get("y")!);
    const got = toFloat64(runModel(out, feeds).get("y")!);
    got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-5));
  });

  it("keeps BatchNormalization whose Conv output is read elsewhere, in training mode, or after another op", () => {
    const read = convBn({ nodes: [node("Relu", ["c"], ["r"])], outputs: ["y", "r"] });
    expect(foldBatchNorm(read)).toBe(read);
    const training = convBn({ opset: 15, bnAttrs: { training_mode: int(1) } });
    expect(foldBatchNorm(training)).toBe(training);
    const afterRelu = model(
      graph({
        inputs: [decl("x", f32t(1, 2, 2, 2))],
        outputs: [decl("y", f32t(1, 2, 2, 2))],
        initializers: stats,
        nodes: [node("Relu", ["x"], ["c"]), bn("c", "y")],
      }),
    );
    expect(foldBatchNorm(afterRelu)).toBe(afterRelu);
  });
});
