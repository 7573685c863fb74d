/**
 * hwac::AnalogMvm (docs/numerics-aimc.md). The integer semantics are checked bit for bit against a
 * direct model written here from the contract — per output position, the window's taps read one by
 * one (padding as z_x), the DAC, block sums, ADC and digital scaling in plain loops, the final
 * requantization by a BigInt shift — sharing only the ir/numeric.ts primitives; then on hand-computed
 * exact-profile cases (acc/1270 with its ties and saturation), against the quantized Conv when the
 * converters are fine enough, and on every refused attribute.
 */
import { describe, expect, it } from "vitest";
import { intRange, type DType } from "../../ir/dtype.js";
import type { Attr, Graph, Model, Node, TensorType } from "../../ir/graph.js";
import { runQuantized } from "../../ir/interpret.js";
import { clamp, mulShiftRound, quantizeMultiplier, roundHalfEven } from "../../ir/numeric.js";
import { attrsOf, type IntCtx, type OpDef } from "../../ir/op.js";
import { verifyModel } from "../../ir/verify.js";
import { AnalogMvm } from "../../ir/ops/AnalogMvm.js";
import { findOp } from "../../ir/ops/index.js";
import { f32, numel, tensor, type Tensor } from "../../ir/tensor.js";

// ---- Seeded randomness ----

/** mulberry32: a small seeded generator, so every case is reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const randInt = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

// ---- Cases ----

interface QType {
  dtype: DType;
  scale: number[];
  zp: number[];
  axis?: number;
}

interface Converters {
  rowBlocks: number[];
  inputRange: number[];
  weightBits: number;
  dacBits: number;
  dacBound: number;
  adcBits: number;
  adcBound: number;
}

/** Conv mode's window; absent in matmul mode. */
interface ConvAttrs {
  kernel: number[];
  strides: number[];
  pads: number[];
  dilations: number[];
}

interface Case {
  xShape: number[];
  x: number[];
  xType: QType;
  wShape: number[];
  w: number[];
  wType: QType;
  bias?: number[];
  yType: QType;
  conv?: ConvAttrs;
  cv: Converters;
}

const ints = (value: readonly number[]): Attr => ({ kind: "ints", value });
const floats = (value: readonly number[]): Attr => ({ kind: "floats", value });
const int = (value: number): Attr => ({ kind: "int", value });
const float = (value: number): Attr => ({ kind: "float", value });
const str = (value: string): Attr => ({ kind: "string", value });

function attrsOfCase(c: Case): Record<string, Attr> {
  const a: Record<string, Attr> = {
    row_blocks: ints(c.cv.rowBlocks),
    input_range: floats(c.cv.inputRange),
    weight_bits: int(c.cv.weightBits),
    dac_bits: int(c.cv.dacBits),
    dac_bound: float(c.cv.dacBound),
    adc_bits: int(c.cv.adcBits),
    adc_bound: float(c.cv.adcBound),
  };
  if (c.conv) {
    Object.assign(a, { kernel_shape: ints(c.conv.kernel), strides: ints(c.conv.strides), pads: ints(c.conv.pads), dilations: ints(c.conv.dilations) });
  }
  return a;
}

function node(op: string, domain: string, nIn: number, attrs: Record<string, Attr>): Node {
  return { op, domain, name: "layer0", inputs: Array.from({ length: nIn }, (_, i) => `in${i}`), outputs: ["y"], attrs };
}

function typeOf(q: QType, shape: readonly number[]): TensorType {
  return {
    dtype: q.dtype,
    shape,
    quant: { scale: Float32Array.from(q.scale), zeroPoint: Int32Array.from(q.zp), ...(q.axis === undefined ? {} : { axis: q.axis }) },
  };
}

function codes(dtype: DType, shape: readonly number[], values: readonly number[]): Tensor {
  const t = tensor(dtype, shape);
  (t.data as Int8Array | Uint8Array | Int32Array).set(values);
  return t;
}

function outShape(c: Case): number[] {
  if (!c.conv) return [...c.xShape.slice(0, -1), c.wShape[0]!];
  const spatial = c.xShape.slice(2).map((s, i) => {
    const span = (c.conv!.kernel[i]! - 1) * c.conv!.dilations[i]! + 1;
    return Math.floor((s + c.conv!.pads[i]! + c.conv!.pads[i + c.xShape.length - 2]! - span) / c.conv!.strides[i]!) + 1;
  });
  return [c.xShape[0]!, c.wShape[0]!, ...spatial];
}

/** Runs `def.runInt` on the case's operands with `attrs` on a hand-built node. */
function runCase(def: OpDef, domain: string, c: Case, attrs: Record<string, Attr> = attrsOfCase(c)): number[] {
  const inputs: Tensor[] = [codes(c.xType.dtype, c.xShape, c.x), codes(c.wType.dtype, c.wShape, c.w)];
  const inTypes = [typeOf(c.xType, c.xShape), typeOf(c.wType, c.wShape)];
  if (c.bias) {
    inputs.push(codes("int32", [c.bias.length], c.bias));
    inTypes.push({ dtype: "int32", shape: [c.bias.length] });
  }
  const n = node(def.op, domain, inputs.length, attrs);
  const ctx: IntCtx = { node: n, attrs: attrsOf(n), opset: 21, runSubgraph: () => [], inTypes, outTypes: [typeOf(c.yType, outShape(c))] };
  const [y] = def.runInt!(inputs, ctx);
  expect(y!.shape).toEqual(outShape(c));
  return Array.from(y!.data as Int8Array);
}

const runAnalog = (c: Case, attrs?: Record<string, Attr>) => runCase(AnalogMvm, "hwac", c, attrs);

// ---- The direct model ----

const levels = (bits: number) => 2 ** (bits - 1) - 1;

/** What the direct model saw, so the random cases can be shown to reach every branch. */
interface Seen {
  dacClipped: number;
  adcSaturated: number;
  adcNonZero: number;
}

/** The output codes of one position: `col` holds its K input codes in W's column order. */
function position(c: Case, col: readonly number[], seen: Seen): number[] {
  const { cv } = c;
  const sx = Math.fround(c.xType.scale[0]!);
  const zx = c.xType.zp[0]!;
  const qW = levels(cv.weightBits);
  const qD = levels(cv.dacBits);
  const qA = levels(cv.adcBits);
  const k = col.length;
  const n = c.wShape[0]!;
  // Step 1 for the whole column, block by block.
  const d: number[] = [];
  let k0 = 0;
  for (let b = 0; b < cv.rowBlocks.length; b++) {
    const { m0, shift } = quantizeMultiplier((sx * qD) / (cv.inputRange[b]! * cv.dacBound));
    for (let j = k0; j < k0 + cv.rowBlocks[b]!; j++) {
      const v = roundHalfEven(((col[j]! - zx) * m0) / 2 ** (31 - shift));
      if (Math.abs(v) > qD) seen.dacClipped++;
      d.push(clamp(v, -qD, qD));
    }
    k0 += cv.rowBlocks[b]!;
  }
  const out: number[] = [];
  for (let o = 0; o < n; o++) {
    let total = c.bias ? c.bias[o]! : 0;
    k0 = 0;
    for (let b = 0; b < cv.rowBlocks.length; b++) {
      let acc = 0;
      for (let j = k0; j < k0 + cv.rowBlocks[b]!; j++) acc += c.w[o * k + j]! * d[j]!;
      const y = roundHalfEven((acc * (qA * cv.dacBound)) / (qW * qD * cv.adcBound));
      if (Math.abs(y) > qA) seen.adcSaturated++;
      const a = clamp(y, -qA, qA);
      if (a !== 0) seen.adcNonZero++;
      const { m0, shift } = quantizeMultiplier((qW * cv.inputRange[b]! * cv.adcBound) / (qA * sx));
      total = (total + mulShiftRound(a, m0, shift)) | 0;
      k0 += cv.rowBlocks[b]!;
    }
    out.push(requantBig(c, o, total));
  }
  return out;
}

/** SPEC.md §2 requantization of output channel `o` by a BigInt product and shift. */
function requantBig(c: Case, o: number, total: number): number {
  const sw = Math.fround(c.wType.scale.length === 1 ? c.wType.scale[0]! : c.wType.scale[o]!);
  const { m0, shift } = quantizeMultiplier((Math.fround(c.xType.scale[0]!) * sw) / Math.fround(c.yType.scale[0]!));
  const [lo, hi] = intRange(c.yType.dtype);
  const z = c.yType.zp[0]!;
  if (m0 === 0) return clamp(z, lo, hi);
  const t = BigInt(31 - shift);
  return clamp(z + Number((BigInt(total) * BigInt(m0) + (1n << (t - 1n))) >> t), lo, hi);
}

/** Unravels a row-major flat index into coordinates of `shape`. */
function coords(i: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return out;
}

function reference(c: Case, seen: Seen = { dacClipped: 0, adcSaturated: 0, adcNonZero: 0 }): number[] {
  const n = c.wShape[0]!;
  if (!c.conv) {
    const k = c.wShape[1]!;
    const out: number[] = [];
    for (let r = 0; r < c.x.length / k; r++) out.push(...position(c, c.x.slice(r * k, (r + 1) * k), seen));
    return out;
  }
  const { kernel, strides, pads, dilations } = c.conv;
  const [batch, channels] = c.xShape as [number, number];
  const inShape = c.xShape.slice(2);
  const rank = inShape.length;
  const grid = outShape(c).slice(2);
  const positions = prod(grid);
  const y = new Array<number>(batch * n * positions);
  for (let img = 0; img < batch; img++) {
    for (let p = 0; p < positions; p++) {
      const o = coords(p, grid);
      const col: number[] = [];
      for (let ch = 0; ch < channels; ch++) {
        for (let t = 0; t < prod(kernel); t++) {
          const kc = coords(t, kernel);
          const at = o.map((oi, i) => oi * strides[i]! - pads[i]! + kc[i]! * dilations[i]!);
          const inside = at.every((v, i) => v >= 0 && v < inShape[i]!);
          let flat = img * channels + ch;
          for (let i = 0; i < rank; i++) flat = flat * inShape[i]! + at[i]!;
          col.push(inside ? c.x[flat]! : c.xType.zp[0]!);
        }
      }
      position(c, col, seen).forEach((v, m) => (y[(img * n + m) * positions + p] = v));
    }
  }
  return y;
}

// ---- Random cases ----

/** Splits k into `parts` positive sizes, unevenly. */
function split(r: () => number, k: number, parts: number): number[] {
  const cuts = new Set<number>();
  while (cuts.size < parts - 1) cuts.add(randInt(r, 1, k - 1));
  const ends = [...[...cuts].sort((a, b) => a - b), k];
  return ends.map((e, i) => e - (i === 0 ? 0 : ends[i - 1]!));
}

function randomConv(r: () => number): { xShape: number[]; wShape: number[]; conv: ConvAttrs } {
  const rank = randInt(r, 1, 2);
  const kernel = Array.from({ length: rank }, () => randInt(r, 1, 3));
  const strides = Array.from({ length: rank }, () => randInt(r, 1, 2));
  const dilations = Array.from({ length: rank }, () => randInt(r, 1, 2));
  const pads = Array.from({ length: 2 * rank }, () => randInt(r, 0, 2));
  const spatial = kernel.map((k, i) => {
    const span = (k - 1) * dilations[i]! + 1;
    return randInt(r, Math.max(1, span - pads[i]! - pads[i + rank]!), span + 4);
  });
  const c = randInt(r, 1, 4);
  return { xShape: [randInt(r, 1, 2), c, ...spatial], wShape: [randInt(r, 1, 5), c, ...kernel], conv: { kernel, strides, pads, dilations } };
}

function randomMatmul(r: () => number): { xShape: number[]; wShape: number[] } {
  const k = randInt(r, 1, 48);
  const lead = pick(r, [[], [randInt(r, 1, 5)], [randInt(r, 1, 2), randInt(r, 1, 4)]]);
  return { xShape: [...lead, k], wShape: [randInt(r, 1, 6), k] };
}

/** The DAC range that covers every code of X: s_x·max(|q_min − z_x|, |q_max − z_x|). */
function fullRange(dtype: DType, sx: number, zx: number): number {
  const [lo, hi] = intRange(dtype);
  return sx * Math.max(Math.abs(lo - zx), Math.abs(hi - zx));
}

function randomCase(seed: number): Case {
  const r = rng(seed);
  const g = r() < 0.5 ? randomConv(r) : randomMatmul(r);
  const k = prod(g.wShape.slice(1));
  const n = g.wShape[0]!;
  const xDtype = pick(r, ["uint8", "int8"] as const);
  const [lo, hi] = intRange(xDtype);
  const zx = randInt(r, lo, hi);
  const sx = Math.fround(2 ** -randInt(r, 2, 8) * (0.5 + r()));
  const weightBits = pick(r, [8, 4]);
  const qW = levels(weightBits);
  const sw = Array.from({ length: n }, () => Math.fround(0.002 + 0.05 * r()));
  const typical = Math.sqrt(k) * 70 * qW * 0.5 * sx * (sw.reduce((a, b) => a + b) / n);
  const yDtype = pick(r, ["int8", "uint8"] as const);
  const blocks = randInt(r, 1, Math.min(3, k));
  const rowBlocks = split(r, k, blocks);
  return {
    ...g,
    x: Array.from({ length: prod(g.xShape) }, () => randInt(r, lo, hi)),
    xType: { dtype: xDtype, scale: [sx], zp: [zx] },
    w: Array.from({ length: prod(g.wShape) }, () => randInt(r, -qW, qW)),
    wType: { dtype: weightBits === 8 ? "int8" : "int4", scale: sw, zp: sw.map(() => 0), axis: 0 },
    ...(r() < 0.5 ? {} : { bias: Array.from({ length: n }, () => randInt(r, -4000, 4000)) }),
    yType: { dtype: yDtype, scale: [Math.fround(typical / 60)], zp: [yDtype === "uint8" ? randInt(r, 100, 156) : randInt(r, -20, 20)] },
    cv: {
      rowBlocks,
      // Below 1 the DAC clips; the full range is what the compiler chooses.
      inputRange: rowBlocks.map(() => fullRange(xDtype, sx, zx) * pick(r, [0.3, 0.7, 1, 1, 1.5])),
      weightBits,
      dacBits: pick(r, [4, 5, 6, 7, 8, 8, 12]),
      dacBound: pick(r, [1, 1, 0.5, 1.5, 2]),
      adcBits: pick(r, [4, 5, 6, 7, 8, 8]),
      adcBound: pick(r, [10, 10, 3, 7.5, 20, 1]),
    },
  };
}

/** The first random case in conv mode from `seed` on. */
function convCase(seed: number): Case {
  for (; ; seed++) {
    const c = randomCase(seed);
    if (c.conv) return c;
  }
}

// ---- Tests ----

describe("AnalogMvm integer semantics against the direct model", () => {
  it("matches bit for bit on 240 random conv and matmul cases", () => {
    const seen: Seen = { dacClipped: 0, adcSaturated: 0, adcNonZero: 0 };
    const kinds = new Set<string>();
    for (let seed = 1; seed <= 240; seed++) {
      const c = randomCase(seed);
      kinds.add(`${c.conv ? "conv" : "matmul"} ${c.cv.rowBlocks.length} blocks ${c.wType.dtype} ${c.xType.dtype}${c.bias ? " bias" : ""}`);
      expect(runAnalog(c), `seed ${seed}`).toEqual(reference(c, seen));
    }
    // The cases reach both modes, 1–3 blocks, both weight and input types, DAC clipping and ADC saturation.
    expect(kinds.size).toBeGreaterThanOrEqual(40);
    expect(seen.dacClipped).toBeGreaterThan(100);
    expect(seen.adcSaturated).toBeGreaterThan(100);
    expect(seen.adcNonZero).toBeGreaterThan(1000);
  });

  it("matches across position chunks (an im2col matrix over 2^22 elements, and 8200 matmul rows)", () => {
    const r = rng(7);
    const conv: Case = {
      xShape: [1, 16, 176, 176],
      x: Array.from({ length: 16 * 176 * 176 }, () => randInt(r, 0, 255)),
      xType: { dtype: "uint8", scale: [0.05], zp: [31] },
      wShape: [2, 16, 3, 3],
      w: Array.from({ length: 2 * 144 }, () => randInt(r, -127, 127)),
      wType: { dtype: "int8", scale: [0.01, 0.02], zp: [0, 0], axis: 0 },
      bias: [100, -100],
      yType: { dtype: "int8", scale: [2], zp: [3] },
      conv: { kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] },
      cv: { rowBlocks: [72, 72], inputRange: [11.2, 8], weightBits: 8, dacBits: 8, dacBound: 1, adcBits: 8, adcBound: 10 },
    };
    expect(runAnalog(conv)).toEqual(reference(conv));
    const matmul: Case = {
      ...conv,
      xShape: [8200, 512],
      x: Array.from({ length: 8200 * 512 }, () => randInt(r, 0, 255)),
      wShape: [2, 512],
      w: Array.from({ length: 2 * 512 }, () => randInt(r, -127, 127)),
      yType: { dtype: "int8", scale: [4], zp: [0] },
      conv: undefined,
      cv: { ...conv.cv, rowBlocks: [171, 171, 170], inputRange: [12.75, 9, 6] },
    };
    expect(runAnalog(matmul)).toEqual(reference(matmul));
  });
});

describe("AnalogMvm in the exact profile (8-bit converters, bounds 1 and 10)", () => {
  // s_x = 2^−4 and r = 127·s_x make the DAC the identity (M_dac = 1), the digital multiplier is
  // qW·r·10/(qA·s_x) = 1270, and an int32 output of scale s_x·s_w requantizes by 1: y = B + 1270·a
  // with a = clamp(roundHalfEven(acc/1270), ±127).
  const sx = 2 ** -4;
  const exact = (k: number, x: number[], w: number[], rowBlocks = [k], bias?: number[]): Case => ({
    xShape: [x.length / k, k],
    x,
    xType: { dtype: "int8", scale: [sx], zp: [0] },
    wShape: [w.length / k, k],
    w,
    wType: { dtype: "int8", scale: [2 ** -6], zp: [0] },
    ...(bias ? { bias } : {}),
    yType: { dtype: "int32", scale: [2 ** -10], zp: [0] },
    cv: { rowBlocks, inputRange: rowBlocks.map(() => 127 * sx), weightBits: 8, dacBits: 8, dacBound: 1, adcBits: 8, adcBound: 10 },
  });
  const row = (v: number, k: number) => new Array<number>(k).fill(v);

  it("rounds acc/1270 half to even: 635 → 0, 1905 → 2, 3175 → 2, and the negatives", () => {
    // Row 0 of W is 127s, so acc = 635·x for a constant input x; row 1 gives acc = 127·x.
    const w = [...row(127, 5), -127, -127, 127, 127, 127];
    const x = [...row(1, 5), ...row(3, 5), ...row(5, 5), ...row(-1, 5), ...row(-3, 5), ...row(7, 5)];
    // acc row 0: 635, 1905, 3175, −635, −1905, 4445 → a = 0, 2, 2, 0, −2, 4 (3.5 → 4);
    // acc row 1: 127, 381, 635, −127, −381, 889 → a = 0, 0, 0, 0, 0, 1.
    expect(runAnalog(exact(5, x, w))).toEqual([0, 0, 2540, 0, 2540, 0, 0, 0, -2540, 0, 5080, 1270]);
  });

  it("saturates the ADC at ±127 and adds the bias after the blocks", () => {
    const c = exact(20, [...row(127, 20), ...row(-127, 20)], row(127, 20), [20], [7]);
    // acc = ±20·127·127 = ±322580 → ±254 before the clamp.
    expect(runAnalog(c)).toEqual([127 * 1270 + 7, -127 * 1270 + 7]);
  });

  it("converts each row block on its own: two blocks of 1905 give 2 + 2, one block of 3810 gives 3", () => {
    const x = row(3, 10);
    const w = row(127, 10);
    expect(runAnalog(exact(10, x, w, [5, 5]))).toEqual([4 * 1270]);
    expect(runAnalog(exact(10, x, w, [10]))).toEqual([3 * 1270]);
  });

  it("rounds the DAC half to even and clips it", () => {
    // W = 127·I and adc_bound 1 make the ADC code the DAC code itself: a = round(127·d·127/(127·127·1)) = d.
    const c = exact(4, [1, 3, 5, -127], [127, 0, 0, 0, 0, 127, 0, 0, 0, 0, 127, 0, 0, 0, 0, 127]);
    c.cv.adcBound = 1;
    c.cv.inputRange = [2 * 127 * sx];
    // M_dac = 1/2: d = 0.5 → 0, 1.5 → 2, 2.5 → 2, −63.5 → −64; M_dig = 127·r/(127·s_x) = 254.
    expect(runAnalog(c)).toEqual([0, 508, 508, -64 * 254]);
    c.cv.inputRange = [0.5 * 127 * sx];
    // M_dac = 2: d = 2, 6, 10, −254 → −127 (clipped); M_dig = 63.5, whose −8064.5 rounds toward +∞.
    expect(runAnalog(c)).toEqual([127, 381, 635, -8064]);
  });
});

describe("the worked example of docs/numerics-aimc.md", () => {
  it("gives 56 where the replaced Gemm gives 55", () => {
    const sx = Math.fround(0.02);
    const c: Case = {
      xShape: [1, 6],
      x: [180, 60, 255, 100, 20, 140],
      xType: { dtype: "uint8", scale: [sx], zp: [100] },
      wShape: [1, 6],
      w: [127, -64, 90, 5, 100, -127],
      wType: { dtype: "int8", scale: [0.01], zp: [0], axis: 0 },
      bias: [50],
      yType: { dtype: "int8", scale: [0.05], zp: [0] },
      cv: { rowBlocks: [3, 3], inputRange: [155 * sx, 155 * sx], weightBits: 8, dacBits: 8, dacBound: 1, adcBits: 8, adcBound: 10 },
    };
    // Block codes 17 and −8 give 50 + 17·1550 − 8·1550 = 14 000 against the plain accumulator 13 640.
    expect(runAnalog(c)).toEqual([56]);
    expect(reference(c)).toEqual([56]);
    expect(runCase(findOp("", "Gemm")!, "", c, { transB: int(1) })).toEqual([55]);
  });
});

describe("AnalogMvm with fine converters against the quantized Conv", () => {
  it("is within one output code of Conv.runInt with 16-bit converters, one block and no clipping", () => {
    const conv = findOp("", "Conv")!;
    let equal = 0;
    let total = 0;
    for (let seed = 1; total < 2000 && seed < 400; seed++) {
      const c = randomCase(seed);
      if (!c.conv) continue;
      const k = prod(c.wShape.slice(1));
      // The full input range with dac_bound 1 keeps |x_norm| ≤ 1, so the DAC cannot clip, and
      // adc_bound = K bounds |Σ w_norm·x_norm|, so neither can the ADC.
      const range = fullRange(c.xType.dtype, c.xType.scale[0]!, c.xType.zp[0]!);
      c.cv = { ...c.cv, rowBlocks: [k], inputRange: [range], dacBits: 16, dacBound: 1, adcBits: 16, adcBound: k };
      const analog = runAnalog(c);
      const digital = runCase(conv, "", c, { kernel_shape: ints(c.conv.kernel), strides: ints(c.conv.strides), pads: ints(c.conv.pads), dilations: ints(c.conv.dilations) });
      analog.forEach((v, i) => {
        expect(Math.abs(v - digital[i]!), `seed ${seed} output ${i}`).toBeLessThanOrEqual(1);
        if (v === digital[i]) equal++;
      });
      total += analog.length;
    }
    expect(total).toBeGreaterThanOrEqual(2000);
    expect(equal / total).toBeGreaterThan(0.95);
  });
});

describe("AnalogMvm attributes and operands", () => {
  const c = randomCase(11);
  const attrs = attrsOfCase(c);
  const refused = (patch: Record<string, Attr>, code: string, edit: (c: Case) => Case = (x) => x) =>
    expect(() => runAnalog(edit(structuredClone(c)), { ...attrs, ...patch })).toThrow(expect.objectContaining({ name: "HwacError", code }));

  it("refuses bad converter attributes (HW2020, HW2011)", () => {
    const k = prod(c.wShape.slice(1));
    refused({ row_blocks: ints([k + 1]), input_range: floats([1]) }, "HW2020");
    refused({ row_blocks: ints([k, 0]), input_range: floats([1, 1]) }, "HW2020");
    refused({ row_blocks: ints([k]), input_range: floats([1, 1]) }, "HW2020");
    refused({ row_blocks: ints([k]), input_range: floats([0]) }, "HW2020");
    refused({ dac_bits: int(1) }, "HW2020");
    refused({ adc_bits: int(17) }, "HW2020");
    refused({ weight_bits: int(0) }, "HW2020");
    refused({ adc_bound: float(-10) }, "HW2020");
    const { weight_bits: _, ...noBits } = attrs;
    expect(() => runAnalog(c, noBits)).toThrow(expect.objectContaining({ code: "HW2011" }));
  });

  it("refuses grouped or auto-padded convolutions and mismatched shapes (HW2020)", () => {
    const conv = convCase(2);
    const a = attrsOfCase(conv);
    expect(() => runAnalog(conv, { ...a, group: int(2) })).toThrow(expect.objectContaining({ code: "HW2020" }));
    expect(() => runAnalog(conv, { ...a, auto_pad: str("SAME_UPPER") })).toThrow(expect.objectContaining({ code: "HW2020" }));
    refused({}, "HW2020", (x) => ({ ...x, bias: [1, 2, 3, 4, 5, 6, 7, 8] }));
  });

  it("refuses weights with a zero point, a non-int32 bias, codes beyond ±qW and DAC ranges too small for s_x", () => {
    refused({}, "HW4070", (x) => ({ ...x, wType: { ...x.wType, zp: x.wType.zp.map(() => 1) } }));
    expect(() => {
      const n = node("AnalogMvm", "hwac", 3, attrs);
      const ctx: IntCtx = { node: n, attrs: attrsOf(n), opset: 21, runSubgraph: () => [], inTypes: [typeOf(c.xType, c.xShape), typeOf(c.wType, c.wShape)], outTypes: [typeOf(c.yType, outShape(c))] };
      AnalogMvm.runInt!([codes(c.xType.dtype, c.xShape, c.x), codes(c.wType.dtype, c.wShape, c.w), codes("int8", [c.wShape[0]!], [])], ctx);
    }).toThrow(expect.objectContaining({ code: "HW4071" }));
    refused({ weight_bits: int(3) }, "HW4075");
    refused({ input_range: floats(c.cv.inputRange.map(() => 1e-12)) }, "HW4074");
  });
});

describe("AnalogMvm type rule, float semantics and registration", () => {
  const infer = (attrs: Record<string, Attr>, x: TensorType, w: TensorType) => {
    const n = node("AnalogMvm", "hwac", 2, attrs);
    return AnalogMvm.inferTypes({ node: n, attrs: attrsOf(n), inputs: [x, w], consts: [], opset: 21, inferSubgraph: () => [] });
  };
  const cv = { row_blocks: ints([20, 7]), input_range: floats([1, 2]), weight_bits: int(8) };

  it("gives conv mode Conv's output shape and matmul mode [..., N]", () => {
    const conv = { ...cv, kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) };
    expect(infer(conv, { dtype: "float32", shape: ["N", 3, 8, 9] }, { dtype: "float32", shape: [4, 3, 3, 3] })).toEqual([{ dtype: "float32", shape: ["N", 4, 4, 5] }]);
    expect(infer(cv, { dtype: "float32", shape: ["B", 5, 27] }, { dtype: "float32", shape: [7, 27] })).toEqual([{ dtype: "float32", shape: ["B", 5, 7] }]);
    expect(() => infer(cv, { dtype: "float32", shape: [5, 26] }, { dtype: "float32", shape: [7, 26] })).toThrow(expect.objectContaining({ code: "HW2020" }));
    expect(() => infer(cv, { dtype: "float32", shape: [5, 27] }, { dtype: "float32", shape: [7, 26] })).toThrow(expect.objectContaining({ code: "HW2020" }));
  });

  it("computes the ideal layer in float: X·Wᵀ + B, and Conv's result in conv mode", () => {
    const n = node("AnalogMvm", "hwac", 3, { row_blocks: ints([2]), input_range: floats([1]), weight_bits: int(8) });
    const ctx = { node: n, attrs: attrsOf(n), opset: 21, runSubgraph: () => [] };
    const [y] = AnalogMvm.run([f32([2, 2], [1, 2, 3, 4]), f32([3, 2], [1, 0, 1, 1, 0, 2]), f32([3], [0.5, 0, -1])], ctx);
    expect(y!.shape).toEqual([2, 3]);
    expect(Array.from(y!.data as Float32Array)).toEqual([1.5, 3, 3, 3.5, 7, 7]);

    const c = convCase(2);
    const attrs = attrsOfCase(c);
    const x = f32(c.xShape, c.x.map((v) => v / 8));
    const w = f32(c.wShape, c.w.map((v) => v / 4));
    const convNode = node("Conv", "", 2, attrs);
    const analogNode = node("AnalogMvm", "hwac", 2, attrs);
    const [want] = findOp("", "Conv")!.run([x, w], { node: convNode, attrs: attrsOf(convNode), opset: 21, runSubgraph: () => [] });
    const [got] = AnalogMvm.run([x, w], { node: analogNode, attrs: attrsOf(analogNode), opset: 21, runSubgraph: () => [] });
    expect(got!.shape).toEqual(outShape(c));
    expect(numel(got!.shape)).toBeGreaterThan(0);
    expect(Array.from(got!.data as Float32Array)).toEqual(Array.from(want!.data as Float32Array));
  });

  it("runs inside a quantized model: verified, with runQuantized dispatching to its integer semantics", () => {
    const c = convCase(5);
    // A power-of-two input scale makes QuantizeLinear reproduce the case's codes exactly.
    c.xType.scale = [2 ** -5];
    c.bias ??= new Array<number>(c.wShape[0]!).fill(0);
    const y = outShape(c);
    const scalar = (dtype: DType, v: number) => codes(dtype, [], [v]);
    const graph: Graph = {
      name: "g",
      inputs: [{ name: "x", type: { dtype: "float32", shape: c.xShape } }],
      outputs: [{ name: "y", type: { dtype: "float32", shape: y } }],
      initializers: new Map<string, Tensor>([
        ["x_s", f32([], [2 ** -5])], ["x_z", scalar(c.xType.dtype, c.xType.zp[0]!)],
        ["w", codes(c.wType.dtype, c.wShape, c.w)], ["b", codes("int32", [c.wShape[0]!], c.bias)],
        ["y_s", f32([], c.yType.scale)], ["y_z", scalar(c.yType.dtype, c.yType.zp[0]!)],
      ]),
      nodes: [
        { op: "QuantizeLinear", domain: "", name: "quant", inputs: ["x", "x_s", "x_z"], outputs: ["xq"], attrs: {} },
        { op: "AnalogMvm", domain: "hwac", name: "layer0", inputs: ["xq", "w", "b"], outputs: ["yq"], attrs: attrsOfCase(c) },
        { op: "DequantizeLinear", domain: "", name: "dequant", inputs: ["yq", "y_s", "y_z"], outputs: ["y"], attrs: {} },
      ],
      valueTypes: new Map<string, TensorType>([
        ["xq", typeOf(c.xType, c.xShape)], ["w", typeOf(c.wType, c.wShape)], ["b", { dtype: "int32", shape: [c.wShape[0]!] }],
        ["yq", typeOf(c.yType, y)],
      ]),
    };
    const model: Model = { irVersion: 9, opsets: { "": 21, hwac: 1 }, producer: "test", graph };
    expect(verifyModel(model).types.get("yq")).toMatchObject({ dtype: c.yType.dtype, shape: y });
    const x = f32(c.xShape, c.x.map((v) => (v - c.xType.zp[0]!) * 2 ** -5));
    const env = runQuantized(model, { x }, { keepAll: true });
    expect(Array.from(env.get("yq")!.data as Int8Array)).toEqual(reference(c));
  });

  it("is registered under the hwac domain", () => {
    expect(findOp("hwac", "AnalogMvm")).toBe(AnalogMvm);
    expect(findOp("", "AnalogMvm")).toBeUndefined();
  });
});
