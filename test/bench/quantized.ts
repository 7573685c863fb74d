/**
 * The quantization flow of one fixture, timed stage by stage: calibration of the prepared float
 * model over the fixture's data sets, quantization with that calibration, and the integer
 * reference's inference beside onnxruntime running the model's QDQ export on the same inputs.
 */
import { join } from "node:path";
import { runQuantized } from "../../ir/interpret.js";
import { readInputs } from "../../src/io.js";
import { encodeModel } from "../../src/onnx/save.js";
import { loadModel } from "../../src/onnx/load.js";
import { staticize } from "../../src/pipeline.js";
import { calibrate } from "../../src/quant/calibrate.js";
import { loadCalibrationSets } from "../../src/quant/calib-data.js";
import { defaultConfig } from "../../src/quant/config.js";
import { quantize } from "../../src/quant/index.js";
import { toQdq } from "../../src/quant/qdq-export.js";
import { macsOf, once, ortFeeds, ortSession, speeds, time } from "./common.js";

export async function benchQuantized(dir: string) {
  const model = loadModel(join(dir, "model.onnx"));
  // calib/ and every test_data_set_N/, as `hwac quantize --calib <dir>` reads them.
  const data = loadCalibrationSets([dir], model);
  const prepared = staticize(model, { calibrationSets: data.sets, keepDynamic: true }).model;
  const calibration = once(() => calibrate(prepared, data.sets));
  const quantized = once(() => quantize(model, data.sets, { config: defaultConfig(), calibration: calibration.value }));
  const q = quantized.value;

  // Inputs frozen by preparation (Silero's sample rate) are no longer fed.
  const all = readInputs(join(dir, "test_data_set_0"), model);
  const feeds = new Map(q.float.graph.inputs.map((i) => [i.name, all.get(i.name)!]));
  const macs = macsOf(q.float, feeds);
  const hwacMs = await time(() => runQuantized(q.model, feeds));

  const qdq = toQdq(q.model);
  const session = await ortSession(encodeModel(qdq.model));
  const of = ortFeeds(qdq.model, feeds);
  const ortMs = await time(() => session.run(of));
  return {
    calibration: { sets: data.sets.length, ms: calibration.ms },
    quantizeMs: quantized.ms,
    integerInference: { ...speeds(macs, hwacMs, ortMs), onnxruntimeRuns: "QDQ export", nearestForms: [...new Set(qdq.nearest.map((n) => n.op))] },
  };
}
