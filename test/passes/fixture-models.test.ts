/**
 * The preparation passes on real models: dynamic dims bound, branches on a frozen input inlined,
 * shape arithmetic folded, BatchNormalization folded into convolutions — and the static
 * program still reproduces the stored outputs.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isStatic, type Graph, type Model } from "../../ir/graph.js";
import { inferModel } from "../../ir/infer.js";
import { runModel } from "../../ir/interpret.js";
import { tensor, toFloat64, type Tensor } from "../../ir/tensor.js";
import { verifyModel } from "../../ir/verify.js";
import { bindInputShapes } from "../../src/passes/bind-input-shapes.js";
import { foldBatchNorm } from "../../src/passes/fold-batchnorm.js";
import { foldConstants } from "../../src/passes/fold-constants.js";
import { freezeInputs } from "../../src/passes/freeze-inputs.js";
import { removeDead } from "../../src/passes/remove-dead.js";
import { loadModel } from "../../src/onnx/load.js";
import { readTensorFile } from "../../src/onnx/tensor-proto.js";
import { PREPARE_PASSES, runPipeline, staticize } from "../../src/pipeline.js";
import { dataSets, FIXTURES } from "../helpers/fixtures.js";
import { relRangeError } from "../helpers/models.js";

const load = (path: string): Model => loadModel(join(FIXTURES, path, "model.onnx"));

/** Node count per op, subgraphs included. */
function opCounts(g: Graph, counts: Record<string, number> = {}): Record<string, number> {
  for (const n of g.nodes) {
    counts[n.op] = (counts[n.op] ?? 0) + 1;
    for (const a of Object.values(n.attrs)) if (a.kind === "graph") opCounts(a.value, counts);
  }
  return counts;
}

function expectStatic(m: Model): void {
  const { types } = inferModel(m);
  for (const i of m.graph.inputs) expect(isStatic(i.type.shape), i.name).toBe(true);
  for (const n of m.graph.nodes) for (const o of n.outputs) expect(isStatic(types.get(o)?.shape ?? null), o).toBe(true);
}

/** Runs `m` on the stored data sets (inputs matched by name) and compares within 1e-4 of each output's range. */
function expectReproduces(m: Model, dir: string, feedsOf: (inputs: Map<string, Tensor>) => Map<string, Tensor>[] = (f) => [f]): void {
  const original = loadModel(join(dir, "model.onnx"));
  for (const ds of dataSets(dir)) {
    const byName = new Map(ds.inputs.map((inp, i) => [original.graph.inputs[i]!.name, inp.tensor]));
    const expected = ds.outputs.map((o) => toFloat64(o.tensor));
    const runs = feedsOf(byName);
    const got = runs.map((feeds) => runModel(m, new Map([...feeds].filter(([k]) => m.graph.inputs.some((i) => i.name === k)))));
    original.graph.outputs.forEach((o, i) => {
      const parts = got.map((r) => toFloat64(r.get(o.name)!));
      const actual = Float64Array.from(parts.flatMap((p) => [...p]));
      const exp = expected[i]!.subarray(0, actual.length);
      expect(relRangeError(actual, exp), `${ds.dir} ${o.name}`).toBeLessThanOrEqual(1e-4);
    });
  }
}

describe("silero_vad_v5 bound to input 1x576, state 2x1x128, sr frozen to 16000", () => {
  const dir = join(FIXTURES, "real/silero_vad_v5");
  const model = load("real/silero_vad_v5");
  const bound = bindInputShapes(model, new Map([["input", [1, 576]], ["state", [2, 1, 128]]]));
  const prepared = foldConstants(freezeInputs(bound, new Map([["sr", 16000]])));

  it("has no If, no Shape and no dynamic dim left", () => {
    const ops = opCounts(prepared.graph);
    expect(ops.If).toBeUndefined();
    expect(ops.Shape).toBeUndefined();
    expect(ops.Size).toBeUndefined();
    expect(ops.Constant).toBeUndefined();
    expect(ops.Identity).toBeUndefined();
    expect(prepared.graph.inputs.map((i) => i.name)).toEqual(["input", "state"]);
    expectStatic(prepared);
    verifyModel(prepared);
  });

  it("reproduces the stored outputs", () => {
    expectReproduces(removeDead(prepared), dir);
  });

  it("is prepared the same by staticize with the data sets as calibration inputs, freezing sr", () => {
    const sets = dataSets(dir).map((ds) => new Map(ds.inputs.map((inp, i) => [model.graph.inputs[i]!.name, inp.tensor])));
    const { model: m, notices } = staticize(model, { calibrationSets: sets, verify: true });
    expect(notices).toEqual(["froze input 'sr' = 16000 (constant over 2 calibration sets)"]);
    expect(m.graph.nodes).toEqual(removeDead(prepared).graph.nodes);
    expect(m.graph.outputs.map((o) => o.type.shape)).toEqual([[1, 1], [2, 1, 128]]);
  });

  it("asks for sr to be frozen when it is not", () => {
    const shapes = new Map([["input", [1, 576]], ["state", [2, 1, 128]]]);
    expect(() => staticize(model, { inputShapes: shapes })).toThrow(
      "If branches on 'Equal_0_C', which is only known at run time (it depends on input 'sr'); freeze the input that decides it with --freeze name=value",
    );
  });
});

describe("kws-lstm bound to batch 1", () => {
  const dir = join(FIXTURES, "trained/kws-lstm");
  const model = load("trained/kws-lstm");
  const prepared = removeDead(foldConstants(bindInputShapes(model, new Map([["features", [100, 1, 40]]]))));

  it("folds the Shape→Gather→Unsqueeze→Concat→ConstantOfShape chain into constant initial states", () => {
    expect(opCounts(prepared.graph)).toEqual({ LSTM: 2, Squeeze: 2, Gather: 1, Gemm: 1 });
    const lstm = prepared.graph.nodes.find((n) => n.op === "LSTM")!;
    const h0 = prepared.graph.initializers.get(lstm.inputs[5]!)!;
    expect(h0.shape).toEqual([1, 1, 96]);
    expect([...(h0.data as Float32Array)].every((v) => v === 0)).toBe(true);
    expect(prepared.graph.outputs[0]!.type.shape).toEqual([1, 10]);
    expectStatic(prepared);
  });

  it("reproduces the stored outputs one sample at a time", () => {
    /** Sample b of features[100, batch, 40]. */
    const sample = (x: Tensor, b: number): Tensor => {
      const [steps, batch, width] = x.shape as [number, number, number];
      const out = new Float32Array(steps * width);
      for (let t = 0; t < steps; t++) out.set((x.data as Float32Array).subarray((t * batch + b) * width, (t * batch + b + 1) * width), t * width);
      return tensor("float32", [steps, 1, width], out);
    };
    expectReproduces(prepared, dir, (feeds) =>
      [0, 1, 2, 3].map((b) => new Map([["features", sample(feeds.get("features")!, b)]])),
    );
  });
});

describe("ppocr_cls_mobile_v2 bound to 1x3x48x192", () => {
  const dir = join(FIXTURES, "real/ppocr_cls_mobile_v2");
  const model = load("real/ppocr_cls_mobile_v2");
  const prepared = runPipeline(model, PREPARE_PASSES, { inputShapes: new Map([["x", [1, 3, 48, 192]]]), verify: true });

  it("is static with every BatchNormalization folded into its Conv", () => {
    const ops = opCounts(prepared.graph);
    expect(ops.Shape).toBeUndefined();
    expect(ops.BatchNormalization).toBeUndefined();
    expect(ops.Constant).toBeUndefined();
    expect(prepared.graph.outputs[0]!.type.shape).toEqual([1, 2]);
    expectStatic(prepared);
  });

  it("reproduces the stored outputs", () => {
    expectReproduces(prepared, dir);
  });
});

describe("digits-cnn with BatchNormalization folded", () => {
  const dir = join(FIXTURES, "trained/digits-cnn");
  const model = load("trained/digits-cnn");
  const folded = removeDead(foldBatchNorm(model));

  it("keeps Conv → Relu with the statistics gone", () => {
    expect(folded.graph.nodes.map((n) => n.op)).toEqual(["Conv", "Relu", "Conv", "Relu", "MaxPool", "Flatten", "Gemm"]);
    expect([...folded.graph.initializers.keys()]).toEqual(["0.weight", "0.bias", "3.weight", "3.bias", "8.weight", "8.bias"]);
    verifyModel(folded);
  });

  it("reproduces the stored outputs within 1e-4 of their range", () => {
    expectReproduces(folded, dir);
  });

  it("is made static by staticize, batch bound by its calibration batch", () => {
    const calib = readTensorFile(join(dir, "calib/input_0.pb")).tensor;
    const { model: m, notices } = staticize(model, { calibrationSets: [new Map([["x", calib]])] });
    expect(notices).toEqual([]);
    expect(m.graph.inputs).toEqual([{ name: "x", type: { dtype: "float32", shape: [197, 1, 8, 8] } }]);
    expect(m.graph.outputs).toEqual([{ name: "logits", type: { dtype: "float32", shape: [197, 10] } }]);
    expect(m.graph.nodes.map((n) => n.op)).toEqual(["Conv", "Relu", "Conv", "Relu", "MaxPool", "Flatten", "Gemm"]);
  });
});
