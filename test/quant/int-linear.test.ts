/**
 * Integer semantics of the linear and pooling ops (docs/numerics-linear.md). Each case builds a
 * tiny quantized model (float input → QuantizeLinear → op on codes → DequantizeLinear), runs it
 * with `runQuantized`, and checks the op's output codes against a direct model written here —
 * plain loops over the ONNX definitions, int32 wrap by BigInt, requantization by a BigInt shift —
 * then checks that the dequantized result is within half an output step of the float op run on
 * the dequantized operands. Input scales are powers of two so the float inputs quantize to
 * exactly the intended codes.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { intRange, type DType } from "../../ir/dtype.js";
import { HwacError } from "../../ir/errors.js";
import type { Attr, Graph, Model, Node, TensorType } from "../../ir/graph.js";
import { runQuantized } from "../../ir/interpret.js";
import { requantize, quantizeMultiplier } from "../../ir/numeric.js";
import { attrsOf } from "../../ir/op.js";
import { findOp } from "../../ir/ops/index.js";
import { requantizeChannels, requantizeIndexed, type Requant } from "../../ir/kernels/requant.js";
import { reshape, tensor, toNumbers, type Tensor } from "../../ir/tensor.js";
import { readInputs } from "../../src/io.js";
import { loadModel } from "../../src/onnx/load.js";
import { readTensorFile } from "../../src/onnx/tensor-proto.js";
import { defaultConfig } from "../../src/quant/config.js";
import { quantize } from "../../src/quant/index.js";
import { compareModels } from "../../src/quant/report.js";
import { FIXTURES } from "../helpers/fixtures.js";

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
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

// ---- The reference arithmetic ----

/** Two's complement wrap of an exact integer to int32. */
const wrap32 = (v: number) => Number(BigInt.asIntN(32, BigInt(v)));

/** SPEC.md §2 requantization with a BigInt product and shift, from the real multiplier. */
function refRequant(acc: number, real: number, zOut: number, lo: number, hi: number): number {
  const { m0, shift } = quantizeMultiplier(real);
  if (m0 === 0) return Math.min(hi, Math.max(lo, zOut));
  const t = BigInt(31 - shift);
  const v = Number((BigInt(acc) * BigInt(m0) + (1n << (t - 1n))) >> t);
  return Math.min(hi, Math.max(lo, zOut + v));
}

// ---- Quantized model construction ----

interface Q {
  dtype: DType;
  scale: number[];
  zp: number[];
  axis?: number;
}

const q1 = (dtype: DType, scale: number, zp = 0): Q => ({ dtype, scale: [Math.fround(scale)], zp: [zp] });

function typeOf(q: Q, shape: readonly number[] | null): TensorType {
  return {
    dtype: q.dtype,
    shape,
    quant: { scale: Float32Array.from(q.scale), zeroPoint: Int32Array.from(q.zp), ...(q.axis === undefined ? {} : { axis: q.axis }) },
  };
}

/** An activation input: its codes (fed as exact dequantized floats) and per-tensor type. */
interface Act {
  kind: "act";
  codes: Tensor;
  q: Q;
}

/** A constant input: weight or bias codes and their type. */
interface Const {
  kind: "const";
  codes: Tensor;
  q: Q;
}

type Operand = Act | Const | undefined;

const act = (dtype: DType, shape: number[], codes: ArrayLike<number>, scale: number, zp = 0): Act => ({
  kind: "act",
  codes: tensor(dtype, shape, fill(dtype, codes)),
  q: q1(dtype, scale, zp),
});
const cnst = (dtype: DType, shape: number[], codes: ArrayLike<number>, q: Omit<Q, "dtype">): Const => ({
  kind: "const",
  codes: tensor(dtype, shape, fill(dtype, codes)),
  q: { dtype, ...q },
});

function fill(dtype: DType, codes: ArrayLike<number>) {
  const t = tensor(dtype, [codes.length]);
  for (let i = 0; i < codes.length; i++) (t.data as Int32Array)[i] = codes[i]!;
  return t.data;
}

const scalarOf = (dtype: DType, v: number): Tensor => {
  const t = tensor(dtype, []);
  (t.data as Float32Array)[0] = v;
  return t;
};

/** float → QuantizeLinear → op → DequantizeLinear → float, with every quantized value typed. */
function quantModel(op: string, attrs: Record<string, Attr>, operands: Operand[], out: Q, nOut = 1): Model {
  const inits = new Map<string, Tensor>();
  const valueTypes = new Map<string, TensorType>();
  const nodes: Node[] = [];
  const inputs: Graph["inputs"][number][] = [];
  const names = operands.map((o, i) => {
    if (!o) return "";
    if (o.kind === "const") {
      inits.set(`c${i}`, o.codes);
      valueTypes.set(`c${i}`, typeOf(o.q, o.codes.shape));
      return `c${i}`;
    }
    inputs.push({ name: `in${i}`, type: { dtype: "float32", shape: o.codes.shape } });
    inits.set(`in${i}_s`, scalarOf("float32", o.q.scale[0]!));
    inits.set(`in${i}_z`, scalarOf(o.q.dtype, o.q.zp[0]!));
    nodes.push({ op: "QuantizeLinear", domain: "", name: `quant${i}`, inputs: [`in${i}`, `in${i}_s`, `in${i}_z`], outputs: [`q${i}`], attrs: {} });
    valueTypes.set(`q${i}`, typeOf(o.q, o.codes.shape));
    return `q${i}`;
  });
  const outputs = ["yq", "", ""].slice(0, nOut);
  nodes.push({ op, domain: "", name: "op", inputs: names, outputs, attrs });
  valueTypes.set("yq", typeOf(out, null));
  inits.set("y_s", scalarOf("float32", out.scale[0]!));
  inits.set("y_z", scalarOf(out.dtype, out.zp[0]!));
  nodes.push({ op: "DequantizeLinear", domain: "", name: "dequant", inputs: ["yq", "y_s", "y_z"], outputs: ["y"], attrs: {} });
  const graph: Graph = { name: "g", inputs, outputs: [{ name: "y", type: { dtype: "float32", shape: null } }], initializers: inits, nodes, valueTypes };
  return { irVersion: 9, opsets: { "": 21 }, producer: "test", graph };
}

/** Real values of codes under a per-tensor or per-axis type (float32, as a float model holds them). */
function dequant(t: Tensor, q: Q): Tensor {
  const out = tensor("float32", t.shape);
  const d = out.data as Float32Array;
  const inner = q.axis === undefined ? 1 : prod(t.shape.slice(q.axis + 1));
  const n = q.scale.length;
  for (let i = 0; i < d.length; i++) {
    const c = Math.floor(i / inner) % n;
    d[i] = q.scale[c]! * (Number(t.data[i]) - q.zp[c]!);
  }
  return out;
}

interface Ran {
  codes: number[];
  /** The float op on the dequantized operands. */
  float: number[];
  y: number[];
}

/** Runs the quantized model and the float op on the same real operands. */
function runBoth(op: string, attrs: Record<string, Attr>, operands: Operand[], out: Q): Ran {
  const model = quantModel(op, attrs, operands, out);
  const feeds = new Map<string, Tensor>();
  operands.forEach((o, i) => o?.kind === "act" && feeds.set(`in${i}`, dequant(o.codes, o.q)));
  const env = runQuantized(model, feeds, { keepAll: true });
  operands.forEach((o, i) => {
    // Power-of-two input scales: QuantizeLinear reproduces the intended codes exactly.
    if (o?.kind === "act") expect(Array.from(env.get(`q${i}`)!.data as Int8Array)).toEqual(Array.from(o.codes.data as Int8Array));
  });
  const node = model.graph.nodes.find((n) => n.name === "op")!;
  const def = findOp("", op)!;
  const real = operands.map((o) => (o ? (o.kind === "const" && o.q.dtype === "int32" ? dequantBias(o) : dequant(o.codes, o.q)) : undefined));
  const [yf] = def.run(real, { node, attrs: attrsOf(node), opset: 21, runSubgraph: () => [] });
  return {
    codes: Array.from(env.get("yq")!.data as Int8Array),
    float: Array.from(yf!.data as Float32Array),
    y: Array.from(env.get("y")!.data as Float32Array),
  };
}

/** A bias's real values: code · s_x·s_w[c] with its per-channel scale along its only axis. */
function dequantBias(o: Const): Tensor {
  return dequant(o.codes, { ...o.q, axis: o.q.scale.length > 1 ? 0 : undefined });
}

/** The dequantized result is the float result rounded to the output grid (half a step), clamped to its range. */
function expectNearFloat(r: Ran, out: Q): void {
  const [lo, hi] = intRange(out.dtype);
  const s = out.scale[0]!;
  const z = out.zp[0]!;
  let worst = 0;
  let big = 0;
  for (let i = 0; i < r.float.length; i++) {
    const f = Math.min(s * (hi - z), Math.max(s * (lo - z), r.float[i]!));
    worst = Math.max(worst, Math.abs(r.y[i]! - f));
    big = Math.max(big, Math.abs(r.float[i]!));
  }
  expect(worst).toBeLessThanOrEqual(0.5 * s + 1e-5 * big + 1e-9);
}

/** An output type whose step puts the largest |real accumulator| near `reach` codes. */
function outFor(dtype: DType, accReal: number[], reach: number, zp = 0): Q {
  const m = Math.max(1e-6, ...accReal.map(Math.abs));
  return q1(dtype, m / reach, zp);
}

const attrInts = (value: number[]): Attr => ({ kind: "ints", value });
const attrInt = (value: number): Attr => ({ kind: "int", value });
const attrFloat = (value: number): Attr => ({ kind: "float", value });

// ---- Direct models of the ops (2-D; a 1-D op is the 2-D one with a unit height) ----

interface Win2 {
  k: [number, number];
  s: [number, number];
  d: [number, number];
  /** [top, left, bottom, right] */
  p: [number, number, number, number];
}

function outSize(n: number, k: number, s: number, d: number, pb: number, pe: number, ceil = false): number {
  const room = n + pb + pe - ((k - 1) * d + 1);
  if (!ceil) return Math.floor(room / s) + 1;
  let o = Math.ceil(room / s) + 1;
  if ((o - 1) * s >= n + pb) o--;
  return o;
}

/** Conv accumulators: bias[o] + Σ (x − z_x)·w, padding = z_x, wrapped to int32; shape [N, M, OH, OW]. */
function refConv(x: Tensor, zx: number, w: Tensor, bias: number[] | undefined, group: number, win: Win2) {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [m, cg, kh, kw] = w.shape as [number, number, number, number];
  const oh = outSize(h, kh, win.s[0], win.d[0], win.p[0], win.p[2]);
  const ow = outSize(wd, kw, win.s[1], win.d[1], win.p[1], win.p[3]);
  const mg = m / group;
  const acc: number[] = [];
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < m; o++) {
      const g = Math.floor(o / mg);
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          let sum = bias ? bias[o]! : 0;
          for (let ci = 0; ci < cg; ci++) {
            const ch = g * cg + ci;
            for (let a = 0; a < kh; a++) {
              for (let e = 0; e < kw; e++) {
                const y = i * win.s[0] - win.p[0] + a * win.d[0];
                const xx = j * win.s[1] - win.p[1] + e * win.d[1];
                const v = y >= 0 && y < h && xx >= 0 && xx < wd ? Number(x.data[((b * c + ch) * h + y) * wd + xx]) : zx;
                sum += (v - zx) * Number(w.data[((o * cg + ci) * kh + a) * kw + e]);
              }
            }
          }
          acc.push(wrap32(sum));
        }
      }
    }
  }
  return { acc, shape: [n, m, oh, ow] };
}

/** ConvTranspose accumulators: bias[o] + the scatter of (x − z_x)·w; W is [C, M/group, kh, kw]. */
function refConvTranspose(x: Tensor, zx: number, w: Tensor, bias: number[] | undefined, group: number, win: Win2, outPad: [number, number]) {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [, mg, kh, kw] = w.shape as [number, number, number, number];
  const m = mg * group;
  const cg = c / group;
  const oh = win.s[0] * (h - 1) + outPad[0] + (kh - 1) * win.d[0] + 1 - win.p[0] - win.p[2];
  const ow = win.s[1] * (wd - 1) + outPad[1] + (kw - 1) * win.d[1] + 1 - win.p[1] - win.p[3];
  const sums = new Array<number>(n * m * oh * ow).fill(0);
  for (let b = 0; b < n; b++) for (let o = 0; o < m; o++) for (let p = 0; p < oh * ow; p++) sums[(b * m + o) * oh * ow + p] = bias ? bias[o]! : 0;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const g = Math.floor(ch / cg);
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < wd; j++) {
          const xv = Number(x.data[((b * c + ch) * h + i) * wd + j]) - zx;
          for (let jo = 0; jo < mg; jo++) {
            const o = g * mg + jo;
            for (let a = 0; a < kh; a++) {
              for (let e = 0; e < kw; e++) {
                const y = i * win.s[0] - win.p[0] + a * win.d[0];
                const xx = j * win.s[1] - win.p[1] + e * win.d[1];
                if (y < 0 || y >= oh || xx < 0 || xx >= ow) continue;
                sums[((b * m + o) * oh + y) * ow + xx] += xv * Number(w.data[((ch * mg + jo) * kh + a) * kw + e]);
              }
            }
          }
        }
      }
    }
  }
  return { acc: sums.map(wrap32), shape: [n, m, oh, ow] };
}

/** Pooling: per window the max code (lowest code when empty) or Σ (x − z_x) and the ONNX divisor. */
function refPool(x: Tensor, win: Win2, ceil: boolean, includePad: boolean) {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const oh = outSize(h, win.k[0], win.s[0], win.d[0], win.p[0], win.p[2], ceil);
  const ow = outSize(wd, win.k[1], win.s[1], win.d[1], win.p[1], win.p[3], ceil);
  const windows: { max: number; sum: (zx: number) => number; count: number }[] = [];
  for (let pl = 0; pl < n * c; pl++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const vals: number[] = [];
        let padded = 0;
        for (let a = 0; a < win.k[0]; a++) {
          for (let e = 0; e < win.k[1]; e++) {
            const y = i * win.s[0] - win.p[0] + a * win.d[0];
            const xx = j * win.s[1] - win.p[1] + e * win.d[1];
            if (y >= -win.p[0] && y < h + win.p[2] && xx >= -win.p[1] && xx < wd + win.p[3]) padded++;
            if (y >= 0 && y < h && xx >= 0 && xx < wd) vals.push(Number(x.data[(pl * h + y) * wd + xx]));
          }
        }
        windows.push({
          max: vals.length ? Math.max(...vals) : -Infinity,
          sum: (zx) => vals.reduce((s, v) => s + v - zx, 0),
          count: includePad ? padded : vals.length,
        });
      }
    }
  }
  return { windows, shape: [n, c, oh, ow] };
}

// ---- Random operands ----

function randCodes(r: () => number, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => randInt(r, lo, hi));
}

/** Per-channel symmetric weight scales, float32. */
function randScales(r: () => number, n: number): number[] {
  return Array.from({ length: n }, () => Math.fround(0.002 + 0.02 * r()));
}

interface ActSpec {
  dtype: DType;
  zp: number;
}

const ACT_TYPES: ActSpec[] = [
  { dtype: "int8", zp: -7 },
  { dtype: "uint8", zp: 131 },
  { dtype: "int16", zp: 0 },
  { dtype: "int8", zp: 127 },
  { dtype: "int4", zp: 0 },
];

function randAct(r: () => number, spec: ActSpec, shape: number[], scale = 2 ** -5): Act {
  const [lo, hi] = intRange(spec.dtype);
  const span = spec.dtype === "int16" ? 3000 : hi - lo;
  return act(spec.dtype, shape, randCodes(r, prod(shape), Math.max(lo, spec.zp - span), Math.min(hi, spec.zp + span)), scale, spec.zp);
}

// ---- Tests ----

describe("requantizeChannels / requantizeIndexed", () => {
  it("equal requantize element by element over the whole int32 range, every shift and the slow paths", () => {
    const r = rng(1);
    const n = 4000;
    const acc = Int32Array.from({ length: n }, (_, i) =>
      i < 4 ? [-2147483648, 2147483647, 0, -1][i]! : Math.floor((r() - 0.5) * 2 ** randInt(r, 1, 32)),
    );
    const channels = 64;
    // shift 30 … −31 covers t = 1 … 62 (t < 16 takes requantize itself); channel 5 has m0 = 0.
    const m0 = Int32Array.from({ length: channels }, (_, c) => (c === 5 ? 0 : 2 ** 30 + Math.floor(r() * 2 ** 30)));
    const shift = Int8Array.from({ length: channels }, (_, c) => 30 - c);
    for (const [dtype, zOut] of [["int8", -3], ["uint8", 128], ["int16", 11]] as const) {
      const [lo, hi] = intRange(dtype);
      const rq: Requant = { m0, shift, zOut, lo, hi };
      for (const inner of [1, 7, 125]) {
        const y = tensor(dtype, [n]).data as Int8Array;
        requantizeChannels(acc, y, rq, inner);
        const want = Array.from(acc, (v, i) => {
          const c = Math.floor(i / inner) % channels;
          return requantize(v, m0[c]!, shift[c]!, zOut, lo, hi);
        });
        expect(Array.from(y)).toEqual(want);
      }
      const index = Int32Array.from({ length: 50 }, () => randInt(r, 0, channels - 1));
      const y = tensor(dtype, [n]).data as Int8Array;
      requantizeIndexed(acc, y, rq, index);
      expect(Array.from(y)).toEqual(Array.from(acc, (v, i) => requantize(v, m0[index[i % 50]!]!, shift[index[i % 50]!]!, zOut, lo, hi)));
    }
  });

  it("matches the BigInt shift of SPEC.md §2 on hand-picked ties", () => {
    // M = 0.5: acc·M = k + 0.5 rounds toward +∞; M = 2^-31·m0 for m0 = 2^30 at shift 0.
    const rq: Requant = { m0: Int32Array.of(2 ** 30), shift: Int8Array.of(0), zOut: 0, lo: -128, hi: 127 };
    const y = new Int8Array(6);
    requantizeChannels(Int32Array.of(1, -1, 3, -3, 255, -257), y, rq, 1);
    expect(Array.from(y)).toEqual([1, 0, 2, -1, 127, -128]);
  });
});

describe("Conv on codes", () => {
  interface ConvCase {
    name: string;
    x: number[];
    c: number;
    m: number;
    group: number;
    k: [number, number];
    s: [number, number];
    d: [number, number];
    p: [number, number, number, number];
    bits: number;
    oneD?: boolean;
    autoPad?: string;
    bias?: boolean;
  }
  const cases: ConvCase[] = [
    { name: "3×3 pad 1, 5→7 channels", x: [1, 5, 7, 6], c: 5, m: 7, group: 1, k: [3, 3], s: [1, 1], d: [1, 1], p: [1, 1, 1, 1], bits: 8, bias: true },
    { name: "strided, asymmetric pads, batch 2", x: [2, 3, 9, 8], c: 3, m: 6, group: 1, k: [3, 2], s: [2, 3], d: [1, 1], p: [2, 0, 1, 1], bits: 8, bias: true },
    { name: "dilated, no bias", x: [1, 4, 10, 9], c: 4, m: 3, group: 1, k: [3, 3], s: [1, 2], d: [2, 3], p: [2, 3, 1, 0], bits: 8 },
    { name: "grouped (3 groups)", x: [1, 6, 6, 7], c: 6, m: 9, group: 3, k: [2, 3], s: [1, 1], d: [1, 1], p: [0, 1, 1, 1], bits: 8, bias: true },
    { name: "depthwise with pads", x: [2, 5, 7, 7], c: 5, m: 5, group: 5, k: [3, 3], s: [2, 1], d: [1, 2], p: [1, 2, 1, 2], bits: 8, bias: true },
    { name: "depthwise multiplier 2", x: [1, 3, 5, 6], c: 3, m: 6, group: 3, k: [3, 3], s: [1, 1], d: [1, 1], p: [1, 1, 1, 1], bits: 8, bias: true },
    { name: "1×1 direct", x: [1, 7, 5, 5], c: 7, m: 5, group: 1, k: [1, 1], s: [1, 1], d: [1, 1], p: [0, 0, 0, 0], bits: 8, bias: true },
    { name: "int4 weights", x: [1, 6, 8, 5], c: 6, m: 5, group: 1, k: [3, 3], s: [1, 1], d: [1, 1], p: [1, 1, 1, 1], bits: 4, bias: true },
    { name: "1-D, strided and dilated", x: [2, 3, 1, 17], c: 3, m: 5, group: 1, k: [1, 4], s: [1, 2], d: [1, 2], p: [0, 3, 0, 1], bits: 8, oneD: true, bias: true },
    { name: "auto_pad SAME_UPPER", x: [1, 3, 6, 7], c: 3, m: 4, group: 1, k: [3, 2], s: [2, 2], d: [1, 1], p: [0, 0, 1, 1], bits: 8, autoPad: "SAME_UPPER" },
  ];
  for (const [ci, cs] of cases.entries()) {
    for (const [ti, spec] of ACT_TYPES.entries()) {
      it(`${cs.name}, ${spec.dtype} activations (zero point ${spec.zp})`, () => {
        const r = rng(100 * ci + ti);
        const x = randAct(r, spec, cs.x);
        const wShape = [cs.m, cs.c / cs.group, ...cs.k];
        const wMax = 2 ** (cs.bits - 1) - 1;
        const sw = randScales(r, cs.m);
        const wq = cnst(cs.bits <= 4 ? "int4" : "int8", wShape, randCodes(r, prod(wShape), -wMax, wMax), { scale: sw, zp: sw.map(() => 0), axis: 0 });
        const sx = x.q.scale[0]!;
        const biasCodes = cs.bias ? randCodes(r, cs.m, -20000, 20000) : undefined;
        const b = biasCodes && cnst("int32", [cs.m], biasCodes, { scale: sw.map((s) => Math.fround(sx * s)), zp: sw.map(() => 0), axis: 0 });
        const { acc, shape } = refConv(x.codes, spec.zp, wq.codes, biasCodes, cs.group, cs);
        const planes = prod(shape.slice(2));
        const out = outFor("int8", acc.map((a, i) => a * sx * sw[Math.floor(i / planes) % cs.m]!), 100, 5);
        const attrs: Record<string, Attr> = cs.autoPad
          ? { auto_pad: { kind: "string", value: cs.autoPad }, strides: attrInts(cs.s), kernel_shape: attrInts(cs.k) }
          : { strides: attrInts(cs.s), dilations: attrInts(cs.d), pads: attrInts(cs.p), group: attrInt(cs.group) };
        let operands: Operand[] = [x, wq, b];
        if (cs.oneD) {
          // The same case as a 1-D convolution: drop the unit height everywhere.
          const flat = (t: Tensor) => reshape(t, [...t.shape.slice(0, 2), t.shape[3]!]);
          operands = [{ ...x, codes: flat(x.codes) }, { ...wq, codes: flat(wq.codes) }, b];
          attrs["strides"] = attrInts([cs.s[1]]);
          attrs["dilations"] = attrInts([cs.d[1]]);
          attrs["pads"] = attrInts([cs.p[1], cs.p[3]]);
        }
        const ran = runBoth("Conv", attrs, operands, out);
        const want = acc.map((a, i) => refRequant(a, (sx * sw[Math.floor(i / planes) % cs.m]!) / out.scale[0]!, out.zp[0]!, -128, 127));
        expect(ran.codes).toEqual(want);
        expectNearFloat(ran, out);
      });
    }
  }

  it("wraps int32 accumulators: a bias at the edge of int32 plus products overflows", () => {
    const r = rng(7);
    const x = act("int8", [1, 2, 4, 4], randCodes(r, 32, -128, -120), 2 ** -3, 127);
    const sw = [0.01, 0.02].map(Math.fround);
    const w = cnst("int8", [2, 2, 3, 3], randCodes(r, 36, -127, -120), { scale: sw, zp: [0, 0], axis: 0 });
    const biasCodes = [2147483000, -2147483000];
    const b = cnst("int32", [2], biasCodes, { scale: [0.00125, 0.0025], zp: [0, 0], axis: 0 });
    const win: Win2 = { k: [3, 3], s: [1, 1], d: [1, 1], p: [1, 1, 1, 1] };
    const { acc } = refConv(x.codes, 127, w.codes, biasCodes, 1, win);
    // (x − z) ≈ −250 and w ≈ −124: every product is ≈ +31000, so channel 0 passes 2^31 − 1 and wraps negative.
    expect(acc.slice(0, 16).every((a) => a < 0)).toBe(true);
    const out = q1("int8", 2 ** 14, 0);
    const ran = runBoth("Conv", { pads: attrInts(win.p) }, [x, w, b], out);
    const sx = 2 ** -3;
    expect(ran.codes).toEqual(acc.map((a, i) => refRequant(a, (sx * sw[Math.floor(i / 16)]!) / out.scale[0]!, 0, -128, 127)));
  });

  it("takes the quantized weight's zero point to be 0 and says so otherwise", () => {
    const x = act("int8", [1, 1, 3, 3], new Array(9).fill(1), 0.5);
    const w = cnst("int8", [1, 1, 1, 1], [3], { scale: [0.1], zp: [2], axis: 0 });
    expect(() => runBoth("Conv", {}, [x, w], q1("int8", 0.1))).toThrow(/zero point 0/);
    const b = cnst("int8", [1], [3], { scale: [0.1], zp: [0] });
    const w0 = cnst("int8", [1, 1, 1, 1], [3], { scale: [0.1], zp: [0], axis: 0 });
    expect(() => runBoth("Conv", {}, [x, w0, b], q1("int8", 0.1))).toThrow(/int32/);
  });

  it("refuses a multiplier of 2^30 or more", () => {
    const x = act("int8", [1, 1, 2, 2], [1, 2, 3, 4], 1);
    const w = cnst("int8", [1, 1, 1, 1], [3], { scale: [1], zp: [0], axis: 0 });
    expect(() => runBoth("Conv", {}, [x, w], q1("int8", 2 ** -31))).toThrow(HwacError);
  });
});

describe("ConvTranspose on codes", () => {
  const cases = [
    { name: "stride 2, pads, output_padding", x: [1, 3, 4, 5], c: 3, mg: 5, group: 1, k: [3, 3] as [number, number], s: [2, 2] as [number, number], d: [1, 1] as [number, number], p: [1, 0, 1, 1] as [number, number, number, number], op: [1, 0] as [number, number] },
    { name: "grouped and dilated", x: [2, 4, 3, 3], c: 4, mg: 3, group: 2, k: [2, 3] as [number, number], s: [1, 2] as [number, number], d: [2, 1] as [number, number], p: [0, 1, 1, 0] as [number, number, number, number], op: [0, 1] as [number, number] },
  ];
  for (const [ci, cs] of cases.entries()) {
    for (const spec of [ACT_TYPES[0]!, ACT_TYPES[1]!]) {
      it(`${cs.name}, ${spec.dtype} activations`, () => {
        const r = rng(500 + ci);
        const x = randAct(r, spec, cs.x);
        const wShape = [cs.c, cs.mg, ...cs.k];
        const sw = randScales(r, cs.mg);
        const w = cnst("int8", wShape, randCodes(r, prod(wShape), -127, 127), { scale: sw, zp: sw.map(() => 0), axis: 1 });
        const m = cs.mg * cs.group;
        const sx = x.q.scale[0]!;
        const biasCodes = randCodes(r, m, -5000, 5000);
        const b = cnst("int32", [m], biasCodes, { scale: biasCodes.map((_, o) => Math.fround(sx * sw[o % cs.mg]!)), zp: biasCodes.map(() => 0), axis: 0 });
        const { acc, shape } = refConvTranspose(x.codes, spec.zp, w.codes, biasCodes, cs.group, { ...cs }, cs.op);
        const planes = prod(shape.slice(2));
        const scaleOf = (i: number) => sx * sw[(Math.floor(i / planes) % m) % cs.mg]!;
        const out = outFor("int8", acc.map((a, i) => a * scaleOf(i)), 100, -3);
        const attrs = { strides: attrInts(cs.s), dilations: attrInts(cs.d), pads: attrInts(cs.p), group: attrInt(cs.group), output_padding: attrInts(cs.op) };
        const ran = runBoth("ConvTranspose", attrs, [x, w, b], out);
        expect(ran.codes).toEqual(acc.map((a, i) => refRequant(a, scaleOf(i) / out.scale[0]!, out.zp[0]!, -128, 127)));
        expectNearFloat(ran, out);
      });
    }
  }
});

describe("Gemm on codes", () => {
  for (const [transA, transB] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) {
    for (const spec of [ACT_TYPES[0]!, ACT_TYPES[1]!, ACT_TYPES[2]!]) {
      it(`transA ${transA}, transB ${transB}, ${spec.dtype} activations, per-channel weights`, () => {
        const r = rng(900 + transA * 2 + transB);
        const [m, k, n] = [5, 37, 6];
        const a = randAct(r, spec, transA ? [k, m] : [m, k]);
        const sw = randScales(r, n);
        const b = cnst("int8", transB ? [n, k] : [k, n], randCodes(r, k * n, -127, 127), { scale: sw, zp: sw.map(() => 0), axis: transB ? 0 : 1 });
        const sx = a.q.scale[0]!;
        const biasCodes = randCodes(r, n, -30000, 30000);
        const c = cnst("int32", [n], biasCodes, { scale: sw.map((s) => Math.fround(sx * s)), zp: sw.map(() => 0), axis: 0 });
        const at = (i: number, p: number) => Number(a.codes.data[transA ? p * m + i : i * k + p]) - spec.zp;
        const bt = (p: number, j: number) => Number(b.codes.data[transB ? j * k + p : p * n + j]);
        const acc: number[] = [];
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
          let s = biasCodes[j]!;
          for (let p = 0; p < k; p++) s += at(i, p) * bt(p, j);
          acc.push(wrap32(s));
        }
        const out = outFor("int8", acc.map((v, i) => v * sx * sw[i % n]!), 110, 9);
        const ran = runBoth("Gemm", { transA: attrInt(transA), transB: attrInt(transB) }, [a, b, c], out);
        expect(ran.codes).toEqual(acc.map((v, i) => refRequant(v, (sx * sw[i % n]!) / out.scale[0]!, out.zp[0]!, -128, 127)));
        expectNearFloat(ran, out);
      });
    }
  }

  it("int4 weights with one per-tensor scale", () => {
    const r = rng(950);
    const [m, k, n] = [3, 11, 5];
    const a = randAct(r, ACT_TYPES[0]!, [m, k]);
    const b = cnst("int4", [k, n], randCodes(r, k * n, -7, 7), { scale: [0.05], zp: [0], axis: 1 });
    const acc: number[] = [];
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (Number(a.codes.data[i * k + p]) + 7) * Number(b.codes.data[p * n + j]);
      acc.push(s);
    }
    const out = outFor("int8", acc.map((v) => v * 0.05 * 2 ** -5), 100);
    const ran = runBoth("Gemm", {}, [a, b], out);
    expect(ran.codes).toEqual(acc.map((v) => refRequant(v, (2 ** -5 * Math.fround(0.05)) / out.scale[0]!, 0, -128, 127)));
    expectNearFloat(ran, out);
  });

  it("wraps at K·max|x|·max|w| ≥ 2^31", () => {
    // 70000 products of (−128 − 127)·(−127) = 32385 sum to 2.27e9 > 2^31 − 1.
    const k = 70000;
    const a = act("int8", [1, k], new Array(k).fill(-128), 1, 127);
    const b = cnst("int8", [k, 2], new Array(2 * k).fill(-127), { scale: [0.5, 0.25], zp: [0, 0], axis: 1 });
    const exact = k * 255 * 127;
    expect(exact).toBeGreaterThan(2 ** 31);
    const acc = wrap32(exact);
    const out = q1("int8", 2 ** 24);
    const ran = runBoth("Gemm", {}, [a, b], out);
    expect(ran.codes).toEqual([refRequant(acc, 0.5 / 2 ** 24, 0, -128, 127), refRequant(acc, 0.25 / 2 ** 24, 0, -128, 127)]);
    expect(acc).toBeLessThan(0);
  });

  it("needs alpha and beta folded into the operands", () => {
    const a = act("int8", [1, 2], [1, 2], 1);
    const b = cnst("int8", [2, 1], [1, 1], { scale: [1], zp: [0], axis: 1 });
    expect(() => runBoth("Gemm", { alpha: attrFloat(2) }, [a, b], q1("int8", 1))).toThrow(/alpha = beta = 1/);
  });
});

describe("MatMul on codes", () => {
  /** numpy matmul of centered codes with broadcast batch, wrapped; shapes of rank ≥ 2. */
  function refMatMul(a: Tensor, za: number, b: Tensor, zb: number[]) {
    const [m, k] = a.shape.slice(-2) as [number, number];
    const n = b.shape.at(-1)!;
    const ab = a.shape.slice(0, -2);
    const bb = b.shape.slice(0, -2);
    const rank = Math.max(ab.length, bb.length);
    const pa = [...new Array(rank - ab.length).fill(1), ...ab];
    const pb = [...new Array(rank - bb.length).fill(1), ...bb];
    const batch = pa.map((d, i) => Math.max(d, pb[i]!));
    const acc: number[] = [];
    for (let t = 0; t < prod(batch); t++) {
      let ia = 0;
      let ib = 0;
      for (let d = 0, rest = t; d < rank; d++) {
        const size = prod(batch.slice(d + 1));
        const idx = Math.floor(rest / size);
        rest -= idx * size;
        ia = ia * pa[d]! + (pa[d] === 1 ? 0 : idx);
        ib = ib * pb[d]! + (pb[d] === 1 ? 0 : idx);
      }
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += (Number(a.data[ia * m * k + i * k + p]) - za) * (Number(b.data[ib * k * n + p * n + j]) - zb[zb.length === 1 ? 0 : j]!);
        acc.push(wrap32(s));
      }
    }
    return { acc, shape: [...batch, m, n] };
  }

  it("constant weights per output channel, batched A", () => {
    const r = rng(1200);
    const [k, n] = [19, 7];
    const a = randAct(r, ACT_TYPES[3]!, [2, 3, 4, k]);
    const sw = randScales(r, n);
    const b = cnst("int8", [k, n], randCodes(r, k * n, -127, 127), { scale: sw, zp: sw.map(() => 0), axis: 1 });
    const { acc } = refMatMul(a.codes, a.q.zp[0]!, b.codes, [0]);
    const sx = a.q.scale[0]!;
    const out = outFor("int8", acc.map((v, i) => v * sx * sw[i % n]!), 100, -20);
    const ran = runBoth("MatMul", {}, [a, b], out);
    expect(ran.codes).toEqual(acc.map((v, i) => refRequant(v, (sx * sw[i % n]!) / out.scale[0]!, out.zp[0]!, -128, 127)));
    expectNearFloat(ran, out);
  });

  it("two activations (attention scores) with broadcast batch and both zero points", () => {
    const r = rng(1300);
    const a = randAct(r, ACT_TYPES[0]!, [2, 1, 5, 6]);
    const bAct = randAct(r, { dtype: "uint8", zp: 90 }, [3, 6, 4], 2 ** -4);
    const { acc } = refMatMul(a.codes, a.q.zp[0]!, bAct.codes, [90]);
    const real = a.q.scale[0]! * bAct.q.scale[0]!;
    const out = outFor("int8", acc.map((v) => v * real), 120, 2);
    const ran = runBoth("MatMul", {}, [a, bAct], out);
    expect(ran.codes).toEqual(acc.map((v) => refRequant(v, real / out.scale[0]!, out.zp[0]!, -128, 127)));
    expectNearFloat(ran, out);
  });

  it("int16 activations against int4 weights, output int16", () => {
    const r = rng(1400);
    const [k, n] = [33, 5];
    const a = randAct(r, ACT_TYPES[2]!, [6, k], 2 ** -8);
    const sw = randScales(r, n);
    const b = cnst("int4", [k, n], randCodes(r, k * n, -7, 7), { scale: sw, zp: sw.map(() => 0), axis: 1 });
    const { acc } = refMatMul(a.codes, 0, b.codes, [0]);
    const sx = a.q.scale[0]!;
    const out = outFor("int16", acc.map((v, i) => v * sx * sw[i % n]!), 30000);
    const ran = runBoth("MatMul", {}, [a, b], out);
    expect(ran.codes).toEqual(acc.map((v, i) => refRequant(v, (sx * sw[i % n]!) / out.scale[0]!, 0, -32768, 32767)));
    expectNearFloat(ran, out);
  });

  it("refuses per-axis weights on an axis other than the output channels", () => {
    const a = act("int8", [2, 3], [1, 2, 3, 4, 5, 6], 1);
    const b = cnst("int8", [3, 2], [1, 2, 3, 4, 5, 6], { scale: [1, 1, 1], zp: [0, 0, 0], axis: 0 });
    expect(() => runBoth("MatMul", {}, [a, b], q1("int8", 1))).toThrow(/along axis 1 with 2 channels/);
  });
});

describe("pooling on codes", () => {
  const cases: { name: string; x: number[]; win: Win2; ceil?: boolean; includePad?: boolean }[] = [
    { name: "3×3 stride 2, pads", x: [1, 3, 7, 8], win: { k: [3, 3], s: [2, 2], d: [1, 1], p: [1, 1, 1, 1] } },
    { name: "count_include_pad", x: [2, 2, 6, 5], win: { k: [3, 2], s: [1, 2], d: [1, 1], p: [1, 1, 2, 0] }, includePad: true },
    { name: "ceil_mode with pads", x: [1, 5, 7, 7], win: { k: [3, 3], s: [2, 2], d: [1, 1], p: [1, 1, 1, 1] }, ceil: true, includePad: true },
    { name: "dilated", x: [1, 3, 9, 8], win: { k: [2, 3], s: [1, 1], d: [3, 2], p: [0, 2, 1, 1] } },
  ];
  for (const [ci, cs] of cases.entries()) {
    const attrs = (): Record<string, Attr> => ({
      kernel_shape: attrInts(cs.win.k), strides: attrInts(cs.win.s), dilations: attrInts(cs.win.d), pads: attrInts(cs.win.p),
      ceil_mode: attrInt(cs.ceil ? 1 : 0), count_include_pad: attrInt(cs.includePad ? 1 : 0),
    });
    it(`AveragePool ${cs.name}`, () => {
      for (const spec of [ACT_TYPES[0]!, ACT_TYPES[1]!, ACT_TYPES[3]!]) {
        const r = rng(1500 + ci);
        const x = randAct(r, spec, cs.x);
        const { windows } = refPool(x.codes, cs.win, !!cs.ceil, !!cs.includePad);
        const out = q1("int8", 2 ** -5 * 1.37, -4);
        const ran = runBoth("AveragePool", attrs(), [x], out);
        const real = (count: number) => x.q.scale[0]! / (count * out.scale[0]!);
        expect(ran.codes).toEqual(windows.map((w) => refRequant(w.sum(spec.zp), real(w.count), -4, -128, 127)));
        expectNearFloat(ran, out);
      }
    });
    it(`MaxPool ${cs.name}: the max of codes, padding never wins`, () => {
      const r = rng(1600 + ci);
      const x = act("int8", cs.x, randCodes(r, prod(cs.x), -128, -100), 2 ** -4, -3);
      const { windows } = refPool(x.codes, cs.win, !!cs.ceil, false);
      const ran = runBoth("MaxPool", attrs(), [x], x.q);
      expect(ran.codes).toEqual(windows.map((w) => w.max));
      expect(ran.y).toEqual(ran.float);
    });
  }

  it("a window lying wholly in the padding: MaxPool's lowest code, AveragePool's zero point", () => {
    const x = act("int8", [1, 1, 1, 2], [-5, -6], 0.5, 10);
    const attrs = { kernel_shape: attrInts([1, 2]), pads: attrInts([0, 0, 0, 3]) };
    expect(runBoth("MaxPool", attrs, [x], x.q).codes).toEqual([-5, -6, -128, -128]);
    // (−15 − 16)/2 = −15.5 rounds half up to −15; −16/1; then nothing to average.
    expect(runBoth("AveragePool", attrs, [x], x.q).codes).toEqual([-5, -6, 10, 10]);
  });

  it("GlobalAveragePool and GlobalMaxPool", () => {
    const r = rng(1700);
    const x = randAct(r, ACT_TYPES[1]!, [2, 3, 5, 7]);
    const out = q1("int8", 2 ** -6, 1);
    const ran = runBoth("GlobalAveragePool", {}, [x], out);
    const want: number[] = [];
    for (let pl = 0; pl < 6; pl++) {
      let s = 0;
      for (let i = 0; i < 35; i++) s += Number(x.codes.data[pl * 35 + i]) - 131;
      want.push(refRequant(s, 2 ** -5 / (35 * out.scale[0]!), 1, -128, 127));
    }
    expect(ran.codes).toEqual(want);
    expectNearFloat(ran, out);
    const mx = runBoth("GlobalMaxPool", {}, [x], x.q);
    const maxes = Array.from({ length: 6 }, (_, pl) => Math.max(...Array.from(x.codes.data.slice(pl * 35, pl * 35 + 35) as Uint8Array)));
    expect(mx.codes).toEqual(maxes);
  });
});

describe("end to end: digits-cnn", () => {
  for (const weightBits of [8, 4]) {
    it(`the integer model's top-1 accuracy stays within a point of the float model's (W${weightBits}A8)`, () => {
      const dir = join(FIXTURES, "trained", "digits-cnn");
      const model = loadModel(join(dir, "model.onnx"));
      const calib = [readInputs(join(dir, "calib"), model)];
      const test = [readInputs(join(dir, "test_data_set_0"), model)];
      const labels = [toNumbers(readTensorFile(join(dir, "test_data_set_0", "labels.pb")).tensor)];
      const q = quantize(model, calib, { config: defaultConfig({ weightBits }) });
      expect(q.fallbacks).toEqual([]);
      const { accuracy } = compareModels(q.float, q.model, q.quantizedValues, test, labels);
      // Measured: float 98.5 %, integer 98.5 % (W8A8) and 98.0 % (W4A8) on 400 digits.
      expect(accuracy!.float).toBeCloseTo(0.985, 3);
      expect(accuracy!.quantized).toBeGreaterThanOrEqual(accuracy!.float - 0.01);
    });
  }
});
