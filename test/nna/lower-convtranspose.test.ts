/**
 * ConvTranspose on the NNA (backends/nna/lower/ConvTranspose.ts, a sub-pixel convolution through
 * Conv.ts `convolve`), bit for bit against the integer reference: a seeded suite of 1-D and 2-D
 * cases (strides, pads, output_padding, dilations, groups and depthwise, bias or none, a fused
 * Relu, batch 2, int8 and int4 weights) on the default machine and on one with small scratchpads,
 * output_shape and SAME auto_pad, a 2× upsampling whose array cycles are exactly the op's own
 * MACs, and a form it refuses.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, parseConfig, type NnaConfig } from "../../backends/nna/index.js";
import { lowerModel } from "../../backends/nna/lower/index.js";
import type { Attr } from "../../ir/graph.js";
import { tensor } from "../../ir/tensor.js";
import { staticize } from "../../src/pipeline.js";
import { quantize } from "../../src/quant/index.js";
import { randomInts, thrown } from "./helpers.js";
import { checkOnNna, floatModel, int, ints, randomFloats, randomSets, type Graphlet } from "./single-op.js";

/** Small scratchpads: 128 input vectors, 16 weight blocks, 96 acc vectors, 1 KiB of out. */
const SMALL: NnaConfig = parseConfig({
  ...DEFAULT_CONFIG, name: "small", scratchpad: { inpBytes: 2048, wgtBytes: 16 * 256, accBytes: 96 * 64, outBytes: 1024, lutEntries: 4096 },
});

interface Case {
  x: number[];
  cout: number;
  group: number;
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  outPad: number[];
  bias: boolean;
  relu: boolean;
  weightBits: number;
}

/** The unpadded output size of a ConvTranspose along axis i. */
const full = (c: Case, i: number) => c.strides[i]! * (c.x[i + 2]! - 1) + c.outPad[i]! + (c.kernel[i]! - 1) * c.dilations[i]! + 1;

function randomCase(seed: number): Case {
  const r = randomInts(seed * 7919 + 29);
  const pick = <T,>(a: readonly T[]) => a[r(0, a.length - 1)]!;
  const axes = r(0, 4) === 0 ? 1 : 2;
  const size = Array.from({ length: axes }, () => r(1, 9));
  const cin = pick([1, 3, 5, 16, 17, 24]);
  // Depthwise (a channel multiplier of 1 or 2), grouped, or one group.
  const kind = r(0, 3);
  const divisors = [2, 3, 4, 8].filter((g) => cin % g === 0);
  const group = kind === 0 ? cin : kind === 1 && divisors.length > 0 ? pick(divisors) : 1;
  const cout = group === 1 ? pick([1, 3, 16, 17, 20]) : group * r(1, 3);
  const strides = size.map(() => r(1, 3));
  const dilations = size.map(() => r(1, 2));
  const c: Case = {
    x: [r(1, 2), cin, ...size], cout, group, kernel: size.map(() => r(1, 4)), strides, dilations,
    pads: [...size, ...size].map(() => r(0, 2)), outPad: size.map((_, i) => r(0, Math.max(strides[i]!, dilations[i]!) - 1)),
    bias: r(0, 3) > 0, relu: r(0, 3) === 0, weightBits: r(0, 2) === 0 ? 4 : 8,
  };
  // Pads that leave no output shrink.
  size.forEach((_, i) => {
    while (full(c, i) - c.pads[i]! - c.pads[i + axes]! < 1) c.pads[c.pads[i]! > 0 ? i : i + axes]!--;
  });
  return c;
}

function graphlet(c: Case, seed: number, extra: Record<string, Attr> = {}): Graphlet {
  const [cin, taps] = [c.x[1]!, c.kernel.reduce((a, b) => a * b, 1)];
  const wShape = [cin, c.cout / c.group, ...c.kernel];
  const attrs = {
    kernel_shape: ints(c.kernel), strides: ints(c.strides), dilations: ints(c.dilations), pads: ints(c.pads),
    output_padding: ints(c.outPad), group: int(c.group), ...extra,
  };
  return {
    inputs: { x: c.x },
    constants: {
      w: tensor("float32", wShape, randomFloats(seed + 100, (cin * c.cout * taps) / c.group)),
      ...(c.bias ? { b: tensor("float32", [c.cout], randomFloats(seed + 200, c.cout, -0.5, 0.5)) } : {}),
    },
    nodes: [
      { op: "ConvTranspose", inputs: ["x", "w", ...(c.bias ? ["b"] : [])], outputs: [c.relu ? "h" : "y"], attrs, name: "ct" },
      ...(c.relu ? [{ op: "Relu", inputs: ["h"], outputs: ["y"] }] : []),
    ],
  };
}

/** Whether some output position receives a product along every axis (else every output is its bias). */
function reached(c: Case): boolean {
  const axes = c.kernel.length;
  return c.kernel.every((k, a) => {
    const out = full(c, a) - c.pads[a]! - c.pads[a + axes]!;
    for (let i = 0; i < c.x[a + 2]!; i++) {
      for (let t = 0; t < k; t++) {
        const o = i * c.strides[a]! - c.pads[a]! + t * c.dilations[a]!;
        if (o >= 0 && o < out) return true;
      }
    }
    return false;
  });
}

const label = (c: Case) =>
  `x=[${c.x}] cout=${c.cout} group=${c.group} k=[${c.kernel}] s=[${c.strides}] d=[${c.dilations}] pads=[${c.pads}] op=[${c.outPad}]${c.bias ? "" : " no bias"}${c.relu ? " +Relu" : ""} W${c.weightBits}`;

/** The ConvTranspose's output codes in the reference are not all one value (the comparison means something). */
function varied(check: ReturnType<typeof checkOnNna>): void {
  const out = check.q.graph.nodes.find((n) => n.op === "ConvTranspose")!.outputs[0]!;
  expect(new Set(check.ref.get(out)!.data as Int8Array).size).toBeGreaterThan(1);
}

describe("seeded ConvTranspose graphs, bit for bit against the integer reference", () => {
  const SEEDS = 60;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const c = randomCase(seed);
    it(`#${seed} ${label(c)}`, () => {
      const check = checkOnNna(graphlet(c, seed), { seed, weightBits: c.weightBits });
      if (reached(c)) varied(check);
      // A Relu after it is fused into the requantization: one layer.
      expect(check.program.layers.map((l) => l.name)).toEqual(["ct"]);
      // The same graph tiled for small scratchpads (parts of rows, weights in pieces).
      checkOnNna(graphlet(c, seed), { seed, weightBits: c.weightBits, config: SMALL });
    });
  }

  it("covers every required form", () => {
    const cases = Array.from({ length: SEEDS }, (_, i) => randomCase(i + 1));
    const has = (f: (c: Case) => boolean) => cases.filter(f).length;
    expect(has((c) => c.kernel.length === 1)).toBeGreaterThan(2);
    expect(has((c) => c.x[0] === 2)).toBeGreaterThan(10);
    expect(has((c) => c.weightBits === 4)).toBeGreaterThan(5);
    expect(has((c) => c.strides.includes(3))).toBeGreaterThan(5);
    expect(has((c) => c.strides.includes(2) && c.dilations.includes(2))).toBeGreaterThan(2);
    expect(has((c) => c.outPad.some((p) => p > 0))).toBeGreaterThan(5);
    expect(has((c) => c.pads[0] !== c.pads[c.kernel.length])).toBeGreaterThan(10);
    expect(has((c) => c.group > 1 && c.group === c.x[1])).toBeGreaterThan(3);
    expect(has((c) => c.group > 1 && c.group < c.x[1]!)).toBeGreaterThan(2);
    expect(has((c) => !c.bias)).toBeGreaterThan(3);
    expect(has((c) => c.relu)).toBeGreaterThan(3);
    expect(has((c) => c.x[1]! > 16 || c.cout > 16)).toBeGreaterThan(5);
    expect(has(reached)).toBeGreaterThan(50);
  });
});

describe("ConvTranspose forms", () => {
  const base: Case = {
    x: [1, 5, 4, 5], cout: 7, group: 1, kernel: [3, 3], strides: [2, 2], dilations: [1, 1], pads: [0, 0, 0, 0], outPad: [0, 0],
    bias: true, relu: false, weightBits: 8,
  };

  it.each([
    ["output_shape", { output_shape: ints([8, 10]) }],
    ["output_shape larger than the unpadded output", { output_shape: ints([10, 11]) }],
    ["SAME_UPPER", { auto_pad: { kind: "string", value: "SAME_UPPER" } as Attr }],
    ["SAME_LOWER", { auto_pad: { kind: "string", value: "SAME_LOWER" } as Attr }],
  ] as const)("%s", (_, extra) => {
    for (const weightBits of [8, 4]) varied(checkOnNna(graphlet(base, 7, extra), { seed: 7, weightBits }));
  });

  it("a 2× upsampling (k 4, s 2, p 1, 16 → 16 channels, 16 × 16 → 32 × 32): the array does exactly the op's MACs", () => {
    const c: Case = { ...base, x: [1, 16, 16, 16], cout: 16, kernel: [4, 4], pads: [1, 1, 1, 1] };
    // A 1 × 1 MaxPool (a copy) hands it an nhwc map, as a convolution before it would.
    const g = graphlet(c, 3);
    g.nodes = [{ op: "MaxPool", inputs: ["x"], outputs: ["p"], attrs: { kernel_shape: ints([1, 1]) } }, ...g.nodes.map((n) => ({ ...n, inputs: n.inputs.map((v) => (v === "x" ? "p" : v)) }))];
    const layer = (bits: number) => checkOnNna(g, { seed: 3, weightBits: bits }).sim.stats.layers.find((l) => l.name === "ct")!;
    const w8 = layer(8);
    // Each of the 32 × 32 outputs takes (4/2)² taps of a 16 × 16 block: one array cycle each. The
    // layer's span: double-buffered tiles of 9 tap loads each, GEMMs, bias and requantization VECs,
    // and a store each (7555 cycles with one step at a time, 7426 with overlapped stores).
    expect([w8.idealCycles, w8.end - w8.start]).toEqual([32 * 32 * 4, 6854]);
    // int4: a column of 32 channels holds two phases of one row parity, 2 × 3 taps between them.
    expect(layer(4).idealCycles).toBe(16 * 16 * 2 * 6);
  });

  it("kernel 2, stride 2 (a pixel shuffle of a 1 × 1 convolution), batch 2", () => {
    const c: Case = { ...base, x: [2, 24, 5, 7], cout: 20, kernel: [2, 2] };
    const { sim } = checkOnNna(graphlet(c, 5), { seed: 5 });
    // 2 × 5 × 7 input pixels, 4 phases, 2 input blocks, 2 output columns of 16 channels.
    expect(sim.stats.idealCycles).toBe(2 * 5 * 7 * 4 * 2 * 2);
  });

  it("refuses a 3-D ConvTranspose, naming the node", () => {
    const g: Graphlet = {
      inputs: { x: [1, 2, 3, 3, 3] }, constants: { w: tensor("float32", [2, 2, 2, 2, 2], randomFloats(1, 32)) },
      nodes: [{ op: "ConvTranspose", inputs: ["x", "w"], outputs: ["y"], name: "ct3" }],
    };
    const q = staticize(quantize(floatModel(g), randomSets(g, 1)).model, { inputShapes: new Map(Object.entries(g.inputs)) }).model;
    const e = thrown(() => lowerModel(q));
    expect([e.code, e.where.node, e.message]).toEqual(["HW5042", "ct3", "ConvTranspose on the NNA: 3 spatial axes are not supported (1 or 2)"]);
  });
});
