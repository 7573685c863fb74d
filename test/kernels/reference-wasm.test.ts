/**
 * The reference interpreters run their products on WebAssembly where that is faster; the results
 * must not depend on it. Whole models, float and integer, bit for bit with the kernels on and off.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runModel, runQuantized } from "../../ir/interpret.js";
import { setWasmKernels } from "../../ir/kernels/wasm/runtime.js";
import type { Tensor } from "../../ir/tensor.js";
import { readInputs } from "../../src/io.js";
import { loadModel } from "../../src/onnx/load.js";
import { defaultConfig } from "../../src/quant/config.js";
import { quantize } from "../../src/quant/index.js";
import { FIXTURES } from "../helpers/fixtures.js";

/** Output values as comparable arrays: float bit patterns (NaN as one value), integer codes as they are. */
function bitsOf(outputs: Map<string, Tensor>): Record<string, (number | string)[]> {
  return Object.fromEntries(
    [...outputs].map(([name, t]) => {
      const d = t.data;
      if (!(d instanceof Float32Array)) return [name, Array.from(d as ArrayLike<number>)];
      const u = new Uint32Array(d.buffer, d.byteOffset, d.length);
      return [name, Array.from(d, (v, i) => (Number.isNaN(v) ? "NaN" : u[i]!))];
    }),
  );
}

/** `run` with the WebAssembly kernels, then without them. */
function bothWays(run: () => Map<string, Tensor>) {
  setWasmKernels(true);
  const wasm = bitsOf(run());
  setWasmKernels(false);
  const typescript = bitsOf(run());
  setWasmKernels(true);
  return { wasm, typescript };
}

afterEach(() => setWasmKernels(true));

describe("reference results do not depend on the WebAssembly kernels", () => {
  it("float convolutions, depthwise and pointwise (ppocr_cls_mobile_v2)", () => {
    const dir = join(FIXTURES, "real/ppocr_cls_mobile_v2");
    const model = loadModel(join(dir, "model.onnx"));
    const feeds = readInputs(join(dir, "test_data_set_0"), model);
    const { wasm, typescript } = bothWays(() => runModel(model, feeds));
    expect(wasm).toEqual(typescript);
  });

  it("float and integer LSTMs with batch 50 (kws-lstm)", () => {
    const dir = join(FIXTURES, "trained/kws-lstm");
    const model = loadModel(join(dir, "model.onnx"));
    const feeds = readInputs(join(dir, "calib"), model);
    const q = quantize(model, [feeds], { config: defaultConfig() });
    const float = bothWays(() => runModel(model, feeds));
    expect(float.wasm).toEqual(float.typescript);
    const integer = bothWays(() => runQuantized(q.model, feeds));
    expect(integer.wasm).toEqual(integer.typescript);
    // The logits are dequantized int8 codes: a real spread of values, not a constant.
    expect(new Set(integer.wasm[q.model.graph.outputs[0]!.name]).size).toBeGreaterThan(10);
  });
});
