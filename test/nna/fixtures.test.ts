/**
 * Every fixture model (fixtures/trained, fixtures/real) through `compile` for the NNA at W8A8 and
 * W4A8: verified bit for bit against the integer reference on each of its data sets (`verifyNna`:
 * the program's output codes against the reference's codes of the same values), and run end to
 * end with the host's float parts around the program (`simulateNna`) against the reference's
 * float outputs, its cycle count the compile report's; and free of races (hazards.ts), so that every
 * timing the tokens allow gives those results.
 *
 * To keep the file fast: calibration reads at most CALIB_ITEMS items of each set, and the compile
 * report measures, and verification runs, a few items of each data set (fewer at W4A8).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, decodeProgram } from "../../backends/nna/index.js";
import { findRace } from "../../backends/nna/hazards.js";
import type { Model } from "../../ir/graph.js";
import { runQuantized } from "../../ir/interpret.js";
import type { Tensor } from "../../ir/tensor.js";
import { sliceAxis } from "../../src/batch.js";
import { compile, type Compiled } from "../../src/compile.js";
import { loadModel } from "../../src/onnx/load.js";
import { loadCalibrationSets } from "../../src/quant/calib-data.js";
import { defaultConfig } from "../../src/quant/config.js";
import { simulateNna, verifyNna, type NnaFolder } from "../../src/targets/nna.js";
import { FIXTURES } from "../helpers/fixtures.js";

const CALIB_ITEMS = 32;
/** Items verified per data set. */
const ITEMS: Record<number, number> = { 8: 8, 4: 2 };

interface Fixture {
  /** The fixture's folder, when the entry's name is not it. */
  readonly dir?: string;
  /** Shapes to compile for, when the data sets differ in them. */
  readonly inputShapes?: Record<string, number[]>;
  /** The data sets of those shapes (default: every test_data_set_K). */
  readonly sets?: readonly number[];
}

const FIXTURE: Record<string, Fixture> = {
  "trained/digits-mlp": {},
  "trained/digits-cnn": {},
  "trained/kws-lstm": {},
  "real/oww_alexa_v0.1": {},
  "real/oww_embedding_model": {},
  // Set 1 is the 1760-sample streaming frame: a program of another shape.
  "real/oww_melspectrogram": { inputShapes: { input: [1, 16000] }, sets: [0] },
  "real/oww_melspectrogram@1760": { dir: "real/oww_melspectrogram", inputShapes: { input: [1, 1760] }, sets: [1] },
  "real/ppocr_cls_mobile_v2": {},
  "real/silero_vad_v5": {},
};

/** `t` cut to its first `n` items along the first symbolic axis of the model's input `name`. */
function firstItems(model: Model, name: string, t: Tensor, n: number): Tensor {
  const axis = model.graph.inputs.find((i) => i.name === name)?.type.shape?.findIndex((d) => typeof d === "string") ?? -1;
  return axis >= 0 && t.shape[axis]! > n ? sliceAxis(t, axis, 0, n) : t;
}

const cut = (model: Model, set: ReadonlyMap<string, Tensor>, n: number) => new Map([...set].map(([k, t]) => [k, firstItems(model, k, t, n)]));

function load(name: string) {
  const f = FIXTURE[name]!;
  const dir = join(FIXTURES, f.dir ?? name);
  const model = loadModel(join(dir, "model.onnx"));
  const { sets, dirs } = loadCalibrationSets([dir], model);
  const data = sets.map((s, k) => ({ dir: dirs[k]!, set: s })).filter((s) => /test_data_set_\d+$/.test(s.dir));
  const tests = (f.sets ?? data.map((_, k) => k)).map((k) => data[k]!.set);
  return { model, calib: sets.map((s) => cut(model, s, CALIB_ITEMS)), tests, f };
}

function compileFixture(name: string, weightBits: number): { c: Compiled; tests: ReadonlyMap<string, Tensor>[]; model: Model } {
  const { model, calib, tests, f } = load(name);
  const c = compile(model, calib, {
    target: "nna",
    config: defaultConfig({ weightBits }),
    ...(f.inputShapes ? { inputShapes: new Map(Object.entries(f.inputShapes)) } : {}),
    evaluation: { sets: [cut(model, tests[0]!, 2)] },
  });
  return { c, tests, model };
}

/** What compiles and verifies: the fixture, weight bits, and the program's I/O tensors (host float values at the cuts). */
const VERIFIED: [string, number, string[]][] = [
  ["trained/digits-mlp", 8, ["x", "logits"]],
  ["trained/digits-mlp", 4, ["x", "logits"]],
  ["trained/digits-cnn", 8, ["x", "logits"]],
  ["trained/digits-cnn", 4, ["x", "logits"]],
  ["trained/kws-lstm", 8, ["features", "logits"]],
  ["trained/kws-lstm", 4, ["features", "logits"]],
  ["real/oww_alexa_v0.1", 8, ["onnx::Flatten_0", "13"]],
  ["real/oww_alexa_v0.1", 4, ["onnx::Flatten_0", "13"]],
  ["real/oww_embedding_model", 8, ["input_1", "conv2d_19"]],
  ["real/oww_embedding_model", 4, ["input_1", "conv2d_19"]],
  // The STFT front end runs on the host: the program reads the codes of its magnitude.
  ["real/silero_vad_v5", 8, ["If_0_then_branch__Inline_0__/stft/Sqrt_output_0", "state", "output", "stateN"]],
  ["real/silero_vad_v5", 4, ["If_0_then_branch__Inline_0__/stft/Sqrt_output_0", "state", "output", "stateN"]],
  // The log-mel front end runs on the host; the program's Clip takes its lower bound from its own max.
  ["real/oww_melspectrogram", 8, ["onnx::Mul_25", "output"]],
  ["real/oww_melspectrogram", 4, ["onnx::Mul_25", "output"]],
  ["real/oww_melspectrogram@1760", 8, ["onnx::Mul_25", "output"]],
  ["real/oww_melspectrogram@1760", 4, ["onnx::Mul_25", "output"]],
  ["real/ppocr_cls_mobile_v2", 8, ["x", "softmax_0.tmp_0"]],
  ["real/ppocr_cls_mobile_v2", 4, ["x", "softmax_0.tmp_0"]],
];

describe("fixture models on the NNA", () => {
  it.each(VERIFIED)("%s at W%iA8: bit-exact on every data set, and end to end through the host", (name, bits, io) => {
    const { c, tests } = compileFixture(name, bits);
    const folder: NnaFolder = { model: c.program.model, program: decodeProgram(c.files.get("model.nnab") as Uint8Array), config: DEFAULT_CONFIG, batching: c.batching, probes: JSON.parse(c.files.get("model.probes.json") as string) };
    expect(folder.program.tensors.map((t) => t.name)).toEqual(io);
    for (const set of tests) {
      const feeds = cut(c.quantized.float, set, ITEMS[bits]!);
      const r = verifyNna(folder, feeds);
      expect(r.difference).toBeUndefined();
      expect(r.items).toBeGreaterThan(0);
    }
    // One item through the host's parts and the program: the reference's float outputs, in the cycles the report gives.
    const item = cut(c.quantized.float, tests[0]!, 1);
    const run = simulateNna(folder, item);
    const ref = runQuantized(folder.model, item);
    for (const o of folder.model.graph.outputs) expect(run.outputs.get(o.name), o.name).toEqual(ref.get(o.name));
    expect(run.cycles).toBe((c.report.nna as { cycles: number }).cycles);
    expect(findRace(folder.program, DEFAULT_CONFIG)).toBeUndefined();
  });

  it("lists every fixture once per weight width", () => {
    expect(VERIFIED.map(([n, b]) => `${n} ${b}`).sort()).toEqual(Object.keys(FIXTURE).flatMap((n) => [`${n} 4`, `${n} 8`]).sort());
  });
});
