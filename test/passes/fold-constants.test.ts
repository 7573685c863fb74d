/** fold-constants on hand-built graphs: exact node lists and initializer values after folding. */
import { describe, expect, it } from "vitest";
import { HwacError } from "../../ir/errors.js";
import type { Graph } from "../../ir/graph.js";
import { runModel } from "../../ir/interpret.js";
import { f32, i64, tensor } from "../../ir/tensor.js";
import { verifyModel } from "../../ir/verify.js";
import { foldConstants } from "../../src/passes/fold-constants.js";
import { removeDead } from "../../src/passes/remove-dead.js";
import { decl, f32t, graph, graphAttr, int, model, node, tensorAttr, type, unchanged, values, wiring } from "./build.js";

describe("fold-constants", () => {
  it("folds Constant nodes and shape arithmetic on a static shape: Reshape(x, [-1, dim 1 of x])", () => {
    const m = model(
      graph({
        inputs: [decl("x", f32t(2, 3))],
        outputs: [decl("y", f32t("?", "?"))],
        initializers: [["axes", i64([1], [0])]],
        nodes: [
          node("Shape", ["x"], ["s"]),
          node("Constant", [], ["one"], { value: tensorAttr(i64([], [1])) }),
          node("Gather", ["s", "one"], ["d"], { axis: int(0) }),
          node("Unsqueeze", ["d", "axes"], ["d1"]),
          node("Constant", [], ["minus1"], { value: tensorAttr(i64([1], [-1])) }),
          node("Concat", ["minus1", "d1"], ["shape"], { axis: int(0) }),
          node("Reshape", ["x", "shape"], ["y"]),
        ],
      }),
    );
    const out = unchanged(m, foldConstants);
    expect(wiring(out.graph)).toEqual(["y = Reshape(x, shape) @y"]);
    expect([...out.graph.initializers.keys()]).toEqual(["axes", "s", "one", "d", "d1", "minus1", "shape"]);
    expect(values(out.graph.initializers.get("s"))).toEqual([2, 3]);
    expect(values(out.graph.initializers.get("shape"))).toEqual([-1, 3]);
    expect([...removeDead(out).graph.initializers.keys()]).toEqual(["shape"]);
    verifyModel(out);
  });

  it("folds outputs no larger than the inputs or 16 KiB, and leaves bigger constant outputs as nodes", () => {
    const big = f32([3000], new Float32Array(3000).fill(1));
    const m = model(
      graph({
        outputs: ["small", "large", "joined"].map((n) => decl(n, type("float32", null))),
        initializers: [["s2", i64([2], [2, 2])], ["s1000", i64([2], [1000, 1000])], ["a", big], ["b", big]],
        nodes: [
          node("ConstantOfShape", ["s2"], ["small"], { value: tensorAttr(f32([1], [7])) }),
          node("ConstantOfShape", ["s1000"], ["large"]),
          node("Concat", ["a", "b"], ["joined"], { axis: int(0) }),
        ],
      }),
    );
    const out = foldConstants(m);
    expect(wiring(out.graph)).toEqual(["large = ConstantOfShape(s1000) @large"]);
    expect(values(out.graph.initializers.get("small"))).toEqual([7, 7, 7, 7]);
    expect(out.graph.initializers.get("joined")!.shape).toEqual([6000]);
  });

  it("inlines the branch an If takes on a constant condition, renaming what clashes", () => {
    const thenBranch = graph({
      name: "then",
      outputs: [decl("t", f32t(2))],
      initializers: [["w", f32([2], [10, 20])]],
      nodes: [node("Mul", ["x", "w"], ["t"], {}, "add")],
    });
    const elseBranch = graph({ name: "else", outputs: [decl("e", f32t(2))], nodes: [node("Neg", ["x"], ["e"])] });
    const m = model(
      graph({
        inputs: [decl("x", f32t(2))],
        outputs: [decl("z", f32t(2))],
        initializers: [["sr", i64([], [16000])], ["rate", i64([], [16000])], ["w", f32([2], [5, 5])]],
        nodes: [
          node("Equal", ["sr", "rate"], ["c"]),
          node("If", ["c"], ["o"], { then_branch: graphAttr(thenBranch), else_branch: graphAttr(elseBranch) }, "if"),
          node("Add", ["o", "w"], ["z"], {}, "add"),
        ],
      }),
    );
    const out = unchanged(m, foldConstants);
    expect(wiring(out.graph)).toEqual(["t = Mul(x, w_1) @add_1", "z = Add(t, w) @add"]);
    expect(values(out.graph.initializers.get("w"))).toEqual([5, 5]);
    expect(values(out.graph.initializers.get("w_1"))).toEqual([10, 20]);
    const feeds = new Map([["x", f32([2], [1, 2])]]);
    expect(values(runModel(out, feeds).get("z"))).toEqual([15, 45]);
    expect(values(runModel(m, feeds).get("z"))).toEqual([15, 45]);
    verifyModel(out);
  });

  it("keeps the Identity that gives a graph input a graph output's name", () => {
    const passThrough = graph({ name: "then", outputs: [decl("x", f32t(2))] });
    const m = model(
      graph({
        inputs: [decl("x", f32t(2))],
        outputs: [decl("o", f32t(2))],
        initializers: [["c", tensor("bool", [], Uint8Array.of(1))]],
        nodes: [node("If", ["c"], ["o"], { then_branch: graphAttr(passThrough), else_branch: graphAttr(passThrough) }, "if")],
      }),
    );
    expect(wiring(foldConstants(m).graph)).toEqual(["o = Identity(x) @if_output_0"]);
  });

  it("removes Identity and same-type Cast, renaming the producer when the copy is a graph output", () => {
    const m = model(
      graph({
        inputs: [decl("x", f32t(2))],
        outputs: [decl("y", f32t(2)), decl("r", f32t(2))],
        nodes: [
          node("Relu", ["x"], ["a"]),
          node("Identity", ["a"], ["b"]),
          node("Cast", ["b"], ["c"], { to: int(1) }),
          node("Neg", ["c"], ["y"]),
          node("Identity", ["y"], ["r"]),
        ],
        valueTypes: [["a", f32t(2)]],
      }),
    );
    const out = unchanged(m, foldConstants);
    expect(wiring(out.graph)).toEqual(["a = Relu(x) @a", "y = Neg(a) @y", "r = Identity(y) @r"]);
    const single: Graph = { ...m.graph, outputs: [decl("a_out", f32t(2))], nodes: [node("Relu", ["x"], ["a"]), node("Identity", ["a"], ["a_out"])] };
    const renamed = foldConstants(model(single));
    expect(wiring(renamed.graph)).toEqual(["a_out = Relu(x) @a"]);
    expect(renamed.graph.valueTypes.get("a_out")).toEqual(f32t(2));
  });

  it("returns the model itself when nothing folds, and keeps an If on a runtime condition", () => {
    const branch = graph({ name: "b", outputs: [decl("x", f32t(2))] });
    const m = model(
      graph({
        inputs: [decl("x", f32t(2)), decl("c", type("bool", []))],
        outputs: [decl("o", f32t(2))],
        nodes: [node("If", ["c"], ["o"], { then_branch: graphAttr(branch), else_branch: graphAttr(branch) })],
      }),
    );
    expect(foldConstants(m)).toBe(m);
  });

  it("reports a constant node that cannot be evaluated, naming it", () => {
    const m = model(
      graph({
        outputs: [decl("y", type("float32", null))],
        initializers: [["a", f32([2], [1, 2])], ["b", f32([3], [1, 2, 3])]],
        nodes: [node("Add", ["a", "b"], ["y"], {}, "bad")],
      }),
    );
    let err: unknown;
    try {
      foldConstants(m);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HwacError);
    expect((err as HwacError).where.node).toBe("bad");
  });
});
