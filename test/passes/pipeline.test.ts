/**
 * The pass pipeline: order, --stop-after / --print-ir-after hooks, verification after each pass,
 * and staticize's rules (dims from calibration inputs, constant scalars frozen, errors naming the
 * input or node that stays dynamic).
 */
import { describe, expect, it } from "vitest";
import { HwacError } from "../../ir/errors.js";
import type { Model } from "../../ir/graph.js";
import { f32, i64, type Tensor } from "../../ir/tensor.js";
import { PREPARE_PASSES, runPipeline, staticize, type Pass } from "../../src/pipeline.js";
import { decl, f32t, graph, graphAttr, model, node, type, unchanged, values, wiring } from "./build.js";

function error(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof HwacError) return `${e.code} ${e.where.node ?? "-"}: ${e.message}`;
    throw e;
  }
  return "no error";
}

/** `o = If(sr == 16000) {then: Relu(x), else: Neg(x)}` on `x: f32[n, 4]`. */
function srModel(): Model {
  const thenBranch = graph({ name: "then", outputs: [decl("t", f32t("n", 4))], nodes: [node("Relu", ["x"], ["t"])] });
  const elseBranch = graph({ name: "else", outputs: [decl("e", f32t("n", 4))], nodes: [node("Neg", ["x"], ["e"])] });
  return model(
    graph({
      inputs: [decl("x", f32t("n", 4)), decl("sr", type("int64", []))],
      outputs: [decl("o", f32t("n", 4))],
      initializers: [["rate", i64([], [16000])]],
      nodes: [
        node("Equal", ["sr", "rate"], ["c"]),
        node("If", ["c"], ["o"], { then_branch: graphAttr(thenBranch), else_branch: graphAttr(elseBranch) }, "branch"),
      ],
    }),
  );
}

const set = (rows: number, sr: number): Map<string, Tensor> =>
  new Map([["x", f32([rows, 4], new Float32Array(rows * 4))], ["sr", i64([], [sr])]]);

describe("runPipeline", () => {
  it("runs the prepare passes in order, reporting the IR after each", () => {
    const seen: string[] = [];
    const opts = { inputShapes: new Map([["x", [1, 4]]]), freeze: new Map([["sr", 16000]]), verify: true };
    const out = unchanged(srModel(), (m) =>
      runPipeline(m, PREPARE_PASSES, { ...opts, printIrAfter: (pass, ir) => seen.push(`${pass}:${ir.graph.nodes.length}`) }),
    );
    expect(seen).toEqual([
      "freeze-inputs:2",
      "bind-shapes:2",
      "fold-constants:1",
      "fold-batchnorm:1",
      "remove-dead:1",
      "check-static:1",
      "record-shapes:1",
    ]);
    expect(wiring(out.graph)).toEqual(["o = Relu(x) @t"]);
    expect(out.graph.initializers.size).toBe(0);
    expect(out.graph.outputs).toEqual([decl("o", f32t(1, 4))]);
  });

  it("stops after the named pass and rejects a name that is no pass", () => {
    const names: string[] = [];
    const out = runPipeline(srModel(), PREPARE_PASSES, {
      freeze: new Map([["sr", 8000]]),
      stopAfter: "fold-constants",
      printIrAfter: (pass) => names.push(pass),
    });
    expect(names).toEqual(["freeze-inputs", "bind-shapes", "fold-constants"]);
    expect(wiring(out.graph)).toEqual(["o = Neg(x) @e"]);
    expect(out.graph.initializers.has("rate")).toBe(true);
    expect(error(() => runPipeline(srModel(), PREPARE_PASSES, { stopAfter: "fold" }))).toBe(
      "HW6006 -: there is no pass 'fold'; the passes are freeze-inputs, bind-shapes, fold-constants, fold-batchnorm, remove-dead, check-static, record-shapes",
    );
  });

  it("blames the pass whose output does not verify", () => {
    const broken: Pass = { name: "broken", run: (m) => ({ ...m, graph: { ...m.graph, nodes: [node("Relu", ["nowhere"], ["o"])] } }) };
    expect(() => runPipeline(srModel(), [broken], { verify: true })).toThrow(
      /^pass 'broken' produced IR that does not verify: error HW2002 .*'nowhere'/,
    );
  });
});

describe("staticize", () => {
  it("binds dims from the calibration inputs and freezes a scalar that never changes", () => {
    const { model: out, notices } = unchanged(srModel(), (m) => staticize(m, { calibrationSets: [set(3, 16000), set(3, 16000)] }));
    expect(notices).toEqual(["froze input 'sr' = 16000 (constant over 2 calibration sets)"]);
    expect(out.graph.inputs).toEqual([decl("x", f32t(3, 4))]);
    expect(wiring(out.graph)).toEqual(["o = Relu(x) @t"]);
    expect(out.graph.outputs).toEqual([decl("o", f32t(3, 4))]);
  });

  it("freezes a constant float scalar, spelled as the IR prints it", () => {
    const m = model(
      graph({
        inputs: [decl("x", f32t(2)), decl("gain", f32t())],
        outputs: [decl("y", f32t(2))],
        nodes: [node("Mul", ["x", "gain"], ["y"])],
      }),
    );
    const calib = new Map([["x", f32([2], [1, 2])], ["gain", f32([], [0.1])]]);
    const { model: out, notices } = staticize(m, { calibrationSets: [calib] });
    expect(notices).toEqual(["froze input 'gain' = 0.1 (constant over 1 calibration set)"]);
    expect(values(out.graph.initializers.get("gain"))).toEqual([Math.fround(0.1)]);
  });

  it("lets explicit options win over the calibration inputs", () => {
    const { model: out, notices } = staticize(srModel(), {
      inputShapes: new Map([["x", [1, 4]]]),
      freeze: new Map([["sr", 8000]]),
      calibrationSets: [set(3, 16000), set(5, 16000)],
    });
    expect(notices).toEqual([]);
    expect(out.graph.inputs).toEqual([decl("x", f32t(1, 4))]);
    expect(wiring(out.graph)).toEqual(["o = Neg(x) @e"]);
  });

  it("names the input whose calibration shapes disagree", () => {
    expect(error(() => staticize(srModel(), { calibrationSets: [set(3, 16000), set(5, 16000)] }))).toBe(
      "HW2033 -: input 'x' is [3,4] in calibration set 0 but [5,4] in set 1; give the shape to compile for with --input-shape x=3x4",
    );
  });

  it("names the If that a varying input still decides, and an input left dynamic", () => {
    expect(error(() => staticize(srModel(), { calibrationSets: [set(3, 16000), set(3, 8000)] }))).toBe(
      "HW2036 branch: If branches on 'c', which is only known at run time (it depends on input 'sr'); freeze the input that decides it with --freeze name=value",
    );
    expect(error(() => staticize(srModel(), { freeze: new Map([["sr", 16000]]) }))).toBe(
      "HW2034 -: input 'x' has dynamic shape [n,4]; give its shape with --input-shape x=Nx4 or with calibration inputs",
    );
  });

  it("names the node whose output shape depends on input values", () => {
    const m = model(
      graph({
        inputs: [decl("x", f32t(2, 6)), decl("shape", type("int64", [2]))],
        outputs: [decl("y", type("float32", null))],
        nodes: [node("Reshape", ["x", "shape"], ["y"], {}, "reshape")],
      }),
    );
    expect(error(() => staticize(m))).toBe(
      "HW2035 reshape: output 'y' has shape [?,?], which is only known at run time (it depends on inputs 'shape', 'x'); hwac compiles static programs",
    );
  });
});
