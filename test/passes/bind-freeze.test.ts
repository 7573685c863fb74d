/** bind-shapes and freeze-inputs on hand-built models: exact declarations, values and errors. */
import { describe, expect, it } from "vitest";
import { HwacError } from "../../ir/errors.js";
import { f32, i64 } from "../../ir/tensor.js";
import { bindInputShapes } from "../../src/passes/bind-input-shapes.js";
import { freezeInputs } from "../../src/passes/freeze-inputs.js";
import { decl, f32t, graph, model, node, type, unchanged, values } from "./build.js";

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof HwacError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return "no error";
}

describe("bind-shapes", () => {
  const m = model(
    graph({
      inputs: [decl("x", f32t("batch", 3, "?", "?")), decl("y", f32t("batch", 4))],
      outputs: [decl("z", f32t("batch", 10))],
      nodes: [node("Relu", ["x"], ["h"]), node("Gemm", ["h", "y"], ["z"])],
      valueTypes: [["h", f32t("batch", 3, "?", "?")]],
    }),
  );

  it("binds the given input and the named dims wherever they appear", () => {
    const out = unchanged(m, (mm) => bindInputShapes(mm, new Map([["x", [1, 3, 48, 192]]])));
    expect(out.graph.inputs).toEqual([decl("x", f32t(1, 3, 48, 192)), decl("y", f32t(1, 4))]);
    expect(out.graph.outputs).toEqual([decl("z", f32t(1, 10))]);
    expect(out.graph.valueTypes.get("h")).toEqual(f32t(1, 3, "?", "?"));
    expect(out.graph.nodes).toBe(m.graph.nodes);
  });

  it("leaves inputs that are not given alone when they share no named dim", () => {
    const out = bindInputShapes(m, new Map([["y", [2, 4]]]));
    expect(out.graph.inputs[0]).toEqual(decl("x", f32t(2, 3, "?", "?")));
    expect(out.graph.inputs[1]).toEqual(decl("y", f32t(2, 4)));
  });

  it("rejects shapes that contradict the declaration or each other, and unknown inputs", () => {
    expect(code(() => bindInputShapes(m, new Map([["x", [1, 4, 48, 192]]])))).toBe(
      "HW2030: input 'x' is declared [batch,3,?,?] and cannot be bound to [1,4,48,192]",
    );
    expect(code(() => bindInputShapes(m, new Map([["x", [1, 3, 48]]])))).toMatch(/^HW2030: input 'x' is declared/);
    expect(code(() => bindInputShapes(m, new Map([["x", [1, 3, 8, 8]], ["y", [2, 4]]])))).toBe(
      "HW2030: dimension 'batch' is 1 in input 'x' but 2 in input 'y'",
    );
    expect(code(() => bindInputShapes(m, new Map([["w", [1]]])))).toBe(
      "HW2031: 'w' is not a model input (the inputs are 'x', 'y')",
    );
  });
});

describe("freeze-inputs", () => {
  const m = model(
    graph({
      inputs: [decl("x", f32t(4)), decl("sr", type("int64", [])), decl("gain", f32t(1)), decl("q", type("int8", ["n"]))],
      outputs: [decl("y", f32t(4))],
      nodes: [node("Mul", ["x", "gain"], ["y"])],
      initializers: [["w", f32([1], [2])]],
    }),
  );

  it("turns inputs into initializers of their declared type", () => {
    const out = unchanged(m, (mm) =>
      freezeInputs(mm, new Map([["sr", 16000], ["gain", 0.1], ["q", -3]])),
    );
    expect(out.graph.inputs.map((i) => i.name)).toEqual(["x"]);
    expect([...out.graph.initializers.keys()]).toEqual(["w", "sr", "gain", "q"]);
    const sr = out.graph.initializers.get("sr")!;
    expect([sr.dtype, sr.shape, sr.data]).toEqual(["int64", [], BigInt64Array.of(16000n)]);
    const gain = out.graph.initializers.get("gain")!;
    expect([gain.dtype, gain.shape, values(gain)]).toEqual(["float32", [1], [Math.fround(0.1)]]);
    const q = out.graph.initializers.get("q")!;
    expect([q.dtype, q.shape, values(q)]).toEqual(["int8", [1], [-3]]);
  });

  it("takes a tensor as it is when it fits the declaration", () => {
    const t = i64([], [8000]);
    expect(freezeInputs(m, new Map([["sr", t]])).graph.initializers.get("sr")).toBe(t);
    expect(code(() => freezeInputs(m, new Map([["sr", f32([], [8000])]])))).toBe(
      "HW2032: cannot freeze input 'sr' (int64[]) to a float32[] value",
    );
  });

  it("rejects values the input cannot hold and names that are not inputs", () => {
    expect(code(() => freezeInputs(m, new Map([["sr", 1.5]])))).toBe(
      "HW2032: cannot freeze input 'sr' (int64[]) to 1.5: int64 holds the integers -9007199254740991..9007199254740991",
    );
    expect(code(() => freezeInputs(m, new Map([["q", 300]])))).toBe(
      "HW2032: cannot freeze input 'q' (int8[n]) to 300: int8 holds the integers -128..127",
    );
    expect(code(() => freezeInputs(m, new Map([["x", 1]])))).toBe(
      "HW2032: cannot freeze input 'x' (float32[4]) to 1: it holds more than one element",
    );
    expect(code(() => freezeInputs(m, new Map([["w", 1]])))).toBe(
      "HW2031: cannot freeze 'w': it is not a model input (the inputs are 'x', 'sr', 'gain', 'q')",
    );
  });
});
