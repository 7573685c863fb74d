/**
 * `hwac compile`, `sim`, `verify` and `golden` end to end on the bundled models: program folders,
 * bit-exact verification, a corrupted instruction caught by verify, byte-identical builds in two
 * processes, and golden checks that fail with the layer named when a compile option changes.
 */
import { execFileSync } from "node:child_process";
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { decodeProgram, encodeProgram } from "../backends/nna/program.js";
import { hwac } from "./helpers/cli.js";
import { readInputs } from "../src/io.js";
import { readAimcFolder, verifyAimc } from "../src/targets/aimc.js";
import { readTensorFile } from "../src/onnx/tensor-proto.js";
import { FIXTURES } from "./helpers/fixtures.js";
import { tempDir } from "./onnx/proto-builders.js";

const BIN = fileURLToPath(new URL("../bin/hwac.js", import.meta.url));
const tmp = tempDir();
afterAll(tmp.cleanup);

const MLP = join(FIXTURES, "trained/digits-mlp");

describe("hwac compile --target nna", () => {
  const dir = join(tmp.dir, "mlp-nna");

  it("writes the program folder and a report with cycles and accuracy", async () => {
    const r = await hwac("compile", join(MLP, "model.onnx"), "--target", "nna", "--calib", join(MLP, "calib"), "-o", dir,
      "--eval", join(MLP, "test_data_set_0"), "--labels", join(MLP, "test_data_set_0/labels.pb"), "--quiet");
    expect(r.code, r.err).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["config.json", "float.onnx", "model.hir", "model.nnab", "model.nnas", "model.probes.json", "program.json", "report.json"]);
    const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8"));
    expect(report.shapes).toEqual(["x: [1,64]"]);
    expect(report.accuracy).toEqual({ float: 0.9675, quantized: 0.9675, n: 400 });
    expect(report.nna.layers.map((l: { name: string }) => l.name)).toEqual(["/0/Gemm", "/2/Gemm", "/4/Gemm"]);
    expect(report.nna.cycles).toBeGreaterThan(1000);
  });

  it("sim writes the outputs of every item, raw codes with --raw", async () => {
    const out = join(tmp.dir, "mlp-out");
    expect((await hwac("sim", dir, "--inputs", join(MLP, "test_data_set_0"), "--out", out, "--raw")).code).toBe(0);
    const y = readTensorFile(join(out, "output_0.pb")).tensor;
    expect([y.dtype, y.shape]).toEqual(["int8", [400, 10]]);
    expect((await hwac("sim", dir, "--inputs", join(MLP, "test_data_set_0"), "--out", out)).code).toBe(0);
    expect(readTensorFile(join(out, "output_0.pb")).tensor.dtype).toBe("float32");
  });

  it("verify is bit-exact, and fails naming the first differing layer when one instruction field is corrupted", async () => {
    const ok = await hwac("verify", dir, "--inputs", join(MLP, "test_data_set_0"));
    expect([ok.code, ok.out]).toEqual([0, "identical: 4000 values over 400 item(s) equal the integer reference bit for bit (nna)\n"]);
    const bad = join(tmp.dir, "mlp-bad");
    cpSync(dir, bad, { recursive: true });
    const p = decodeProgram(new Uint8Array(readFileSync(join(bad, "model.nnab"))));
    const requant = p.insns.findIndex((i) => i.op === "vec" && i.fn === "requant");
    const insn = p.insns[requant]!;
    if (insn.op !== "vec") throw new Error("unreachable");
    p.insns[requant] = { ...insn, imm: insn.imm + 1 }; // the output zero point of the first layer
    writeFileSync(join(bad, "model.nnab"), encodeProgram(p));
    const r = await hwac("verify", bad, "--inputs", join(MLP, "test_data_set_0"));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/HW6030.*differs from the integer reference: item 0: layer '\/0\/Gemm' \(value '\/1\/Relu_output_0'\) first differs at element \d+ \[0, \d+\]: program -?\d+, reference -?\d+; output 'logits' is affected/s);
  });

  it("builds byte-identical folders in two processes, for both targets", () => {
    for (const target of ["nna", "aimc"]) {
      const build = (out: string) => execFileSync(process.execPath, [BIN, "compile", join(MLP, "model.onnx"), "--target", target, "--calib", join(MLP, "calib"), "-o", out, "--quiet", "--no-cache"]);
      const [a, b] = [join(tmp.dir, `rep-${target}-a`), join(tmp.dir, `rep-${target}-b`)];
      build(a);
      build(b);
      const files = readdirSync(a).sort();
      expect(files).toContain(target === "nna" ? "model.nnab" : "mapping.json");
      expect(readdirSync(b).sort()).toEqual(files);
      for (const f of files) expect(readFileSync(join(b, f)).equals(readFileSync(join(a, f))), f).toBe(true);
    }
  });
});

describe("hwac golden", () => {
  const suite = join(tmp.dir, "golden");
  cpSync(join(FIXTURES, "golden/digits-mlp"), join(suite, "digits-mlp"), { recursive: true });
  // The copied case's paths are relative to fixtures/golden/digits-mlp.
  const spec = JSON.parse(readFileSync(join(suite, "digits-mlp/case.json"), "utf8"));
  const fix = (p: string) => join(FIXTURES, "golden/digits-mlp", p);
  writeFileSync(join(suite, "digits-mlp/case.json"), JSON.stringify({ ...spec, model: fix(spec.model), calib: spec.calib.map(fix), inputs: fix(spec.inputs) }));

  it("passes on hwac's own recorded fixtures", async () => {
    const r = await hwac("golden", "check", join(FIXTURES, "golden"));
    expect([r.code, r.out]).toEqual([0, "ok    digits-cnn (nna)\nok    digits-cnn (aimc)\nok    digits-mlp (nna)\nok    kws-lstm (nna)\nok    kws-lstm (aimc)\n"]);
  });

  it("fails with the first changed layer named when a rounding option changes, and --update accepts it", async () => {
    const changed = JSON.parse(readFileSync(join(suite, "digits-mlp/case.json"), "utf8"));
    writeFileSync(join(suite, "digits-mlp/case.json"), JSON.stringify({ ...changed, options: { ...changed.options, rounding: "stochastic" } }));
    const r = await hwac("golden", "check", suite);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^FAIL  digits-mlp \(nna\)\n {6}output 'logits' first differs at element \d+ \[\d+, \d+\]: now -?\d+, expected -?\d+; the first layer whose codes changed is '\/0\/Gemm'/);
    expect(r.out).toMatch(/layer '\/0\/Gemm' codes changed \(SQNR [\d.]+ → [\d.]+ dB\)/);
    expect(r.err).toMatch(/HW6041/);
    expect((await hwac("golden", "check", suite, "--update")).code).toBe(0);
    expect((await hwac("golden", "check", suite)).out).toBe("ok    digits-mlp (nna)\n");
  });
});

const CNN = join(FIXTURES, "trained/digits-cnn");

describe("hwac compile --target aimc", () => {
  const dir = join(tmp.dir, "cnn-aimc");
  const test = join(CNN, "test_data_set_0");

  it("maps the convolutions and the classifier onto tiles and reports utilization and accuracy", async () => {
    const r = await hwac("compile", join(CNN, "model.onnx"), "--target", "aimc", "--calib", join(CNN, "calib"), "-o", dir,
      "--eval", test, "--labels", join(test, "labels.pb"), "--quiet");
    expect(r.code, r.err).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["config.json", "float.onnx", "mapping.json", "model.hir", "program.json", "report.json", "weights.bin"]);
    const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8"));
    expect(report.aimc.layers.map((l: { name: string; rows: number; cols: number }) => [l.name, l.rows, l.cols])).toEqual([
      ["/0/Conv", 9, 16], ["/3/Conv", 144, 32], ["/8/Gemm", 512, 10],
    ]);
    expect(report.aimc.tilesUsed).toBe(1);
    expect(report.aimc.utilization).toBeCloseTo((9 * 16 + 144 * 32 + 512 * 10) / (512 * 512), 4);
    expect(report.accuracy.float).toBe(0.985);
    expect(report.accuracy.quantized).toBeGreaterThanOrEqual(0.975);
  });

  it("verify: the noise-free chip equals the integer reference of the AnalogMvm graph", async () => {
    const r = await hwac("verify", dir, "--inputs", test);
    expect([r.code, r.out]).toEqual([0, "identical: 2900800 values over 400 item(s) equal the integer reference bit for bit (aimc)\n"]);
  });

  it("refuses a weights.bin that does not match the graph, and verify names layer, tile and element of a difference", async () => {
    const bad = join(tmp.dir, "cnn-aimc-bad");
    cpSync(dir, bad, { recursive: true });
    const bytes = readFileSync(join(bad, "weights.bin"));
    const mapping = JSON.parse(readFileSync(join(bad, "mapping.json"), "utf8"));
    const block = mapping.layers[2].blocks[0];
    const cell = 32 + (block.tile * 512 + block.row + 3) * 512 + block.col + 4; // classifier input 3, output 4
    bytes[cell] = (bytes[cell]! + 1) & 0x7f;
    writeFileSync(join(bad, "weights.bin"), bytes);
    const r = await hwac("verify", bad, "--inputs", test);
    expect([r.code, r.err]).toEqual([1, expect.stringMatching(/HW5132.*\/8\/Gemm/s)]);
    // Past the reader (as an interpreter bug would be): the first differing value is the classifier's.
    const f = readAimcFolder(dir);
    const codes = f.program.image.codes;
    const at = (block.tile * 512 + block.row + 3) * 512 + block.col + 4;
    codes[at] = codes[at]! === 127 ? 126 : codes[at]! + 1;
    const v = verifyAimc(f, readInputs(test, f.program.model));
    expect(v.difference).toMatchObject({ layer: "/8/Gemm", detail: expect.stringMatching(/^tile 0, rows \d+–\d+, column \d+$/) });
    expect(v.difference!.index[1]).toBe(4);
  });

  it("sim is reproducible under a seed whatever the batching, and the seed matters", async () => {
    const run = async (seed: string, out: string) => {
      expect((await hwac("sim", dir, "--inputs", test, "--out", out, "--seed", seed, "--raw")).code).toBe(0);
      return readFileSync(join(out, "output_0.pb"));
    };
    const a = await run("7", join(tmp.dir, "s7a"));
    expect(a.equals(await run("7", join(tmp.dir, "s7b")))).toBe(true);
    expect(a.equals(await run("8", join(tmp.dir, "s8")))).toBe(false);
  });

  it("sweep gives the same table on 1 and 2 workers", async () => {
    const sweep = async (workers: string) => {
      const r = await hwac("sweep", dir, "--inputs", test, "--labels", join(test, "labels.pb"), "--times", "3600,31536000", "--seeds", "2", "--workers", workers, "--json");
      expect(r.code, r.err).toBe(0);
      return r.out;
    };
    const one = await sweep("1");
    expect(await sweep("2")).toBe(one);
    const points = JSON.parse(one);
    expect(points.map((p: { t: number | string; seeds: number }) => [p.t, p.seeds])).toEqual([["float", 0], ["exact", 1], [3600, 2], [31536000, 2]]);
    expect(points[0].accuracy.mean).toBe(0.985);
    // Drift over a year costs SQNR against the float model.
    expect(points[3].sqnrDb.mean).toBeLessThan(points[2].sqnrDb.mean);
    expect(JSON.parse(readFileSync(join(dir, "sweep.json"), "utf8"))).toEqual(points);
  });
});
