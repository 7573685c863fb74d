/** remove-dead on hand-built graphs: exactly the unread nodes, initializers and declared types go. */
import { describe, expect, it } from "vitest";
import { f32 } from "../../ir/tensor.js";
import { removeDead } from "../../src/passes/remove-dead.js";
import { decl, f32t, graph, graphAttr, model, node, type, unchanged, wiring } from "./build.js";

describe("remove-dead", () => {
  it("drops unread nodes and initializers, keeping multi-output nodes with one output read", () => {
    const m = model(
      graph({
        inputs: [decl("x", f32t(2)), decl("unused", f32t(2))],
        outputs: [decl("y", f32t(2))],
        initializers: [["w", f32([2], [1, 2])], ["u", f32([2], [3, 4])]],
        nodes: [
          node("Relu", ["x"], ["a"]),
          node("Neg", ["x"], ["b"]),
          node("Add", ["b", "u"], ["c"]),
          node("Split", ["a"], ["s0", "s1"]),
          node("Concat", ["s0", "w"], ["y"]),
        ],
        valueTypes: [["a", f32t(2)], ["b", f32t(2)], ["gone", f32t(2)]],
      }),
    );
    const out = unchanged(m, removeDead);
    expect(wiring(out.graph)).toEqual(["a = Relu(x) @a", "s0,s1 = Split(a) @s0", "y = Concat(s0, w) @y"]);
    expect([...out.graph.initializers.keys()]).toEqual(["w"]);
    expect([...out.graph.valueTypes.keys()]).toEqual(["a"]);
    expect(out.graph.inputs.map((i) => i.name)).toEqual(["x", "unused"]);
  });

  it("prunes If branches, and what only their dead nodes read", () => {
    const thenBranch = graph({
      name: "then",
      outputs: [decl("t", f32t(2))],
      nodes: [node("Exp", ["p"], ["d"]), node("Relu", ["x"], ["t"])],
    });
    const elseBranch = graph({ name: "else", outputs: [decl("e", f32t(2))], nodes: [node("Abs", ["x"], ["e"])] });
    const m = model(
      graph({
        inputs: [decl("x", f32t(2)), decl("c", type("bool", []))],
        outputs: [decl("o", f32t(2))],
        nodes: [
          node("Neg", ["x"], ["p"]),
          node("If", ["c"], ["o"], { then_branch: graphAttr(thenBranch), else_branch: graphAttr(elseBranch) }),
        ],
      }),
    );
    const out = unchanged(m, removeDead);
    expect(wiring(out.graph)).toEqual(["o = If(c) @o"]);
    const pruned = out.graph.nodes[0]!.attrs.then_branch!;
    expect(pruned.kind === "graph" && wiring(pruned.value)).toEqual(["t = Relu(x) @t"]);
  });
});
