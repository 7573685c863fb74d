/**
 * Elementwise ops and unary tables on the NNA's vector unit, each a small float graph quantized,
 * lowered, simulated and compared bit for bit with the integer reference (single-op.ts).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, decodeProgram, encodeProgram, simulate, type Program, type Vec } from "../../backends/nna/index.js";
import { LOWERINGS, lowerModel } from "../../backends/nna/lower/index.js";
import type { Attr, Model } from "../../ir/graph.js";
import { runQuantized } from "../../ir/interpret.js";
import { tensor, type Tensor } from "../../ir/tensor.js";
import { readInputs } from "../../src/io.js";
import { loadModel } from "../../src/onnx/load.js";
import { staticize } from "../../src/pipeline.js";
import { loadCalibrationSets } from "../../src/quant/calib-data.js";
import { defaultConfig, FLOAT_BY_DEFAULT } from "../../src/quant/config.js";
import { quantize } from "../../src/quant/index.js";
import { FIXTURES } from "../helpers/fixtures.js";
import { thrown } from "./helpers.js";
import { checkOnNna, float, floatModel, ints, randomFloats, randomSets, type Graphlet } from "./single-op.js";

const UNARY = ["Tanh", "HardSigmoid", "HardSwish", "LeakyRelu", "Gelu", "Exp", "Abs", "Neg", "Elu", "Softplus", "Swish", "Mish", "Erf", "Log", "Sqrt"];
for (const op of UNARY) expect(LOWERINGS[op], op).toBeDefined();

/** Four seeded input sets (single-op.ts `randomSets`), input `name` uniform in ranges[name] (default [−1, 1)). */
function sets(g: Graphlet, seed: number, ranges: Record<string, [number, number]> = {}): Map<string, Tensor>[] {
  const parts = Object.entries(g.inputs).map(([name, shape], i) => randomSets({ inputs: { [name]: shape }, nodes: [] }, seed + 1000 * i, 4, ...(ranges[name] ?? [-1, 1])));
  return parts[0]!.map((_, k) => new Map(parts.flatMap((p) => [...p[k]!])));
}

const binary = (op: string, shapes: Record<string, number[]>, constants: Record<string, Tensor> = {}, inputs = ["x", "z"]): Graphlet => ({
  inputs: shapes,
  constants,
  nodes: [{ op, inputs, outputs: ["y"] }],
});

const constant = (shape: number[], seed: number, lo = -1, hi = 1) => tensor("float32", shape, randomFloats(seed, shape.reduce((a, b) => a * b, 1), lo, hi));

/** The VEC functions of a program, in order. */
const vecFns = (p: Program) => p.insns.filter((i): i is Vec => i.op === "vec").map((v) => v.fn);

/**
 * Lowers quantized `q`, simulates it on the reference's codes of the graph inputs in `feeds`,
 * and expects every output to equal the codes the reference dequantizes.
 */
function expectOnNna(q: Model, feeds: ReadonlyMap<string, Tensor>): { program: Program; ref: Map<string, Tensor> } {
  const ref = runQuantized(q, feeds, { keepAll: true });
  const program = lowerModel(q);
  const quantized = (x: string) => q.graph.nodes.find((n) => n.op === "QuantizeLinear" && n.inputs[0] === x)!.outputs[0]!;
  const dequantized = (y: string) => q.graph.nodes.find((n) => n.op === "DequantizeLinear" && n.outputs[0] === y)!.inputs[0]!;
  const inputs = Object.fromEntries(q.graph.inputs.map((i) => [i.name, ref.get(quantized(i.name))!]));
  const sim = simulate(decodeProgram(encodeProgram(program)), { inputs });
  for (const o of q.graph.outputs) expect(sim.outputs.get(o.name), o.name).toEqual(ref.get(dequantized(o.name)));
  return { program, ref };
}

/** The latency of a LOAD or STORE of `bytes` on the default machine. */
const dma = (bytes: number) => 64 + Math.ceil(bytes / 32);

describe("binary elementwise ops on the NNA", () => {
  const shapes = [[7], [3, 5], [2, 3, 7], [2, 3, 4, 5], [1, 100], [4, 16], [33]];
  let seed = 1;
  for (const op of ["Add", "Sub", "Mul", "Max", "Min"]) {
    for (const shape of shapes) {
      const s = seed++;
      it(`${op} of two activations [${shape}] with different quantizations (seed ${s})`, () => {
        const g = binary(op, { x: shape, z: shape });
        const { q } = checkOnNna(g, { sets: sets(g, s, { x: [-1, 1], z: [-3, 0.5] }) });
        const [xt, zt] = ["x_q", "z_q"].map((v) => q.graph.valueTypes.get(v)!.quant!);
        expect(xt.scale[0]).not.toBe(zt.scale[0]);
      });
    }
    it(`${op} of two activations of one quantization`, () => {
      const g = binary(op, { x: [3, 11], z: [3, 11] });
      // z is x reversed: the same calibration ranges, so the same type, but different values.
      const data = sets(g, seed++).map((m) => new Map([["x", m.get("x")!], ["z", tensor("float32", [3, 11], (m.get("x")!.data as Float32Array).slice().reverse())]]));
      const { q } = checkOnNna(g, { sets: data });
      expect(q.graph.valueTypes.get("z_q")!.quant).toEqual(q.graph.valueTypes.get("x_q")!.quant);
    });
  }

  it("Add and Sub compute the rescaled sum in six vector steps per tile (cycles: loads, steps, store)", () => {
    const g = binary("Add", { x: [5, 37], z: [5, 37] });
    const { program, sim, q } = checkOnNna(g, { sets: sets(g, 90, { x: [0, 2], z: [-2, 0] }) });
    const zps = ["x_q", "z_q"].map((v) => q.graph.valueTypes.get(v)!.quant!.zeroPoint[0]);
    expect(zps.every((z) => z !== 0)).toBe(true);
    expect(vecFns(program)).toEqual(["sub", "requant", "sub", "requant", "add", "requant"]);
    // 185 bytes = 12 vectors: 3 multiplier pairs (6 int32 vectors), both inputs, 6 × 12 lane steps, the output.
    expect(sim.stats.cycles).toBe(dma(6 * 64) + 2 * dma(12 * 16) + 6 * 12 + dma(185) + 1);
  });

  it("Add with an int8 constant row repeated over the rows, full constants and broadcast constants", () => {
    for (const [shape, c] of [[[5, 32], [32]], [[16, 5], [5]], [[3, 7], [7]], [[2, 3, 5], [2, 3, 5]], [[3, 4], [3, 1]], [[2, 3, 4], [3, 1]]] as const) {
      checkOnNna(binary("Add", { x: [...shape] }, { c: constant([...c], shape.length + c.length) }, ["x", "c"]), { seed: 7 });
      checkOnNna(binary("Sub", { x: [...shape] }, { c: constant([...c], 11, 0, 3) }, ["c", "x"]), { seed: 8 });
    }
  });

  it("Mul by a float constant: per-element multipliers, broadcast along rows or laid out in full", () => {
    for (const [shape, c] of [[[4, 16], [16]], [[6, 5], [5]], [[2, 3, 5], [2, 3, 5]], [[3, 4], [3, 1]]] as const) {
      const { program, q } = checkOnNna(binary("Mul", { x: [...shape] }, { c: constant([...c], 5, -2, 2) }, ["x", "c"]), { seed: 9 });
      expect(q.graph.valueTypes.get("c")?.quant).toBeUndefined();
      expect(vecFns(program).at(-1)).toBe("requant");
    }
  });

  it("Max and Min with a constant row, Mul by a quantized activation row", () => {
    checkOnNna(binary("Max", { x: [3, 16] }, { c: constant([16], 12) }, ["x", "c"]), { seed: 10 });
    checkOnNna(binary("Min", { x: [2, 2, 48] }, { c: constant([48], 13) }, ["c", "x"]), { seed: 11 });
  });

  it("broadcasts an activation row over rows, and per group of rows", () => {
    const cases: [string, Record<string, number[]>, string[]][] = [
      ["Add", { x: [4, 32], z: [32] }, ["x", "z"]],
      ["Sub", { x: [4, 32], z: [32] }, ["z", "x"]],
      ["Mul", { x: [3, 2, 16], z: [3, 1, 16] }, ["z", "x"]],
      ["Max", { x: [2, 5, 16], z: [2, 1, 16] }, ["x", "z"]],
      ["Min", { x: [2, 3, 4, 16], z: [4, 16] }, ["x", "z"]],
    ];
    for (const [op, inputs, names] of cases) {
      const g = binary(op, inputs, {}, names);
      const { program } = checkOnNna(g, { sets: sets(g, 20, { z: [-2, 2] }) });
      // The row is read with row stride 0 by the combining step.
      expect(program.insns.some((i) => i.op === "vec" && i.rows > 1 && (i.srcRowStride === 0 || i.src2RowStride === 0))).toBe(true);
    }
  });

  it("makes a table of an op whose output depends on one activation's code", () => {
    for (const [op, c] of [["Add", [1]], ["Mul", []], ["Max", [1, 1]], ["Sub", []]] as const) {
      const { program } = checkOnNna(binary(op, { x: [3, 9] }, { c: constant([...c], 3) }, ["x", "c"]), { seed: 12 });
      expect(vecFns(program)).toEqual([op === "Max" ? "add" : "lut8"]);
    }
    // x + x between types of about twice the scale maps codes onto themselves: a clamped copy.
    for (const [op, fns] of [["Add", ["add"]], ["Mul", ["lut8"]], ["Sub", ["add"]]] as const) {
      const { program } = checkOnNna(binary(op, { x: [2, 21] }, {}, ["x", "x"]), { seed: 13 });
      expect(vecFns(program)).toEqual(fns);
    }
  });

  it("adds two branches of the same input, and fuses a following Relu into the output clamp", () => {
    const branches: Graphlet = {
      inputs: { x: [4, 13] },
      nodes: [
        { op: "Tanh", inputs: ["x"], outputs: ["t"] },
        { op: "Sigmoid", inputs: ["x"], outputs: ["s"] },
        { op: "Add", inputs: ["t", "s"], outputs: ["y"] },
      ],
    };
    const fns = vecFns(checkOnNna(branches, { sets: sets(branches, 14, { x: [-3, 3] }) }).program);
    expect(fns).toEqual(["lut8", "lut8", ...fns.slice(2, -2), "add", "requant"]);
    const relu: Graphlet = {
      inputs: { x: [4, 13], z: [4, 13] },
      nodes: [
        { op: "Sub", inputs: ["x", "z"], outputs: ["d"] },
        { op: "Relu", inputs: ["d"], outputs: ["y"] },
      ],
    };
    // The quantizer gives the Sub the Relu's type, of zero point −128, where the clamp is the int8
    // range anyway: move both values' zero point to −60 (the same shift as lower.test.ts's Gemm).
    const data = sets(relu, 15, { x: [-1, 1], z: [-0.5, 1.5] });
    const q = staticize(quantize(floatModel(relu), data).model, { inputShapes: new Map(Object.entries(relu.inputs)) }).model;
    const valueTypes = new Map(q.graph.valueTypes);
    for (const v of ["d", "y_q"]) valueTypes.set(v, { ...valueTypes.get(v)!, quant: { ...valueTypes.get(v)!.quant!, zeroPoint: Int32Array.of(-60) } });
    const { program, ref } = expectOnNna({ ...q, graph: { ...q.graph, valueTypes } }, data[0]!);
    expect(program.layers.map((l) => l.name)).toEqual(["n0"]);
    const last = program.insns.filter((i): i is Vec => i.op === "vec").at(-1)!;
    expect([last.clamp, last.lo, last.hi]).toEqual([true, -60, 127]);
    expect(Math.min(...(ref.get("d")!.data as Int8Array))).toBeLessThan(-60); // so the clamp changes codes
  });

  it("tiles long tensors, on the default machine and a small one", () => {
    const g = binary("Add", { x: [64, 300], z: [64, 300] });
    const { program } = checkOnNna(g, { sets: sets(g, 16, { z: [0, 4] }) });
    // 1200 vectors; two regions of a tile each and 3 pairs fit 509 rows of acc, so 3 tiles would
    // do; double-buffered tiles take half of that room each (254 rows): 5 steps, which the cycle
    // model finds faster.
    expect(program.insns.filter((i) => i.op === "store").length).toBe(5);
    const small = { ...DEFAULT_CONFIG, scratchpad: { ...DEFAULT_CONFIG.scratchpad, accBytes: 16 * 64 } };
    const rows = binary("Mul", { x: [4, 7, 32], z: [4, 1, 32] });
    const r = checkOnNna(rows, { sets: sets(rows, 17), config: small });
    // 4 groups of 7 rows sharing a row of z, 2 tiles per group: the cycle model finds half tiles
    // (3 per group) slower here, each load's setup paid more often than the overlap saves.
    expect(r.program.insns.filter((i) => i.op === "store").length).toBe(4 * 2);
  });

  it("refuses broadcasts the vector unit cannot read, naming the node", () => {
    const refuse = (g: Graphlet) => {
      const model = floatModel(g);
      const data = sets(g, 18);
      const q = staticize(quantize(model, data).model, { inputShapes: new Map(Object.entries(g.inputs)) }).model;
      return thrown(() => lowerModel(q));
    };
    for (const g of [
      binary("Add", { x: [4, 5], z: [4, 1] }), // repeated along lanes
      binary("Mul", { x: [4, 5], z: [5] }), // rows of 5 bytes
      binary("Max", { x: [4, 1], z: [1, 5] }), // an output larger than both
      { inputs: { x: [4, 5], z: [4, 5], u: [4, 5] }, nodes: [{ op: "Max", inputs: ["x", "z", "u"], outputs: ["y"] }] },
    ]) {
      const e = refuse(g);
      expect([e.code, e.where.node, e.where.op]).toEqual(["HW5042", "n0", g.nodes[0]!.op]);
    }
  });
});

describe("elementwise ops on nhwc feature maps (after a Conv)", () => {
  const conv = (x: string, y: string, w = "w") => ({ op: "Conv", inputs: [x, w, "b"], outputs: [y], attrs: { pads: ints([1, 1, 1, 1]) } });
  /** 3×3 convolutions from 3 to `c` channels: 20 pads each pixel to 32 bytes. */
  const weights = (c: number) => ({ w: constant([c, 3, 3, 3], 40), w2: constant([c, 3, 3, 3], 41), b: constant([c], 42) });
  const layouts = (p: Program) => p.tensors.map((t) => `${t.name}:${t.layout ?? "dense"}`);

  it("a per-channel constant is one row of lanes, loaded once", () => {
    for (const [op, k] of [["Add", [20, 1, 1]], ["Mul", [1, 20, 1, 1]], ["Max", [20, 1, 1]]] as const) {
      const g: Graphlet = { inputs: { x: [2, 3, 6, 5] }, constants: { ...weights(20), k: constant([...k], 43) }, nodes: [conv("x", "h"), { op, inputs: ["k", "h"], outputs: ["y"] }] };
      // acc of 32 vectors: 60 pixels (2 vectors each) in tiles of 12 to 14 beside the constants, 5
      // steps, or double-buffered half tiles, 10 steps — which the cycle model finds faster for Add
      // and Max (their multiplier pairs and rescales make compute worth hiding), not for Mul.
      const small = { ...DEFAULT_CONFIG, scratchpad: { ...DEFAULT_CONFIG.scratchpad, accBytes: 32 * 64 } };
      const { program } = checkOnNna(g, { seed: 27, config: small });
      expect(layouts(program)).toEqual(["x:nhwc", "y:nhwc"]);
      const layer = program.layers.find((l) => l.name === "n1")!.id;
      expect(program.insns.filter((i) => i.op === "store" && i.layer === layer).length).toBe(op === "Mul" ? 5 : 10);
      // Int32 loads, once: the multiplier pairs (none for Mul), then the constant's 32-byte row as
      // 2 vectors of lanes (4 for Mul's multiplier pairs).
      const loads = program.insns.filter((i) => i.op === "load" && i.layer === layer && i.mode === "i32").map((i) => (i.op === "load" ? i.xSize : 0));
      expect(loads).toEqual(op === "Mul" ? [4] : op === "Add" ? [6, 2] : [4, 2]);
    }
  });

  it("a constant of the map's shape, a residual Add, a table, and a fused Relu", () => {
    const graphs: Graphlet[] = [
      { inputs: { x: [1, 3, 4, 5] }, constants: { ...weights(20), k: constant([20, 4, 5], 44) }, nodes: [conv("x", "h"), { op: "Mul", inputs: ["h", "k"], outputs: ["y"] }] },
      { inputs: { x: [2, 3, 6, 5] }, constants: weights(8), nodes: [conv("x", "h"), conv("x", "h2", "w2"), { op: "Add", inputs: ["h", "h2"], outputs: ["y"] }] },
      { inputs: { x: [1, 3, 6, 5] }, constants: weights(20), nodes: [conv("x", "h"), { op: "Sigmoid", inputs: ["h"], outputs: ["y"] }] },
      { inputs: { x: [1, 3, 6, 5] }, constants: { ...weights(20), k: constant([20, 1, 1], 45) }, nodes: [conv("x", "h"), { op: "Sub", inputs: ["h", "k"], outputs: ["a"] }, { op: "Relu", inputs: ["a"], outputs: ["y"] }] },
    ];
    for (const g of graphs) expect(layouts(checkOnNna(g, { seed: 28 }).program)).toEqual(["x:nhwc", "y:nhwc"]);
  });

  it("a squeeze-excitation gate [N, C, 1, 1] scales each image's pixels, one row per image", () => {
    for (const c of [32, 20]) {
      const g: Graphlet = {
        inputs: { x: [2, 3, 6, 5] },
        constants: weights(c),
        nodes: [
          conv("x", "h"),
          { op: "GlobalAveragePool", inputs: ["h"], outputs: ["p"] },
          { op: "Sigmoid", inputs: ["p"], outputs: ["s"] },
          { op: "Mul", inputs: ["h", "s"], outputs: ["y"] },
        ],
      };
      const { program } = checkOnNna(g, { seed: 29 });
      const layer = program.layers.find((l) => l.name === "n3")!.id;
      const mul = program.insns.filter((i): i is Vec => i.op === "vec" && i.layer === layer && i.fn === "mul");
      // One step per image: 30 pixels of 2 vectors times the image's gate row.
      expect(mul.map((v) => [v.rows, v.cols, v.src2RowStride])).toEqual([[30, 2, 0], [30, 2, 0]]);
    }
  });
});

describe("unary tables on the NNA", () => {
  it("Sigmoid is one lut8 per tile after one table load (cycles: loads, steps, store)", () => {
    const { program, sim } = checkOnNna({ inputs: { x: [5, 37] }, nodes: [{ op: "Sigmoid", inputs: ["x"], outputs: ["y"] }] }, { seed: 19 });
    expect(program.insns.filter((i) => i.op === "load" && i.mem === "lut").length).toBe(1);
    expect(vecFns(program)).toEqual(["lut8"]);
    // A 256-entry table, 12 vectors of codes, 12 lane steps, 185 bytes out.
    expect(sim.stats.cycles).toBe(dma(256) + dma(12 * 16) + 12 + dma(185) + 1);
  });

  const attrs: Record<string, Record<string, Attr>> = {
    HardSigmoid: { alpha: float(0.3), beta: float(0.4) },
    LeakyRelu: { alpha: float(0.2) },
    Elu: { alpha: float(0.7) },
    Gelu: { approximate: { kind: "string", value: "tanh" } },
    Swish: { alpha: float(1.5) },
  };
  const ranges: Record<string, [number, number]> = { Exp: [-3, 1.5] };
  let seed = 30;
  for (const op of ["Sigmoid", ...UNARY.filter((op) => !FLOAT_BY_DEFAULT.includes(op))]) {
    const s = seed++;
    it(`${op} on a random input range`, () => {
      const g: Graphlet = { inputs: { x: [3, 4, 7] }, nodes: [{ op, inputs: ["x"], outputs: ["y"], ...(attrs[op] ? { attrs: attrs[op] } : {}) }] };
      const [lo, hi] = ranges[op] ?? [-4 + (s % 3), 4 - (s % 2)];
      const { program, ref } = checkOnNna(g, { sets: sets(g, s, { x: [lo, hi] }) });
      expect(vecFns(program)).toEqual(["lut8"]);
      expect(new Set(ref.get("y_q")!.data as Int8Array).size).toBeGreaterThan(20); // the table is not degenerate
    });
  }

  it("Log and Sqrt, which the quantizer keeps float unless told otherwise", () => {
    for (const [op, range] of [["Log", [0.05, 4]], ["Sqrt", [0, 9]]] as const) {
      const g: Graphlet = { inputs: { x: [5, 9] }, nodes: [{ op, inputs: ["x"], outputs: ["y"] }] };
      const data = sets(g, 26, { x: [...range] });
      const quantized = quantize(floatModel(g), data, { config: { ...defaultConfig(), overrides: [] } }).model;
      const { program, ref } = expectOnNna(staticize(quantized, { inputShapes: new Map([["x", [5, 9]]]) }).model, data[0]!);
      expect(vecFns(program)).toEqual(["lut8"]);
      expect(new Set(ref.get("y_q")!.data as Int8Array).size).toBeGreaterThan(20);
    }
  });

  it("Clip between equal types is one clamped copy, with no table", () => {
    const g: Graphlet = {
      inputs: { x: [6, 19] },
      constants: { lo: tensor("float32", [], Float32Array.of(-0.3)), hi: tensor("float32", [], Float32Array.of(0.5)) },
      nodes: [{ op: "Clip", inputs: ["x", "lo", "hi"], outputs: ["y"] }],
    };
    const { program, ref } = checkOnNna(g, { seed: 21 });
    const v = program.insns.filter((i): i is Vec => i.op === "vec");
    expect(v.map((i) => [i.fn, i.clamp, i.useImm, i.imm])).toEqual([["add", true, true, 0]]);
    const y = Array.from(ref.get("y_q")!.data as Int8Array);
    expect([Math.min(...y), Math.max(...y)]).toEqual([v[0]!.lo, v[0]!.hi]);
    expect(program.insns.some((i) => i.op === "load" && i.mem === "lut")).toBe(false);
  });

  it("Clip with attribute bounds (opset 10)", () => {
    const g: Graphlet = { inputs: { x: [4, 9] }, nodes: [{ op: "Clip", inputs: ["x"], outputs: ["y"], attrs: { min: float(-0.2), max: float(0.6) } }] };
    const data = sets(g, 31);
    const q = staticize(quantize(floatModel(g, 10), data).model, { inputShapes: new Map([["x", [4, 9]]]) }).model;
    // The quantizer folds the bounds into x's type; narrower ones make the Clip change codes.
    const nodes = q.graph.nodes.map((n) => (n.op === "Clip" ? { ...n, attrs: { min: float(-0.1), max: float(0.3) } } : n));
    const { ref } = expectOnNna({ ...q, graph: { ...q.graph, nodes } }, data[0]!);
    const [x, y] = ["x_q", "y_q"].map((v) => Array.from(ref.get(v)!.data as Int8Array));
    expect(y).not.toEqual(x);
  });

  it("tiles a long unary input", () => {
    const { program } = checkOnNna({ inputs: { x: [100, 300] }, nodes: [{ op: "Tanh", inputs: ["x"], outputs: ["y"] }] }, { seed: 22 });
    // 1875 vectors in double-buffered tiles of 512 (half of acc); the table is loaded once.
    expect(program.insns.filter((i) => i.op === "store").length).toBe(4);
    expect(program.insns.filter((i) => i.op === "load" && i.mem === "lut").length).toBe(1);
  });

  it("Sigmoid after a Gemm", () => {
    checkOnNna({
      inputs: { x: [3, 40] },
      constants: { w: constant([24, 40], 23), b: constant([24], 24) },
      nodes: [
        { op: "Gemm", inputs: ["x", "w", "b"], outputs: ["h"], attrs: { transB: { kind: "int", value: 1 } } },
        { op: "Sigmoid", inputs: ["h"], outputs: ["y"] },
      ],
    }, { seed: 25 });
  });
});

describe("oww_alexa (Flatten → Gemm → Relu → Gemm → Relu → Gemm → Sigmoid) on the NNA", () => {
  it("runs end to end at batch 1, bit for bit", () => {
    const dir = join(FIXTURES, "real", "oww_alexa_v0.1");
    const model = loadModel(join(dir, "model.onnx"));
    const feeds = readInputs(join(dir, "test_data_set_0"), model);
    const shapes = new Map([...feeds].map(([name, t]) => [name, [...t.shape]]));
    const q = staticize(quantize(model, loadCalibrationSets([dir], model).sets).model, { inputShapes: shapes }).model;
    const { program } = expectOnNna(q, feeds);
    expect(vecFns(program).at(-1)).toBe("lut8");
  });
});
