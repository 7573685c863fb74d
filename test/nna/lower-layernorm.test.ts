/**
 * LayerNormalization on the NNA against the integer reference (normalizeRowsInt), bit for bit: the
 * vector-unit inverse square root on its own against invSqrtMultiplier, then small float graphs
 * quantized, lowered, simulated and compared code for code with a race check (single-op.ts) — on
 * the default machine and on a small one that forces chunked rows —, a transformer block
 * (MatMul → Add → Add(residual) → LayerNormalization) at W8A8 and W4A8, and two refused forms.
 */
import { describe, expect, it } from "vitest";
import { configHash, DEFAULT_CONFIG, latency, parseConfig, simulate, type Gemm, type IoTensor, type Program } from "../../backends/nna/index.js";
import { LowerCtx } from "../../backends/nna/lower/context.js";
import { lowerModel } from "../../backends/nna/lower/index.js";
import { invSqrtConstants, invSqrtPairs } from "../../backends/nna/lower/LayerNormalization.js";
import { splatLoad } from "../../backends/nna/lower/lanes.js";
import { RECIPROCAL_SCRATCH } from "../../backends/nna/lower/reciprocal.js";
import type { Graph } from "../../ir/graph.js";
import { invSqrtMultiplier, normIntParams } from "../../ir/kernels/normalize.js";
import { requantize, xorshift32 } from "../../ir/numeric.js";
import { tensor } from "../../ir/tensor.js";
import { staticize } from "../../src/pipeline.js";
import { defaultConfig } from "../../src/quant/config.js";
import { quantize } from "../../src/quant/index.js";
import { thrown } from "./helpers.js";
import { checkOnNna, float, floatModel, int, randomFloats, randomSets, type Graphlet } from "./single-op.js";

const lanes = DEFAULT_CONFIG.gemm.blockOut;
const gemms = (p: Program) => p.insns.filter((i): i is Gemm => i.op === "gemm");

describe("the vector-unit inverse square root equals invSqrtMultiplier(V, F), m0 negated, bit for bit", () => {
  /** The pairs the routine computes for `vs` (a multiple of 16 values below 2^52), run on the simulator. */
  function onNna(vs: readonly number[], frac: number): { m0: number[]; shift: number[] } {
    const graph: Graph = { name: "g", inputs: [], outputs: [], initializers: new Map(), nodes: [], valueTypes: new Map() };
    const ctx = new LowerCtx(graph, DEFAULT_CONFIG, {});
    const cols = vs.length / lanes;
    const consts = invSqrtConstants(frac);
    // acc: the constants, hi, lo, k, the pairs, then the scratch registers.
    const [hi, lo, k, pair, scratch] = [0, 1, 2, 3, 5].map((i) => consts.length + i * cols) as [number, number, number, number, number];
    expect(scratch + RECIPROCAL_SCRATCH * cols).toBeLessThanOrEqual(DEFAULT_CONFIG.scratchpad.accBytes / (4 * lanes));
    const io = (name: string, kind: IoTensor["kind"], count: number): IoTensor =>
      ({ name, kind, dtype: "int32", shape: [count], addr: ctx.alloc(4 * count), scale: 1, zeroPoint: 0 });
    const [hiIn, loIn, output] = [io("hi", "input", vs.length), io("lo", "input", vs.length), io("pair", "output", 2 * vs.length)];
    const limbs = (sram: number, t: IoTensor) => ctx.load({ mem: "acc", mode: "i32", sram, dram: t.addr, xSize: cols, xStride: 4 * lanes });
    ctx.step(
      [splatLoad(ctx, 0, consts), limbs(hi, hiIn), limbs(lo, loIn)],
      [
        ...invSqrtPairs(ctx, { cols, hi, lo, k, scratch, consts: 0, pair }, frac),
        ctx.vec({ fn: "add", src: pair, cols: 2 * cols, srcColStride: 1, useImm: true, dstMem: "out", dtype: "i32", dstColStride: 4 * lanes }),
      ],
      ctx.store({ dram: output.addr, xSize: 8 * vs.length }),
    );
    ctx.finish();
    const program: Program = { configHash: configHash(DEFAULT_CONFIG), dramBytes: ctx.dramBytes, tensors: [hiIn, loIn, output], layers: ctx.layers, segments: ctx.segments, insns: ctx.insns };
    const limb = (f: (v: number) => number) => tensor("int32", [vs.length], Int32Array.from(vs, f));
    const inputs = { hi: limb((v) => Math.floor(v / 2 ** 26)), lo: limb((v) => v % 2 ** 26) };
    const out = simulate(program, { inputs }).outputs.get("pair")!.data as Int32Array;
    const m0: number[] = [];
    const shift: number[] = [];
    for (let i = 0; i < vs.length; i++) {
      const [c, j] = [Math.floor(i / lanes), i % lanes];
      m0.push(out[2 * c * lanes + j]!);
      shift.push(out[(2 * c + 1) * lanes + j]!);
    }
    return { m0, shift };
  }

  const powers = Array.from({ length: 52 }, (_, e) => 2 ** e);
  const roots = [2, 3, 1000, 46341, 2 ** 25, 2 ** 25 + 1, 2 ** 26 - 1, 2 ** 26 - 3, 67108859];
  const edges = [
    ...powers, ...powers.slice(1).map((p) => p + 1), ...powers.slice(2).map((p) => p - 1), 2 ** 52 - 1, 2 ** 51 + 2 ** 45,
    ...roots.flatMap((r) => [r * r, r * r - 1, r * r + 1]),
  ];
  let s = 4242;
  const next = () => (s = xorshift32(s));
  // Every bit length: a random 52-bit value shifted down by 0 … 51.
  const random = Array.from({ length: 16 * 40 - edges.length }, (_, i) => Math.max(1, Math.floor(((next() >>> 6) * 2 ** 26 + (next() >>> 6)) / 2 ** (i % 52))));
  const vs = [...edges, ...random];
  for (const frac of [0, 10, 15]) {
    it(`${vs.length} values of V from 1 to 2^52 − 1 (powers of two, squares and their neighbours included), F = ${frac}`, () => {
      const got = onNna(vs, frac);
      const want = vs.map((v) => invSqrtMultiplier(v, frac));
      expect(got.m0).toEqual(want.map((m) => -m.m0));
      expect(got.shift).toEqual(want.map((m) => m.shift));
    });
  }

  it("V = 0 (a constant row with ε = 0) gets a pair whose shift a requantization accepts", () => {
    const { shift } = onNna(new Array<number>(16).fill(0), 15);
    for (const sh of shift) expect(sh).toBeGreaterThanOrEqual(-31), expect(sh).toBeLessThanOrEqual(30);
  });
});

/** LayerNormalization of x over the axes from `axis` (default −1), with seeded Scale in ±1.5 and B in ±0.5. */
function layerNorm(shape: number[], opts: { axis?: number; bias?: boolean; epsilon?: number; seed: number }): Graphlet {
  const a = opts.axis === undefined ? shape.length - 1 : opts.axis < 0 ? opts.axis + shape.length : opts.axis;
  const norm = shape.slice(a);
  const count = norm.reduce((p, d) => p * d, 1);
  const bias = opts.bias ?? true;
  return {
    inputs: { x: shape },
    constants: {
      s: tensor("float32", norm, randomFloats(opts.seed, count, -1.5, 1.5)),
      ...(bias ? { b: tensor("float32", norm, randomFloats(opts.seed + 1, count, -0.5, 0.5)) } : {}),
    },
    nodes: [{
      op: "LayerNormalization", inputs: bias ? ["x", "s", "b"] : ["x", "s"], outputs: ["y"],
      attrs: { ...(opts.axis === undefined ? {} : { axis: int(opts.axis) }), ...(opts.epsilon === undefined ? {} : { epsilon: float(opts.epsilon) }) },
    }],
  };
}

/** The array steps that transpose the rows: one GEMM row per element, chunk and group of ≤ 16 rows. */
const transposed = (p: Program) => gemms(p).reduce((n, i) => n + i.rows, 0);

describe("LayerNormalization, bit for bit with the integer reference", () => {
  // [shape, axis, bias, epsilon, input range r: values uniform in [−r, r)]
  const cases: [number[], number | undefined, boolean, number | undefined, number][] = [
    [[1, 1], undefined, true, undefined, 1], [[37, 1], -1, true, 0.01, 1], [[1, 40], -1, true, undefined, 2],
    [[3, 20], -1, true, undefined, 1], [[17, 5], -1, false, undefined, 3], [[16, 16], 1, true, 1e-3, 1],
    [[33, 47], -1, true, 0.5, 4], [[2, 3, 7], undefined, false, undefined, 1], [[2, 3, 7], 1, true, undefined, 1],
    [[2, 5, 6], -2, true, 0, 2], [[4, 2, 3, 5], 2, true, undefined, 1], [[100, 24], -1, true, undefined, 6],
    [[3, 5, 24], -1, true, 1e-5, 1], [[40, 9], -1, false, 1e-5, 16], [[1, 2], -1, true, undefined, 1],
    [[20, 256], -1, true, undefined, 2], [[2, 300], -1, true, undefined, 1], [[5, 768], -1, false, 1e-6, 3],
    [[3, 1001], -1, true, 0, 1], [[2, 4099], -1, true, undefined, 5], [[18, 257], -1, true, undefined, 2],
    [[300, 1], -1, true, 0.1, 1], [[7, 2, 33], 1, false, undefined, 2],
  ];
  let seed = 300;
  for (const [shape, axis, bias, epsilon, r] of cases) {
    const sd = seed++;
    it(`[${shape}] axis ${axis ?? "(default)"}, ${bias ? "with" : "without"} B, ε ${epsilon ?? "(default)"}, inputs in ±${r} (seed ${sd})`, () => {
      const g = layerNorm(shape, { ...(axis === undefined ? {} : { axis }), bias, ...(epsilon === undefined ? {} : { epsilon }), seed: sd });
      const { program } = checkOnNna(g, { sets: randomSets(g, sd, 4, -r, r) });
      const a = axis === undefined ? shape.length - 1 : axis < 0 ? axis + shape.length : axis;
      const n = shape.slice(a).reduce((p, d) => p * d, 1);
      const rows = shape.reduce((p, d) => p * d, 1) / n;
      // Rows of more than one element, several of them, come through the array, every element once
      // (one GEMM row per element and group of ≤ 16 rows, one cycle per row in the group).
      expect(transposed(program)).toBe(rows > 1 && n > 1 ? Math.ceil(rows / 16) * n : 0);
      // A row that does not fit one transposition (inp holds 4096 vectors: one per element and row
      // of the group) or acc (1024 vectors less 12 constants, 15 registers and 64 squares: 311
      // elements with γ and β) is spilled to DRAM between its two passes, one STORE per chunk.
      const fits = n <= Math.min(311, Math.floor(4096 / Math.min(16, rows)));
      const spills = program.insns.filter((i) => i.op === "store" && i.xSize === 16 && i.srcStride === 16 && i.yStride === 16);
      expect(spills.length > 0).toBe(!fits);
    });
  }

  it("constant rows with ε = 0 (V = 0: every deviation is zero, y = requantize(β))", () => {
    const g = layerNorm([24, 33], { epsilon: 0, seed: 77 });
    const sets = randomSets(g, 77, 4, -2, 2);
    for (const set of sets) {
      const x = set.get("x")!.data as Float32Array;
      for (const row of [0, 5, 17]) x.fill(0.75 - row / 40, row * 33, (row + 1) * 33);
    }
    const { sim, q, program } = checkOnNna(g, { sets });
    // Those rows' outputs are requantize(β, M) element by element, computed here from the node's types.
    const node = q.graph.nodes.find((nd) => nd.op === "LayerNormalization")!;
    const type = (name: string) => q.graph.valueTypes.get(name);
    const p = normIntParams(33, 0, type(node.inputs[0]!), type(node.inputs[1]!), type(node.inputs[2]!), type(node.outputs[0]!)!);
    const beta = q.graph.initializers.get(node.inputs[2]!)!.data as Int32Array;
    const want = Array.from(beta, (b) => requantize(b, p.out.m0, p.out.shift, p.zOut, p.lo, p.hi));
    const y = sim.outputs.get(program.tensors.find((t) => t.kind === "output")!.name)!.data as Int8Array;
    for (const row of [0, 5, 17]) expect(Array.from(y.subarray(row * 33, (row + 1) * 33))).toEqual(want);
    expect(Array.from(y.subarray(33, 66))).not.toEqual(want);
  });

  it("an nhwc input (a convolution's output) is copied to dense rows first", () => {
    for (const axis of [-1, 1]) {
      const g: Graphlet = {
        inputs: { x: [1, 3, 6, 6] },
        constants: {
          w: tensor("float32", [8, 3, 3, 3], randomFloats(11, 216, -0.5, 0.5)),
          s: tensor("float32", axis === 1 ? [8, 6, 6] : [6], randomFloats(12, axis === 1 ? 288 : 6, -1, 1)),
          b: tensor("float32", axis === 1 ? [8, 6, 6] : [6], randomFloats(13, axis === 1 ? 288 : 6, -0.3, 0.3)),
        },
        nodes: [
          { op: "Conv", inputs: ["x", "w"], outputs: ["c"], attrs: { kernel_shape: { kind: "ints", value: [3, 3] }, pads: { kind: "ints", value: [1, 1, 1, 1] } } },
          { op: "LayerNormalization", inputs: ["c", "s", "b"], outputs: ["y"], attrs: { axis: int(axis) } },
        ],
      };
      checkOnNna(g, { seed: 14 + axis });
    }
  });
});

describe("tiling on a small machine (inp 128 vectors, acc 96, out 1 KB)", () => {
  const small = parseConfig({ scratchpad: { inpBytes: 2048, wgtBytes: 16 * 256, accBytes: 96 * 64, outBytes: 1024 } });
  // Chunks of 8 elements (128 inp vectors / 16 rows; acc: 12 constants, 15 registers, then 17
  // squares, codes, γ and β), so every row takes two passes, spilled in between.
  for (const [shape, bias] of [[[20, 60], true], [[3, 100], false], [[40, 1], true]] as const) {
    it(`[${shape}] ${bias ? "with" : "without"} B`, () => {
      const g = layerNorm([...shape], { bias, seed: 640 + shape[1] });
      const { program } = checkOnNna(g, { sets: randomSets(g, 640, 4, -2, 2), config: small });
      const spills = program.insns.filter((i) => i.op === "store" && i.xSize === 16 && i.srcStride === 16 && i.yStride === 16);
      const chunks = shape[1] > 1 ? Math.ceil(shape[1] / Math.min(17, Math.floor(128 / Math.min(16, shape[0])))) : 0;
      expect(spills.length).toBe(Math.ceil(shape[0] / 16) * chunks);
    });
  }
  it("refuses a machine whose acc cannot hold the registers", () => {
    const tiny = parseConfig({ scratchpad: { accBytes: 24 * 64 } });
    const e = thrown(() => checkOnNna(layerNorm([4, 8], { seed: 650 }), { config: tiny }));
    expect(e.code).toBe("HW5042");
    expect(e.message).toMatch(/LayerNormalization on the NNA: the scratchpads are too small/);
  });
});

describe("a transformer block: MatMul → Add(bias) → Add(residual) → LayerNormalization", () => {
  const [batch, seq, hidden] = [2, 12, 64];
  const block: Graphlet = {
    inputs: { x: [batch, seq, hidden] },
    constants: {
      w: tensor("float32", [hidden, hidden], randomFloats(21, hidden * hidden, -0.25, 0.25)),
      bm: tensor("float32", [hidden], randomFloats(22, hidden, -0.2, 0.2)),
      s: tensor("float32", [hidden], randomFloats(23, hidden, 0.5, 1.5)),
      b: tensor("float32", [hidden], randomFloats(24, hidden, -0.2, 0.2)),
    },
    nodes: [
      { op: "MatMul", inputs: ["x", "w"], outputs: ["m"] },
      { op: "Add", inputs: ["m", "bm"], outputs: ["a"] },
      { op: "Add", inputs: ["a", "x"], outputs: ["r"] },
      { op: "LayerNormalization", name: "ln", inputs: ["r", "s", "b"], outputs: ["y"], attrs: { epsilon: float(1e-5) } },
    ],
  };
  for (const [weightBits, cycles] of [[8, 8296], [4, 8040]] as const) {
    it(`W${weightBits}A8: every output code equal, ${cycles} cycles in all`, () => {
      const { sim, program } = checkOnNna(block, { seed: 25, weightBits });
      expect(sim.stats.cycles).toBe(cycles);
      // The LayerNormalization's array and vector work, per group of J rows (16, then 8) of N = 64:
      // the transposition (N·J array cycles), ten passes over the elements (clearing, S1, the
      // squares and their sum, six per-element operations) and 682 single-vector instructions
      // (clearing S1 and Q, V's limbs and I) — one GEMM and 692 VECs.
      const ln = sim.stats.layers.find((l) => l.name === "ln")!;
      const work = program.insns.filter((i) => i.layer === ln.layer && (i.op === "vec" || i.op === "gemm"));
      const n = hidden;
      expect(work.length).toBe(2 * 693);
      expect(work.reduce((t, i) => t + latency(i, DEFAULT_CONFIG), 0)).toBe([16, 8].reduce((t, j) => t + n * j + 10 * n + 682, 0));
    });
  }
});

describe("refused forms", () => {
  it("a Scale that varies along the leading axes is HW5042, naming the node and the reason", () => {
    const g: Graphlet = {
      inputs: { x: [3, 20] },
      constants: { s: tensor("float32", [3, 20], randomFloats(31, 60, -1, 1)) },
      nodes: [{ op: "LayerNormalization", name: "ln", inputs: ["x", "s"], outputs: ["y"] }],
    };
    const model = floatModel(g);
    const sets = randomSets(g, 31);
    const q = staticize(quantize(model, sets, { config: defaultConfig({ weightBits: 8 }) }).model, { inputShapes: new Map([["x", [3, 20]]]) }).model;
    const e = thrown(() => lowerModel(q));
    expect(e.code).toBe("HW5042");
    expect(e.message).toMatch(/Scale must hold one value per element of the normalized block; 's_q' varies along the leading axes/);
    expect(e.where.node).toBe("ln");
  });
});

