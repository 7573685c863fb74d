/**
 * The command line end to end: `hwac inspect` and `hwac run` on real models, exit codes, and one
 * clear paragraph (never a stack trace) for every kind of bad input.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { hwac } from "./helpers/cli.js";
import { encodeTensor, readTensorFile } from "../src/onnx/tensor-proto.js";
import { f32, toFloat64 } from "../ir/tensor.js";
import { FIXTURES } from "./helpers/fixtures.js";
import { relRangeError } from "./helpers/models.js";
import { FLOAT, floatTensor, node, reluGraph, tempDir, writeModel } from "./onnx/proto-builders.js";

const BIN = fileURLToPath(new URL("../bin/hwac.js", import.meta.url));
const tmp = tempDir();
afterAll(tmp.cleanup);

describe("hwac inspect", () => {
  it("summarizes a real model", async () => {
    const r = await hwac("inspect", join(FIXTURES, "trained/digits-cnn/model.onnx"), "--json");
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out);
    expect(s.inputs).toEqual([{ name: "x", type: "f32[batch,1,8,8]" }]);
    expect(s.ops).toEqual({ BatchNormalization: 2, Conv: 2, Relu: 2, Flatten: 1, Gemm: 1, MaxPool: 1 });
    expect(s.opsets[""]).toBe(13);
    expect(s.parameterBytes).toBe(s.parameters * 4 + 0);
  });

  it("prints a readable table", async () => {
    const r = await hwac("inspect", join(FIXTURES, "real/silero_vad_v5/model.onnx"));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^inputs\n {2}input: f32\[\?,\?\]\n {2}state: f32\[2,\?,128\]\n {2}sr: i64\[\]$/m);
    expect(r.out).toMatch(/^ {2}LSTM +4$/m);
  });
});

describe("hwac run", () => {
  it("reproduces onnxruntime's outputs through the installed bin", () => {
    const dir = join(FIXTURES, "real/silero_vad_v5");
    const out = join(tmp.dir, "silero-out");
    execFileSync(process.execPath, [BIN, "run", join(dir, "model.onnx"), "--inputs", join(dir, "test_data_set_1"), "--out", out]);
    for (const i of [0, 1]) {
      const got = readTensorFile(join(out, `output_${i}.pb`));
      const exp = readTensorFile(join(dir, "test_data_set_1", `output_${i}.pb`));
      expect(got.name).toBe(exp.name);
      expect(relRangeError(toFloat64(got.tensor), toFloat64(exp.tensor))).toBeLessThan(1e-3);
    }
  });

  it("leaves the previous output untouched when it fails", async () => {
    const out = join(tmp.dir, "keep");
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "output_0.pb"), "previous");
    const model = writeModel(tmp.dir, reluGraph(), {}, "relu.onnx");
    const inputs = join(tmp.dir, "bad-inputs");
    mkdirSync(inputs, { recursive: true });
    writeFileSync(join(inputs, "input_0.pb"), encodeTensor(f32([3, 2], [1, 2, 3, 4, 5, 6]), "x"));
    const r = await hwac("run", model, "--inputs", inputs, "--out", out);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/HW3012.*input 'x' must have shape \[2,3\], got \[3,2\]/);
    expect(readFileSync(join(out, "output_0.pb"), "utf8")).toBe("previous");
  });
});

describe("hwac quantize", () => {
  it("quantizes with a report, and re-imports its own QDQ file without calibration, byte for byte", async () => {
    const dir = join(FIXTURES, "trained/digits-mlp");
    const q1 = join(tmp.dir, "mlp-q.onnx");
    const r1 = await hwac("quantize", join(dir, "model.onnx"), "--calib", join(dir, "calib"), "--no-cache", "-o", q1, "--json",
      "--eval", join(dir, "test_data_set_0"), "--labels", join(dir, "test_data_set_0/labels.pb"));
    expect(r1.code).toBe(0);
    const report = JSON.parse(r1.out);
    expect(report.layers.map((l: { op: string }) => l.op)).toEqual(["Gemm", "Relu", "Gemm", "Relu", "Gemm"]);
    expect(report.accuracy.quantized).toBeGreaterThanOrEqual(report.accuracy.float - 0.005);
    expect(JSON.parse(readFileSync(q1.replace(/\.onnx$/, ".report.json"), "utf8"))).toEqual(report);
    const q2 = join(tmp.dir, "mlp-q2.onnx");
    const r2 = await hwac("quantize", q1, "-o", q2, "--json", "--eval", join(dir, "test_data_set_0"));
    expect(r2.code).toBe(0);
    // The integer model against its own QDQ form run in float32: equal but for float rounding
    // that can move a requantized value across a rounding boundary.
    const sqnr = JSON.parse(r2.out).outputs[0].sqnrDb;
    expect(sqnr === "inf" || sqnr >= 60, `SQNR ${sqnr}`).toBe(true);
    expect(readFileSync(q2).equals(readFileSync(q1))).toBe(true);
  });

  it("needs calibration inputs for a float model", async () => {
    const r = await hwac("quantize", join(FIXTURES, "trained/digits-mlp/model.onnx"), "-o", join(tmp.dir, "x.onnx"));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/HW6011.*--calib/);
  });
});

describe("bad input: exit 1 and one paragraph naming what is wrong", () => {
  const cases: { what: string; make: () => string[]; msg: RegExp }[] = [
    {
      what: "a truncated model",
      make: () => {
        const full = readFileSync(join(FIXTURES, "trained/digits-mlp/model.onnx"));
        const p = join(tmp.dir, "truncated.onnx");
        writeFileSync(p, full.subarray(0, full.length >> 1));
        return ["inspect", p];
      },
      msg: /HW1\d{3}.*truncated\.onnx/,
    },
    {
      what: "a missing file",
      make: () => ["inspect", join(tmp.dir, "nope.onnx")],
      msg: /nope\.onnx/,
    },
    {
      what: "a node reading a value nothing defines (missing initializer)",
      make: () => {
        const g = reluGraph({ node: [node("Add", ["x", "bias"], ["y"], [], "add0")] });
        return ["run", writeModel(tmp.dir, g, {}, "dangling.onnx"), "--inputs", tmp.dir, "--out", join(tmp.dir, "o1")];
      },
      msg: /HW2002.*node 'add0' \(Add\).*'bias'/,
    },
    {
      what: "shapes that do not broadcast",
      make: () => {
        const g = reluGraph({
          node: [node("Add", ["x", "b"], ["y"], [], "add1")],
          initializer: [floatTensor("b", [4], [1, 2, 3, 4])],
        });
        return ["run", writeModel(tmp.dir, g, {}, "bcast.onnx"), "--inputs", tmp.dir, "--out", join(tmp.dir, "o2")];
      },
      msg: /HW2\d{3}.*node 'add1' \(Add\)/,
    },
    {
      what: "raw_data of the wrong size",
      make: () => {
        const b = floatTensor("b", [3], [1, 2, 3]);
        const g = reluGraph({
          node: [node("Add", ["x", "b"], ["y"])],
          initializer: [{ ...b, rawData: b.rawData!.subarray(0, 10) }],
        });
        return ["inspect", writeModel(tmp.dir, g, {}, "rawsize.onnx")];
      },
      msg: /HW1\d{3}.*rawsize\.onnx.*'b'.*12.*10|HW1\d{3}.*rawsize\.onnx.*'b'/,
    },
    {
      what: "ops hwac does not support, all listed at once",
      make: () => {
        const g = reluGraph({
          node: [node("Frobnicate", ["x"], ["t"]), node("Zorble", ["t"], ["y"])],
        });
        return ["run", writeModel(tmp.dir, g, {}, "unsupported.onnx"), "--inputs", tmp.dir, "--out", join(tmp.dir, "o3")];
      },
      msg: /HW2001.*Frobnicate, Zorble/,
    },
    {
      what: "external data escaping the model folder",
      make: () => {
        const g = reluGraph({
          node: [node("Add", ["x", "b"], ["y"])],
          initializer: [
            { name: "b", dims: [3], dataType: FLOAT, dataLocation: 1, externalData: [{ key: "location", value: "../secret.bin" }] },
          ],
        });
        const sub = join(tmp.dir, "ext");
        mkdirSync(sub, { recursive: true });
        return ["inspect", writeModel(sub, g, {}, "model.onnx")];
      },
      msg: /HW1\d{3}.*'b'.*\.\.\/secret\.bin/,
    },
    {
      what: "an unknown option",
      make: () => ["inspect", "model.onnx", "--frobnicate"],
      msg: /unknown option/,
    },
  ];

  for (const c of cases) {
    it(c.what, async () => {
      const r = await hwac(...c.make());
      expect(r.code).toBe(1);
      expect(r.err).toMatch(c.msg);
      expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
    });
  }

  it("exit code 1 from the bin, with no output folder written", () => {
    const out = join(tmp.dir, "never");
    const r = spawnSync(process.execPath, [BIN, "run", join(tmp.dir, "nope.onnx"), "--inputs", tmp.dir, "--out", out], {
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nope\.onnx/);
    expect(existsSync(out)).toBe(false);
  });
});

