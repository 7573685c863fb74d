/**
 * Softmax, Div, ReduceMax/Min/Mean/Sum, MatMul and Clip with computed bounds on the NNA, each a small float graph quantized,
 * lowered, simulated and compared bit for bit with the integer reference (single-op.ts); the
 * vector-unit reciprocal against ir/kernels/int-math.ts on its own; and ppocr_cls_mobile_v2 end to
 * end.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configHash, DEFAULT_CONFIG, parseConfig, simulate, type Gemm, type IoTensor, type Program, type Vec } from "../../backends/nna/index.js";
import { LowerCtx } from "../../backends/nna/lower/context.js";
import { lowerModel } from "../../backends/nna/lower/index.js";
import { splatLoad } from "../../backends/nna/lower/lanes.js";
import { RECIPROCAL_SCRATCH, reciprocalConstants, reciprocalTimes } from "../../backends/nna/lower/reciprocal.js";
import type { Attr, Graph } from "../../ir/graph.js";
import { runQuantized } from "../../ir/interpret.js";
import { mulMultipliers, reciprocal } from "../../ir/kernels/int-math.js";
import { quantizeMultiplier, xorshift32, type FixedMultiplier } from "../../ir/numeric.js";
import { tensor, type Tensor } from "../../ir/tensor.js";
import { readInputs } from "../../src/io.js";
import { loadModel } from "../../src/onnx/load.js";
import { staticize } from "../../src/pipeline.js";
import { loadCalibrationSets } from "../../src/quant/calib-data.js";
import { defaultConfig } from "../../src/quant/config.js";
import { quantize } from "../../src/quant/index.js";
import { FIXTURES } from "../helpers/fixtures.js";
import { thrown } from "./helpers.js";
import { checkOnNna, floatModel, int, ints, randomFloats, randomSets, type Graphlet } from "./single-op.js";

/** Four seeded input sets, input `name` uniform in ranges[name] (default [−1, 1)). */
function sets(g: Graphlet, seed: number, ranges: Record<string, [number, number]> = {}): Map<string, Tensor>[] {
  const parts = Object.entries(g.inputs).map(([name, shape], i) => randomSets({ inputs: { [name]: shape }, nodes: [] }, seed + 1000 * i, 4, ...(ranges[name] ?? [-1, 1])));
  return parts[0]!.map((_, k) => new Map(parts.flatMap((p) => [...p[k]!])));
}

const one = (op: string, shape: number[], attrs: Record<string, Attr> = {}): Graphlet => ({ inputs: { x: shape }, nodes: [{ op, inputs: ["x"], outputs: ["y"], attrs }] });

/** The instructions of a program by kind. */
const gemms = (p: Program) => p.insns.filter((i): i is Gemm => i.op === "gemm");
const vecs = (p: Program) => p.insns.filter((i): i is Vec => i.op === "vec");

describe("the vector-unit reciprocal equals reciprocal(d) times a multiplier, bit for bit", () => {
  const lanes = DEFAULT_CONFIG.gemm.blockOut;
  /** The pairs the routine computes for `ds` (a multiple of 16 values) with fold `f`, run on the simulator. */
  function onNna(ds: Int32Array, f: FixedMultiplier): { m0: number[]; shift: number[] } {
    const graph: Graph = { name: "g", inputs: [], outputs: [], initializers: new Map(), nodes: [], valueTypes: new Map() };
    const ctx = new LowerCtx(graph, DEFAULT_CONFIG, {});
    const cols = ds.length / lanes;
    const consts = reciprocalConstants(f);
    // acc: the constants, d, the pairs, then the scratch registers (RECIPROCAL_SCRATCH·cols vectors).
    const [d, pair, scratch] = [consts.length, consts.length + cols, consts.length + 3 * cols];
    expect(scratch + RECIPROCAL_SCRATCH * cols).toBeLessThanOrEqual(DEFAULT_CONFIG.scratchpad.accBytes / (4 * lanes));
    const io = (name: string, kind: IoTensor["kind"], count: number): IoTensor =>
      ({ name, kind, dtype: "int32", shape: [count], addr: ctx.alloc(4 * count), scale: 1, zeroPoint: 0 });
    const [input, output] = [io("d", "input", ds.length), io("pair", "output", 2 * ds.length)];
    ctx.step(
      [splatLoad(ctx, 0, consts), ctx.load({ mem: "acc", mode: "i32", sram: d, dram: input.addr, xSize: cols, xStride: 4 * lanes })],
      [
        ...reciprocalTimes(ctx, { cols, d, scratch, consts: 0, pair }, f),
        ctx.vec({ fn: "add", src: pair, cols: 2 * cols, srcColStride: 1, useImm: true, dstMem: "out", dtype: "i32", dstColStride: 4 * lanes }),
      ],
      ctx.store({ dram: output.addr, xSize: 8 * ds.length }),
    );
    ctx.finish();
    const program: Program = { configHash: configHash(DEFAULT_CONFIG), dramBytes: ctx.dramBytes, tensors: [input, output], layers: ctx.layers, segments: ctx.segments, insns: ctx.insns };
    const out = simulate(program, { inputs: { d: tensor("int32", [ds.length], ds) } }).outputs.get("pair")!.data as Int32Array;
    const m0: number[] = [];
    const shift: number[] = [];
    for (let i = 0; i < ds.length; i++) {
      const [c, j] = [Math.floor(i / lanes), i % lanes];
      m0.push(out[2 * c * lanes + j]!);
      shift.push(out[(2 * c + 1) * lanes + j]!);
    }
    return { m0, shift };
  }

  const powers = Array.from({ length: 31 }, (_, k) => 2 ** k);
  const edges = [...powers, ...powers.map((p) => p + 1), ...powers.slice(2).map((p) => p - 1), 3, 5, 6, 7, 2 ** 31 - 1, 32767, 65534, 300 * 32767];
  let s = 12345;
  const random = Array.from({ length: 16 * 64 - edges.length }, (_, i) => {
    s = xorshift32(s);
    // Spread over every bit length: a random 31-bit value shifted down by 0 … 30.
    return Math.max(1, (s >>> 1) >>> (i % 31));
  });
  const ds = Int32Array.from([...edges, ...random]);
  for (const [what, f] of [["1/s_out = 256", quantizeMultiplier(256)], ["an odd multiplier", quantizeMultiplier(1 / 0.0123)], ["one", quantizeMultiplier(1)]] as const) {
    it(`1024 divisors from 1 to 2^31 − 1 (powers of two and their neighbours included), times ${what}`, () => {
      const got = onNna(ds, f);
      const want = Array.from(ds, (d) => mulMultipliers(reciprocal(d), f));
      expect(got.m0).toEqual(want.map((m) => m.m0));
      expect(got.shift).toEqual(want.map((m) => m.shift));
    });
  }
});

describe("Softmax", () => {
  // [shape, axis, input range r: values uniform in [−r, r)]
  const cases: [number[], number | undefined, number][] = [
    [[1, 1], -1, 1], [[1, 2], 1, 3], [[1, 300], -1, 8], [[4, 1], -1, 1], [[3, 5], -1, 1], [[5, 16], -1, 4],
    [[16, 17], 1, 2], [[17, 31], -1, 16], [[33, 2], -1, 0.5], [[2, 257], -1, 6], [[20, 300], -1, 12],
    [[2, 3, 7], -1, 3], [[40, 3], undefined, 5], [[3, 100], -1, 30], [[2, 9, 1], 1, 2], [[1, 64], -1, 0.05],
  ];
  let seed = 100;
  for (const [shape, axis, r] of cases) {
    const s = seed++;
    it(`[${shape}] axis ${axis ?? "(default)"}, inputs in ±${r} (seed ${s})`, () => {
      const g = one("Softmax", shape, axis === undefined ? {} : { axis: int(axis) });
      const { program, q } = checkOnNna(g, { sets: sets(g, s, { x: [-r, r] }) });
      const n = shape.at(axis ?? -1)!;
      const rows = shape.reduce((a, b) => a * b, 1) / n;
      // Several rows of more than one element go through the array: per group of J ≤ 16 rows, one GEMM
      // of J blocks per chunk of the row that fits inp (4096 vectors, J per element).
      const groups = Array.from({ length: Math.ceil(rows / 16) }, (_, k) => Math.min(16, rows - 16 * k));
      const want = groups.flatMap((j) => new Array<number>(Math.ceil(n / Math.floor(4096 / j))).fill(j));
      expect(gemms(program).map((i) => i.kBlocks)).toEqual(rows > 1 && n > 1 ? want : []);
      const softmax = q.graph.nodes.find((node) => node.op === "Softmax")!;
      expect(q.graph.valueTypes.get(softmax.outputs[0]!)!.quant!.scale[0]).toBe(1 / 256);
    });
  }

  it("rows over an inner axis (opset 13 view): 16 rows of neighbouring positions per vector, no transposition", () => {
    for (const [shape, s] of [[[2, 5, 3], 1], [[1, 7, 40], 2], [[2, 300, 17], 3]] as const) {
      const g = one("Softmax", [...shape], { axis: int(1) });
      const { program } = checkOnNna(g, { sets: sets(g, 200 + s, { x: [-4, 4] }) });
      expect(gemms(program)).toEqual([]);
    }
  });

  it("over the channels of an nhwc feature map (opset 13 view), rows one pixel pitch apart", () => {
    const g: Graphlet = {
      inputs: { x: [1, 3, 5, 5] },
      constants: { w: tensor("float32", [20, 3, 3, 3], randomFloats(7, 540, -0.5, 0.5)) },
      nodes: [
        { op: "Conv", inputs: ["x", "w"], outputs: ["c"], attrs: { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) } },
        { op: "Softmax", inputs: ["c"], outputs: ["y"], attrs: { axis: int(1) } },
      ],
    };
    const { program } = checkOnNna(g, { seed: 9 });
    // 25 pixels in two groups of ≤ 16 rows, each of 20 channels: 20 array steps per row.
    const transposing = gemms(program).filter((i) => i.wgt === 0 && i.izp === 0 && i.rows === 20);
    expect(transposing.map((i) => i.kBlocks)).toEqual([16, 9]);
  });

  it("classifier heads: Gemm → Softmax on dense rows; 1×1 Conv → Flatten → Softmax on the nhwc pixels in place", () => {
    const gemm: Graphlet = {
      inputs: { x: [6, 30] },
      constants: { w: tensor("float32", [30, 10], randomFloats(20, 300, -0.5, 0.5)), b: tensor("float32", [10], randomFloats(21, 10)) },
      nodes: [{ op: "Gemm", inputs: ["x", "w", "b"], outputs: ["l"] }, { op: "Softmax", inputs: ["l"], outputs: ["y"], attrs: { axis: int(1) } }],
    };
    checkOnNna(gemm, { seed: 22 });
    const conv: Graphlet = {
      inputs: { x: [2, 8, 1, 1] },
      constants: { w: tensor("float32", [20, 8, 1, 1], randomFloats(23, 160, -0.5, 0.5)) },
      nodes: [
        { op: "Conv", inputs: ["x", "w"], outputs: ["c"], attrs: { kernel_shape: ints([1, 1]) } },
        { op: "Flatten", inputs: ["c"], outputs: ["f"] },
        { op: "Softmax", inputs: ["f"], outputs: ["y"], attrs: { axis: int(1) } },
      ],
    };
    const { program } = checkOnNna(conv, { seed: 24 });
    // Two rows of 20 channels, 32 bytes apart: one transposing GEMM of 2 blocks; the output stays nhwc.
    expect(gemms(program).filter((i) => i.izp === 0 && i.rows === 20).map((i) => i.kBlocks)).toEqual([2]);
    expect(program.tensors.find((t) => t.kind === "output")!.layout).toBe("nhwc");
  });

  it("before opset 13, flattens at the axis: [2, 5, 3] with axis 1 is 2 rows of 15", () => {
    const g = one("Softmax", [2, 5, 3], { axis: int(1) });
    const data = sets(g, 230, { x: [-4, 4] });
    const q = staticize(quantize(floatModel(g, 11), data).model, { inputShapes: new Map([["x", [2, 5, 3]]]) }).model;
    const ref = runQuantized(q, data[0]!, { keepAll: true });
    const program = lowerModel(q);
    const sim = simulate(program, { inputs: { x: ref.get("x_q")! } });
    expect(sim.outputs.get("y")).toEqual(ref.get("y_q"));
    // Each row sums to about 1 over all 15 elements (not over 5, as opset 13 would).
    const y = ref.get("y_q")!.data as Int8Array;
    const scale = q.graph.valueTypes.get("y_q")!.quant!.scale[0]!;
    const zp = q.graph.valueTypes.get("y_q")!.quant!.zeroPoint[0]!;
    for (const row of [0, 1]) expect(Array.from(y.subarray(15 * row, 15 * row + 15), (v) => (v - zp) * scale).reduce((a, b) => a + b)).toBeCloseTo(1, 1);
  });

  it("refuses rows too long for acc", () => {
    expect(thrown(() => checkOnNna(one("Softmax", [2, 2000], { axis: int(-1) }))).code).toBe("HW5042");
  });
});

describe("Clip with a bound computed in the program (melspectrogram's max − 80 dB floor)", () => {
  /** Clip(x, lo, hi) with each bound a float constant, max(x) − k (a DequantizeLinear of program codes), or absent. */
  const clip = (x: number[], lo: number | ["max", number] | undefined, hi: number | ["max", number] | undefined): Graphlet => {
    const nodes: Graphlet["nodes"] = [{ op: "ReduceMax", inputs: ["x"], outputs: ["r"], attrs: { keepdims: int(0) } }];
    const constants: Record<string, Tensor> = {};
    const bound = (b: typeof lo, name: string) => {
      if (b === undefined) return "";
      if (typeof b === "number") return (constants[name] = tensor("float32", [], Float32Array.of(b))), name;
      constants[`${name}_k`] = tensor("float32", [], Float32Array.of(b[1]));
      nodes.push({ op: "Sub", inputs: ["r", `${name}_k`], outputs: [name] });
      return name;
    };
    const inputs = ["x", bound(lo, "lo"), bound(hi, "hi")];
    nodes.push({ op: "Clip", inputs, outputs: ["y"] });
    return { inputs: { x }, constants, nodes };
  };
  const cases: [string, number[], Parameters<typeof clip>[1], Parameters<typeof clip>[2]][] = [
    ["lo = max − 0.6, hi = 0.7", [2, 3, 40], ["max", 0.6], 0.7],
    ["lo = max − 0.5 above hi = 0.3: every code collapses onto hi", [2, 3, 40], ["max", 0.5], 0.3],
    ["lo = −0.2, hi = max − 0.4", [3, 50], -0.2, ["max", 0.4]],
    ["lo = max − 1.5, hi = max − 0.3", [1, 1, 97, 32], ["max", 1.5], ["max", 0.3]],
    ["lo = max − 0.9 over 19200 codes: two tiles", [4, 80, 60], ["max", 0.9], undefined],
  ];
  cases.forEach(([what, x, lo, hi], k) => {
    it(what, () => {
      const g = clip(x, lo, hi);
      const { program, ref, q } = checkOnNna(g, { sets: sets(g, 700 + k) });
      const y = ref.get("y_q")!.data as Int8Array;
      const computed = [lo, hi].filter((b) => Array.isArray(b)).length;
      // The bounds bite: some codes sit at a bound, and the comparison is not of a constant.
      const dq = q.graph.nodes.filter((n) => n.op === "DequantizeLinear" && n.outputs[0] !== "y").length;
      expect(dq).toBe(computed);
      if (k === 1) expect(new Set(y)).toEqual(new Set([Math.max(...y)]));
      else expect(new Set(y).size).toBeGreaterThan(3);
      // One broadcasting GEMM per computed bound: its code to every lane.
      expect(gemms(program).map((i) => [i.rows, i.kBlocks])).toEqual(new Array(computed).fill([1, 1]));
    });
  });

  it("a quantized bound read directly (no DequantizeLinear) is rescaled as the reference does", () => {
    const g = clip([2, 3, 40], ["max", 0.6], 0.7);
    const data = sets(g, 710);
    const q0 = staticize(quantize(floatModel(g), data).model, { inputShapes: new Map([["x", [2, 3, 40]]]) }).model;
    const dq = q0.graph.nodes.find((n) => n.op === "DequantizeLinear" && n.outputs[0] === "lo_dq")!;
    const nodes = q0.graph.nodes.filter((n) => n !== dq).map((n) => (n.op === "Clip" ? { ...n, inputs: ["x_q", "lo", n.inputs[2]!] } : n));
    const q = { ...q0, graph: { ...q0.graph, nodes } };
    const ref = runQuantized(q, data[0]!, { keepAll: true });
    const sim = simulate(lowerModel(q), { inputs: { x: ref.get("x_q")! } });
    expect(sim.outputs.get("y")).toEqual(ref.get("y_q"));
    expect(new Set(ref.get("y_q")!.data as Int8Array).size).toBeGreaterThan(3);
  });

  it("refuses a DequantizeLinear whose floats something other than a Clip bound reads", () => {
    const g = clip([2, 3, 40], ["max", 0.6], 0.7);
    const q0 = staticize(quantize(floatModel(g), sets(g, 720)).model, { inputShapes: new Map([["x", [2, 3, 40]]]) }).model;
    const nodes = q0.graph.nodes.map((n) => (n.op === "Clip" ? { ...n, inputs: ["lo_dq", "x_q", n.inputs[2]!] } : n));
    const e = thrown(() => lowerModel({ ...q0, graph: { ...q0.graph, nodes } }));
    expect([e.code, e.where.node]).toEqual(["HW5042", "lo_dequantize"]);
  });
});

/** A reduction of x; ReduceSum (opset 13 on) takes its axes as a constant input rather than an attribute. */
function reduction(op: string, shape: number[], axes: number[] | undefined, keepdims: number): Graphlet {
  if (op !== "ReduceSum") return one(op, shape, { ...(axes ? { axes: ints(axes) } : {}), keepdims: int(keepdims) });
  return {
    inputs: { x: shape },
    constants: axes ? { axes: tensor("int64", [axes.length], BigInt64Array.from(axes, BigInt)) } : {},
    nodes: [{ op, inputs: axes ? ["x", "axes"] : ["x"], outputs: ["y"], attrs: { keepdims: int(keepdims) } }],
  };
}

describe("ReduceMean, ReduceMax, ReduceMin and ReduceSum", () => {
  // [shape, axes (undefined: all), keepdims]
  const cases: [number[], number[] | undefined, number][] = [
    [[3, 40, 5], [1], 0], [[19, 33], [1], 0], [[2, 3, 4, 5], [2, 3], 1], [[2, 3, 4, 5], [1, 2], 0], [[7, 70, 37], [1], 1],
    [[50, 20], [0], 1], [[1, 1], [1], 0], [[6, 1, 9], [-1], 0], [[1, 3104], undefined, 0], [[40, 100], [1], 1], [[5, 1, 300], [0], 0],
    [[20, 32], [1], 0], [[3, 5000], [1], 1],
  ];
  let seed = 300;
  for (const op of ["ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum"]) {
    for (const [shape, axes, keepdims] of cases) {
      const s = seed++;
      it(`${op} [${shape}] axes ${axes ? `[${axes}]` : "(all)"} keepdims ${keepdims} (seed ${s})`, () => {
        const g = reduction(op, shape, axes, keepdims);
        const { sim, program } = checkOnNna(g, { sets: sets(g, s, { x: [-2, 3] }) });
        const count = (axes ?? shape.map((_, i) => i)).reduce((p, a) => p * shape.at(a)!, 1);
        const outputs = shape.reduce((a, b) => a * b, 1) / count;
        expect(sim.outputs.get("y")!.data.length).toBe(outputs);
        // Several outputs of the innermost axes: the array sums (a mean or sum) or transposes (a max or min).
        const innermost = outputs > 1 && (axes ?? [-1]).some((a) => a === -1 || a === shape.length - 1);
        const sums = gemms(program).filter((i) => i.accStride === 0);
        expect(sums.length > 0).toBe(innermost && (op === "ReduceMean" || op === "ReduceSum"));
      });
    }
  }

  it("reads a feature map through a dense copy (a global average of a Conv's output)", () => {
    const g: Graphlet = {
      inputs: { x: [2, 3, 6, 6] },
      constants: { w: tensor("float32", [18, 3, 3, 3], randomFloats(8, 486, -0.5, 0.5)) },
      nodes: [
        { op: "Conv", inputs: ["x", "w"], outputs: ["c"], attrs: { kernel_shape: ints([3, 3]) } },
        { op: "ReduceMean", inputs: ["c"], outputs: ["y"], attrs: { axes: ints([2, 3]), keepdims: int(1) } },
      ],
    };
    checkOnNna(g, { seed: 11 });
  });

  it("refuses reduced axes that are not one run", () => {
    const e = thrown(() => checkOnNna(one("ReduceMax", [2, 3, 4], { axes: ints([0, 2]) })));
    expect([e.code, e.message]).toEqual(["HW5042", expect.stringContaining("not one run")]);
  });
});

describe("Div", () => {
  const two = (shape: number[], zShape = shape): Graphlet => ({ inputs: { x: shape, z: zShape }, nodes: [{ op: "Div", inputs: ["x", "z"], outputs: ["y"] }] });
  // [shape, divisor range]: positive, negative, and straddling 0 (zero divisors saturate).
  const cases: [number[], [number, number]][] = [[[3, 40], [0.5, 2]], [[7], [-3, -0.2]], [[2, 3, 17], [-1, 1]], [[4, 100], [0.05, 4]], [[1, 1000], [-2, 2]]];
  let seed = 400;
  for (const [shape, range] of cases) {
    const s = seed++;
    it(`two activations [${shape}], divisor in [${range}] (seed ${s})`, () => {
      const g = two(shape);
      const { program } = checkOnNna(g, { sets: sets(g, s, { x: [-2, 2], z: range }) });
      expect(vecs(program).filter((v) => v.fn === "lut8").length % 3).toBe(0);
    });
  }

  it("a zero divisor saturates by the dividend's sign, 0/0 is the zero point", () => {
    const g = two([64]);
    // The divisor's codes span its range; the values at z = 0 quantize to its zero point.
    const data = sets(g, 9, { x: [-1, 1], z: [-1, 1] }).map((m) => {
      const z = Float32Array.from(m.get("z")!.data as Float32Array, (v, i) => (i % 4 === 0 ? 0 : v));
      const x = Float32Array.from(m.get("x")!.data as Float32Array, (v, i) => (i % 16 === 0 ? 0 : v));
      return new Map([["x", tensor("float32", [64], x)], ["z", tensor("float32", [64], z)]]);
    });
    const { ref, q } = checkOnNna(g, { sets: data });
    const div = q.graph.nodes.find((n) => n.op === "Div")!.outputs[0]!;
    const y = Array.from(ref.get(div)!.data as Int8Array);
    expect(new Set(y.filter((_, i) => i % 4 === 0))).toEqual(new Set([-128, 127, q.graph.valueTypes.get(div)!.quant!.zeroPoint[0]]));
  });

  it("by a scalar constant: one table lookup (lut.ts); by a constant vector: per-lane multipliers", () => {
    const scalar: Graphlet = { inputs: { x: [5, 24] }, constants: { c: tensor("float32", [], Float32Array.of(6)) }, nodes: [{ op: "Div", inputs: ["x", "c"], outputs: ["y"] }] };
    // x / 6 into a type of a sixth of x's scale is a clamp of the codes: one vec.add.
    expect(vecs(checkOnNna(scalar, { seed: 12 }).program)).toHaveLength(1);
    const vector: Graphlet = { inputs: { x: [5, 24] }, constants: { c: tensor("float32", [24], randomFloats(13, 24, 0.5, 3)) }, nodes: [{ op: "Div", inputs: ["x", "c"], outputs: ["y"] }] };
    expect(vecs(checkOnNna(vector, { seed: 13 }).program).map((v) => v.fn)).toContain("requant");
  });

  it("fuses a following Relu into the clamp, and refuses an activation divisor that broadcasts", () => {
    const g: Graphlet = { inputs: { x: [3, 33], z: [3, 33] }, nodes: [{ op: "Div", inputs: ["x", "z"], outputs: ["d"] }, { op: "Relu", inputs: ["d"], outputs: ["y"] }] };
    const { program } = checkOnNna(g, { sets: sets(g, 14, { z: [0.5, 1] }) });
    expect(program.layers.map((l) => l.name)).toEqual(["n0"]);
    expect(thrown(() => checkOnNna(two([3, 8], [8]), { sets: sets(two([3, 8], [8]), 15, { z: [1, 2] }) })).code).toBe("HW5042");
  });
});

describe("MatMul with constant weights", () => {
  const mm = (a: number[], k: number, n: number, seed: number): Graphlet => ({
    inputs: { x: a },
    constants: { w: tensor("float32", [k, n], randomFloats(seed, k * n, -0.5, 0.5)) },
    nodes: [{ op: "MatMul", inputs: ["x", "w"], outputs: ["y"] }],
  });
  for (const [a, k, n, bits] of [[[5, 40], 40, 24, 8], [[1, 200], 200, 2, 8], [[9, 70], 70, 33, 4], [[3, 600], 600, 17, 8]] as const) {
    it(`[${a}] × [${k}, ${n}], int${bits} weights`, () => {
      const { program } = checkOnNna(mm([...a], k, n, k + n), { seed: k, weightBits: bits });
      expect(gemms(program).every((i) => i.mode === (bits === 4 ? "i4" : "i8"))).toBe(true);
    });
  }

  it("after a global average and a reshape (ppocr's head): reads the pooled nhwc map as padded rows", () => {
    const g: Graphlet = {
      inputs: { x: [1, 20, 3, 3] },
      constants: { w: tensor("float32", [20, 7], randomFloats(16, 140, -0.5, 0.5)), shape: tensor("int64", [2], BigInt64Array.of(1n, -1n)) },
      nodes: [
        { op: "GlobalAveragePool", inputs: ["x"], outputs: ["p"] },
        { op: "Reshape", inputs: ["p", "shape"], outputs: ["r"] },
        { op: "MatMul", inputs: ["r", "w"], outputs: ["y"] },
      ],
    };
    checkOnNna(g, { seed: 17 });
  });

  it("folds a batched A's leading axes into rows: [2, 3, 40] × [40, 24] is 6 rows, one GEMM per weight column", () => {
    const { program } = checkOnNna(mm([2, 3, 40], 40, 24, 19), { seed: 19 });
    expect(gemms(program).map((i) => [i.rows, i.kBlocks])).toEqual([[6, 3], [6, 3]]);
  });

  it("refuses a constant A times an activation, and a constant B of rank 3", () => {
    const g: Graphlet = { inputs: { z: [8, 3] }, constants: { w: tensor("float32", [4, 8], randomFloats(18, 32)) }, nodes: [{ op: "MatMul", inputs: ["w", "z"], outputs: ["y"] }] };
    expect(thrown(() => checkOnNna(g)).code).toBe("HW5042");
    const b3: Graphlet = { inputs: { x: [2, 3, 8] }, constants: { w: tensor("float32", [2, 8, 4], randomFloats(20, 64)) }, nodes: [{ op: "MatMul", inputs: ["x", "w"], outputs: ["y"] }] };
    expect(thrown(() => checkOnNna(b3)).code).toBe("HW5042");
  });
});

describe("MatMul of two activations: B restaged into weight blocks, both zero points subtracted in the array", () => {
  const mm2 = (a: number[], b: number[]): Graphlet => ({ inputs: { x: a, z: b }, nodes: [{ op: "MatMul", inputs: ["x", "z"], outputs: ["y"] }] });
  // [A, B, B's range]: B's range off centre gives it a nonzero zero point.
  const cases: [number[], number[], [number, number]][] = [
    [[4, 8], [8, 3], [-1, 1]], [[5, 40], [40, 24], [0, 2]], [[1, 17], [17, 1], [-3, 1]], [[33, 100], [100, 70], [-0.5, 2]],
    [[2, 3, 20], [2, 20, 18], [-1, 1]], [[2, 2, 5, 16], [2, 2, 16, 5], [0.2, 1]], [[3, 6, 33], [33, 9], [-1, 0.3]], [[2, 300], [300, 40], [-1, 1]],
  ];
  let seed = 500;
  for (const [a, b, range] of cases) {
    const s = seed++;
    it(`[${a}] × [${b}], B in [${range}] (seed ${s})`, () => {
      const g = mm2(a, b);
      const { program, q } = checkOnNna(g, { sets: sets(g, s, { z: range }) });
      const zb = q.graph.valueTypes.get(q.graph.nodes.find((n) => n.op === "MatMul")!.inputs[1]!)!.quant!.zeroPoint[0];
      expect(gemms(program).every((i) => i.wzp === zb)).toBe(true);
    });
  }

  it("fuses a following Relu, and restages a long B in several tiles on a small machine", () => {
    const g: Graphlet = { inputs: { x: [6, 150], z: [150, 40] }, nodes: [{ op: "MatMul", inputs: ["x", "z"], outputs: ["m"] }, { op: "Relu", inputs: ["m"], outputs: ["y"] }] };
    const small = parseConfig({ scratchpad: { accBytes: 8192, outBytes: 2048 } });
    const { program } = checkOnNna(g, { sets: sets(g, 520, { z: [-1, 2] }), config: small });
    expect(program.layers.map((l) => l.name)).toEqual(["n0"]);
    // K's 10 blocks in tiles of 7 (125 free acc vectors hold 7·16 rows of B) × 3 columns one at a
    // time (out holds 8 blocks): 6 restaging stores, then the product's one.
    expect(program.insns.filter((i) => i.op === "store").map((st) => st.op === "store" && st.ySize)).toEqual([1, 1, 1, 1, 1, 1, 6]);
  });
});

describe("tiling on a small machine (inp 128 vectors, acc 96, out 1 KB)", () => {
  const small = parseConfig({ scratchpad: { inpBytes: 2048, wgtBytes: 16 * 256, accBytes: 96 * 64, outBytes: 1024 } });
  // [what, graph, whether the array sums (GEMMs into one accumulator)]
  const graphs: [string, Graphlet, boolean][] = [
    // Rows of 60 in chunks of 8 elements (128 inp vectors / 16 rows), normalized once whole in acc.
    ["Softmax [20, 60]", one("Softmax", [20, 60], { axis: int(-1) }), false],
    ["ReduceMax [19, 200]: transposed in chunks", one("ReduceMax", [19, 200], { axes: ints([1]), keepdims: int(0) }), false],
    ["ReduceMean [3, 2048]: the array's sums (16 blocks fit wgt) in chunks of 8 vectors per line", one("ReduceMean", [3, 2048], { axes: ints([1]), keepdims: int(0) }), true],
    ["ReduceMean [3, 2001]: a partial last vector needs 32 summing blocks, so it transposes", one("ReduceMean", [3, 2001], { axes: ints([1]), keepdims: int(0) }), false],
    ["ReduceMean [4, 90, 100] over axis 1: 7 columns, chunks carried over steps", one("ReduceMean", [4, 90, 100], { axes: ints([1]), keepdims: int(0) }), false],
    ["Div [5, 300]", { inputs: { x: [5, 300], z: [5, 300] }, nodes: [{ op: "Div", inputs: ["x", "z"], outputs: ["y"] }] }, false],
  ];
  graphs.forEach(([what, g, sums], k) => {
    it(what, () => {
      const { program } = checkOnNna(g, { sets: sets(g, 600 + k, { z: [0.5, 2] }), config: small });
      expect(program.insns.filter((i) => i.op === "load").length).toBeGreaterThan(3);
      expect(gemms(program).some((i) => i.accStride === 0)).toBe(sums);
    });
  });
  it("refuses Softmax rows that do not fit acc", () => {
    expect(thrown(() => checkOnNna(one("Softmax", [2, 90], { axis: int(-1) }), { config: small })).code).toBe("HW5042");
  });
});

describe("ppocr_cls_mobile_v2 end to end (Conv, hard-swish Div chains, SE blocks, MatMul head, Softmax)", () => {
  const dir = join(FIXTURES, "real", "ppocr_cls_mobile_v2");
  const model = loadModel(join(dir, "model.onnx"));
  const calib = loadCalibrationSets([dir], model).sets;
  for (const bits of [8, 4]) {
    it(`W${bits}A8: both test sets equal the integer reference bit for bit`, () => {
      const q = quantize(model, calib, { static: false, config: defaultConfig({ weightBits: bits }) }).model;
      const s = staticize(q, { inputShapes: new Map([["x", [1, 3, 48, 192]]]) }).model;
      const program = lowerModel(s);
      for (const set of ["test_data_set_0", "test_data_set_1"]) {
        const ref = runQuantized(s, readInputs(join(dir, set), model), { keepAll: true });
        const sim = simulate(program, { inputs: { x: ref.get("x_q")! } });
        expect(sim.outputs.get("softmax_0.tmp_0"), set).toEqual(ref.get("softmax_0.tmp_0_q"));
      }
    });
  }
});
