/**
 * The QDQ export of every bundled model, quantized by the full pipeline (`quantize`), run in ONNX
 * Runtime against hwac's integer reference: output codes within 1 LSB on at least 99.9% of the
 * elements where standard QDQ expresses the integer semantics. Models with ops exported in their
 * nearest QDQ form (integer LSTM internals) have their measured agreement pinned instead.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runQuantized } from "../../ir/interpret.js";
import { readInputs } from "../../src/io.js";
import { loadModel } from "../../src/onnx/load.js";
import { defaultConfig } from "../../src/quant/config.js";
import { quantize } from "../../src/quant/index.js";
import { toQdq } from "../../src/quant/qdq-export.js";
import { FIXTURES } from "../helpers/fixtures.js";
import { ortRun, outputLsb, withinOneLsb } from "../helpers/ort.js";

/** [calibration folder, test folder, required agreement]. */
const CASES: Record<string, [string, string, number]> = {
  "trained/digits-mlp": ["calib", "test_data_set_0", 0.999],
  "trained/digits-cnn": ["calib", "test_data_set_0", 0.999],
  "trained/kws-lstm": ["calib", "test_data_set_0", 0.9], // integer LSTM exported as float LSTM on dequantized weights
  "real/oww_alexa_v0.1": ["test_data_set_0", "test_data_set_1", 0.999],
  "real/oww_embedding_model": ["test_data_set_0", "test_data_set_1", 0.999],
  "real/ppocr_cls_mobile_v2": ["test_data_set_0", "test_data_set_1", 0.999],
  "real/oww_melspectrogram": ["test_data_set_0", "test_data_set_1", 0.999],
  "real/silero_vad_v5": ["test_data_set_0", "test_data_set_1", 0.5], // integer LSTM, nearest form: its state output agrees on 51%
};

describe("QDQ export in ONNX Runtime vs the integer reference", () => {
  for (const [path, [calib, test, required]] of Object.entries(CASES)) {
    it(`${path}: ≥ ${required * 100}% of output codes within 1 LSB`, async () => {
      const dir = join(FIXTURES, path);
      const model = loadModel(join(dir, "model.onnx"));
      const q = quantize(model, [readInputs(join(dir, calib), model)], { config: defaultConfig() });
      // Inputs frozen by preparation (Silero's sample rate) are no longer fed.
      const all = readInputs(join(dir, test), model);
      const feeds = new Map(q.float.graph.inputs.map((i) => [i.name, all.get(i.name)!]));
      const ref = runQuantized(q.model, feeds);
      const exported = toQdq(q.model);
      const got = await ortRun(exported.model, feeds);
      for (const o of q.model.graph.outputs) {
        const agreement = withinOneLsb(ref.get(o.name)!, got.get(o.name)!, outputLsb(q.model, o.name));
        console.log(`${path} ${o.name}: ${(agreement * 100).toFixed(2)}% within 1 LSB; nearest form: ${exported.nearest.map((n) => n.op).join(", ") || "none"}`);
        expect(agreement).toBeGreaterThanOrEqual(required);
      }
    });
  }
});
