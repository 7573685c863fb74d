/**
 * The bundled real and trained models load, verify, and the float reference reproduces the
 * stored ONNX Runtime / torch outputs within 1e-3 of each output's range.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runModel } from "../ir/interpret.js";
import { toFloat64 } from "../ir/tensor.js";
import { verifyModel } from "../ir/verify.js";
import { loadModel } from "../src/onnx/load.js";
import { dataSets } from "./helpers/fixtures.js";
import { fixtureModels, relRangeError } from "./helpers/models.js";

describe.each(fixtureModels())("$group/$name", ({ dir }) => {
  const model = loadModel(join(dir, "model.onnx"));

  it("verifies", () => {
    const { types } = verifyModel(model);
    for (const o of model.graph.outputs) expect(types.get(o.name)?.dtype).toBe(o.type.dtype);
  });

  it("reproduces the stored outputs", () => {
    const sets = dataSets(dir);
    expect(sets.length).toBeGreaterThan(0);
    for (const ds of sets) {
      const feeds = new Map(ds.inputs.map((inp, i) => [model.graph.inputs[i]!.name, inp.tensor]));
      const got = runModel(model, feeds);
      ds.outputs.forEach((exp, i) => {
        const name = model.graph.outputs[i]!.name;
        const act = got.get(name)!;
        expect(act.shape).toEqual(exp.tensor.shape);
        expect(relRangeError(toFloat64(act), toFloat64(exp.tensor)), `${ds.dir} ${name}`).toBeLessThanOrEqual(1e-3);
      });
    }
  });
});
