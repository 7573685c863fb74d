/**
 * hwac::AnalogMvm: a group-1 Conv, or a matmul by a constant [N, K] weight, as an analog
 * in-memory-computing chip computes it (SPEC.md §4, docs/numerics-aimc.md). The AIMC target puts
 * one of these in place of every quantized layer that goes onto crossbars, so the integer
 * reference of its graph models the chip's converters.
 *
 * Conv mode (kernel_shape present): X [batch, C, spatial…], W [M, C, k…] → Y [batch, M, out…].
 * Matmul mode: X [..., K], W [N, K] → Y [..., N].
 *
 * Integer semantics: the K inputs of every output position are split into row blocks; per block,
 * a DAC turns x − z_x into codes of ±qD over the block's input range, the crossbar sums W·d exactly,
 * an ADC turns the sum into a code of ±qA, and a fixed-point multiplier scales that code into int32
 * units of s_x·s_w[n]. The blocks' partial sums add to the bias in ascending block order, and the
 * total is requantized as the replaced Conv/Gemm would requantize its accumulator.
 * Float semantics: the ideal layer (float Conv or X·Wᵀ, plus B).
 */
import { intRange, type DType } from "../dtype.js";
import type { Dim, TensorType } from "../graph.js";
import { convKernel, forwardShape, forwardWindow, readWindowAttrs, spatialRank, windowPositions, type Window } from "../kernels/conv-geometry.js";
import { finishResult, floatData, floatResult, sgemm, view, type IntArray } from "../kernels/gemm.js";
import { fillChannels, im2col } from "../kernels/im2col.js";
import { QUANT_DTYPES } from "../kernels/quantize.js";
import { convParams, requantizeChannels } from "../kernels/requant.js";
import { igemmWasm } from "../kernels/wasm/gemm.js";
import { clamp, mulShiftRound, quantizeMultiplier, roundHalfEven, type FixedMultiplier } from "../numeric.js";
import { need, needType, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { perTensor } from "../quant-params.js";
import { numel, tensor, type Tensor } from "../tensor.js";
import { Conv } from "./Conv.js";

/** Largest im2col matrix built at once (elements); longer outputs are processed in position chunks. */
const COL_LIMIT = 1 << 22;

type Ctx = Pick<EvalCtx, "node" | "attrs">;

/** The converter attributes of a node, checked. */
export interface AnalogAttrs {
  /** Sizes of the row blocks of W's K inputs, in order. */
  readonly rowBlocks: readonly number[];
  /** r_b: each row block's DAC full scale, in float units of X. */
  readonly inputRange: readonly number[];
  /** Levels each side, 2^(bits − 1) − 1, of weight_bits (the code programming g_max), dac_bits and adc_bits. */
  readonly qW: number;
  readonly qD: number;
  readonly qA: number;
  readonly dacBound: number;
  readonly adcBound: number;
}

/** Reads and checks the converter attributes; `k` (W's inputs per output) when known. */
export function analogAttrs(ctx: Ctx, k: Dim | undefined): AnalogAttrs {
  const rowBlocks = ctx.attrs.ints("row_blocks");
  if (rowBlocks.length === 0 || rowBlocks.some((s) => !Number.isInteger(s) || s < 1)) {
    throw opError(ctx, `row_blocks must be a non-empty list of positive sizes, got [${rowBlocks.join(", ")}]`);
  }
  const sum = rowBlocks.reduce((s, v) => s + v, 0);
  if (typeof k === "number" && sum !== k) {
    throw opError(ctx, `row_blocks [${rowBlocks.join(", ")}] cover ${sum} inputs, but W has K = ${k} inputs per output`);
  }
  const inputRange = ctx.attrs.floats("input_range");
  if (inputRange.length !== rowBlocks.length) {
    throw opError(ctx, `input_range must have one entry per row block (${rowBlocks.length}), got ${inputRange.length}`);
  }
  if (inputRange.some((r) => !(r > 0) || !Number.isFinite(r))) {
    throw opError(ctx, `input_range entries must be positive and finite, got [${inputRange.join(", ")}]`);
  }
  return {
    rowBlocks,
    inputRange,
    qW: levels(ctx, "weight_bits"),
    qD: levels(ctx, "dac_bits", 8),
    qA: levels(ctx, "adc_bits", 8),
    dacBound: bound(ctx, "dac_bound", 1),
    adcBound: bound(ctx, "adc_bound", 10),
  };
}

function levels(ctx: Ctx, name: string, dflt?: number): number {
  const bits = ctx.attrs.int(name, dflt);
  if (!Number.isInteger(bits) || bits < 2 || bits > 16) throw opError(ctx, `${name} must be an integer from 2 to 16, got ${bits}`);
  return 2 ** (bits - 1) - 1;
}

function bound(ctx: Ctx, name: string, dflt: number): number {
  const v = ctx.attrs.float(name, dflt);
  if (!(v > 0) || !Number.isFinite(v)) throw opError(ctx, `${name} must be positive and finite, got ${v}`);
  return v;
}

/** Step 1's real multiplier for row block b: DAC codes per unit of x − z_x, s_x·qD / (r_b·dac_bound). */
export function dacMultiplier(a: AnalogAttrs, sx: number, b: number): number {
  return (sx * a.qD) / (a.inputRange[b]! * a.dacBound);
}

/**
 * Step 4's real multiplier for row block b: units of s_x·s_w per ADC code, qW·r_b·adc_bound / (qA·s_x),
 * times a drift compensation factor α (1 in the reference; the AIMC interpreter passes its own).
 */
export function digitalMultiplier(a: AnalogAttrs, sx: number, b: number, alpha = 1): number {
  return (a.qW * a.inputRange[b]! * a.adcBound * alpha) / (a.qA * sx);
}

/**
 * Step 3's ratio, written as backends/aimc/tile.ts `converters` writes it so the two agree bit for
 * bit: ADC code = clamp(roundHalfEven(acc·num/den), ±qA).
 */
export function adcRatio(a: AnalogAttrs): { num: number; den: number } {
  return { num: a.qA * a.dacBound, den: a.qW * a.qD * a.adcBound };
}

function encode(ctx: Ctx, real: number, what: string): FixedMultiplier {
  try {
    return quantizeMultiplier(real);
  } catch (e) {
    if (e instanceof RangeError) throw opError(ctx, `${what}: ${e.message}; input_range does not suit X's scale`, "HW4074");
    throw e;
  }
}

function isConv(ctx: Ctx): boolean {
  return ctx.attrs.has("kernel_shape");
}

function product(dims: readonly Dim[]): Dim {
  return dims.every((d) => typeof d === "number") ? numel(dims as number[]) : "?";
}

/** Checks X and W against the node's mode; returns K and Y's shape ("?" where unknown). */
function shapes(ctx: Ctx, x: readonly Dim[], w: readonly Dim[]): { k: Dim; out: Dim[] } {
  if (isConv(ctx)) {
    const group = ctx.attrs.int("group", 1);
    if (group !== 1) throw opError(ctx, `only group-1 convolutions map onto crossbars, got group ${group}`);
    const autoPad = ctx.attrs.string("auto_pad", "NOTSET") || "NOTSET";
    if (autoPad !== "NOTSET") throw opError(ctx, `pads must be explicit, got auto_pad ${autoPad}`);
    const rank = spatialRank(ctx, x.length);
    const kernel = convKernel(ctx, w, rank)!;
    if (typeof x[1] === "number" && typeof w[1] === "number" && x[1] !== w[1]) {
      throw opError(ctx, `X has ${x[1]} channels but W is [${w.join(", ")}]: W must be [M, ${x[1]}, …]`);
    }
    return { k: product(w.slice(1)), out: forwardShape(readWindowAttrs(ctx, rank, kernel), x, w[0]!) };
  }
  if (w.length !== 2) throw opError(ctx, `in matmul mode W must be [N, K], got rank ${w.length}`);
  if (x.length === 0) throw opError(ctx, "in matmul mode X must be [..., K], got a scalar");
  const k = x[x.length - 1]!;
  if (typeof k === "number" && typeof w[1] === "number" && k !== w[1]) {
    throw opError(ctx, `X has K = ${k} inputs but W is [${w.join(", ")}]: W must be [N, ${k}]`);
  }
  return { k: w[1]!, out: [...x.slice(0, -1), w[0]!] };
}

export const AnalogMvm: OpDef = {
  op: "AnalogMvm",
  domain: "hwac",

  inferTypes(ctx: TypeCtx): TensorType[] {
    const x = needType(ctx, 0);
    const w = needType(ctx, 1);
    if (!x.shape || !w.shape) {
      analogAttrs(ctx, undefined);
      return [{ dtype: x.dtype, shape: null }];
    }
    const { k, out } = shapes(ctx, x.shape, w.shape);
    analogAttrs(ctx, k);
    const b = ctx.inputs[2]?.shape;
    if (b && (b.length !== 1 || (typeof b[0] === "number" && typeof w.shape[0] === "number" && b[0] !== w.shape[0]))) {
      throw opError(ctx, `B must have shape [${w.shape[0]}], got [${b.join(", ")}]`);
    }
    // In a quantized graph the declared (quantized) output type is used; the rule only sets the shape.
    return [{ dtype: x.dtype, shape: out }];
  },

  run(inputs, ctx): Tensor[] {
    const l = layout(inputs, ctx);
    analogAttrs(ctx, l.k);
    if (l.win) return Conv.run(inputs, ctx);
    const y = floatResult(l.x.dtype, l.positions * l.n);
    if (l.bias) fillChannels(y, floatData(l.bias), 1);
    sgemm(l.positions, l.n, l.k, view(floatData(l.x), 0, l.k), view(floatData(l.w), 0, l.k, true), view(y, 0, l.n), {
      accumulate: l.bias !== undefined,
    });
    return [finishResult(l.x.dtype, l.outShape, y)];
  },

  runInt(inputs, ctx): Tensor[] {
    const l = layout(inputs, ctx);
    const a = analogAttrs(ctx, l.k);
    if (!QUANT_DTYPES.has(l.x.dtype)) throw opError(ctx, `X must hold quantized codes (${[...QUANT_DTYPES].join(", ")}), got ${l.x.dtype}`, "HW4001");
    if (l.bias && l.bias.dtype !== "int32") throw opError(ctx, `B must be int32 codes, got ${l.bias.dtype}`, "HW4071");
    checkWeights(ctx, l.w, a.qW);
    const q = convParams(ctx.inTypes[0], ctx.inTypes[1], ctx.outTypes[0], 0, l.n, "AnalogMvm");
    const sx = perTensor(ctx.inTypes[0], "AnalogMvm's input").scale;
    const inner = l.win ? l.positions : 1;
    const total = new Int32Array(l.images * l.n * l.positions);
    if (l.bias) fillChannels(total, l.bias.data as Int32Array, inner);
    accumulateBlocks(l, a, dacTable(ctx, a, sx, q.aZero, l.x.dtype, l.k), digitalTable(ctx, a, sx), total);
    const y = tensor(ctx.outTypes[0]!.dtype, l.outShape);
    requantizeChannels(total, y.data as IntArray, q.requant, inner);
    return [y];
  },
};

/** The node's operands and how its output positions are laid out. */
interface Layout {
  readonly x: Tensor;
  readonly w: Tensor;
  readonly bias: Tensor | undefined;
  /** Inputs per output (W's row length) and outputs per position. */
  readonly k: number;
  readonly n: number;
  /** Conv: the batch and the output grid; matmul: one image whose positions are X's rows. */
  readonly images: number;
  readonly positions: number;
  /** Conv mode's window; undefined in matmul mode. */
  readonly win: Window | undefined;
  readonly outShape: readonly number[];
}

function layout(inputs: readonly (Tensor | undefined)[], ctx: EvalCtx): Layout {
  const x = need(inputs, 0, ctx);
  const w = need(inputs, 1, ctx);
  const bias = inputs[2];
  const s = shapes(ctx, x.shape, w.shape);
  const k = s.k as number;
  const n = w.shape[0]!;
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== n)) throw opError(ctx, `B must have shape [${n}], got [${bias.shape.join(", ")}]`);
  const outShape = s.out as number[];
  if (!isConv(ctx)) return { x, w, bias, k, n, images: 1, positions: numel(x.shape.slice(0, -1)), win: undefined, outShape };
  const rank = x.shape.length - 2;
  const win = forwardWindow(readWindowAttrs(ctx, rank, convKernel(ctx, w.shape, rank)!), x.shape.slice(2));
  return { x, w, bias, k, n, images: x.shape[0]!, positions: windowPositions(win), win, outShape };
}

/** A crossbar holds int8 (or int4) codes within ±qW: qW programs g_max, a larger code has no conductance. */
function checkWeights(ctx: Ctx, w: Tensor, qW: number): void {
  if (w.dtype !== "int8" && w.dtype !== "int4") throw opError(ctx, `W must be int8 or int4 codes, got ${w.dtype}`, "HW4075");
  const d = w.data as Int8Array;
  for (let i = 0; i < d.length; i++) {
    if (d[i]! > qW || d[i]! < -qW) throw opError(ctx, `W code ${d[i]} at ${i} is outside ±${qW}, the range weight_bits gives`, "HW4075");
  }
}

/**
 * Step 1 as a lookup, since X's codes are few and its positions many: the DAC code of input k for
 * code x is `table[rowOffset[k] + x]`, one stretch of the table per row block. Padding reads `zx`.
 */
interface DacTable {
  readonly table: Int32Array;
  readonly rowOffset: Int32Array;
  readonly zx: number;
}

function dacTable(ctx: Ctx, a: AnalogAttrs, sx: number, zx: number, dtype: DType, k: number): DacTable {
  const [lo, hi] = intRange(dtype);
  const span = hi - lo + 1;
  const table = new Int32Array(span * a.rowBlocks.length);
  const rowOffset = new Int32Array(k);
  let k0 = 0;
  a.rowBlocks.forEach((size, b) => {
    const { m0, shift } = encode(ctx, dacMultiplier(a, sx, b), `row block ${b}'s DAC multiplier`);
    // (x − z_x)·m0 < 2^47 is exact, and so is the scaling by 2^−t.
    const inv = 2 ** -(31 - shift);
    for (let x = lo; x <= hi; x++) table[b * span + x - lo] = clamp(roundHalfEven((x - zx) * m0 * inv), -a.qD, a.qD);
    rowOffset.fill(b * span - lo, k0, k0 + size);
    k0 += size;
  });
  return { table, rowOffset, zx };
}

/**
 * Step 4 as a lookup over the 2·qA + 1 ADC codes, per row block: entry b·(2qA + 1) + qA + a is
 * mulShiftRound(a, M_dig,b). Float64, so a partial sum beyond int32 still wraps exactly when added.
 */
function digitalTable(ctx: Ctx, a: AnalogAttrs, sx: number): Float64Array {
  const span = 2 * a.qA + 1;
  const table = new Float64Array(span * a.rowBlocks.length);
  a.rowBlocks.forEach((_, b) => {
    const { m0, shift } = encode(ctx, digitalMultiplier(a, sx, b), `row block ${b}'s digital multiplier`);
    for (let code = -a.qA; code <= a.qA; code++) table[b * span + a.qA + code] = mulShiftRound(code, m0, shift);
  });
  return table;
}

/**
 * Steps 1–5 over every image and chunk of positions: the chunk's DAC codes as a [K, positions]
 * matrix, then per row block the crossbar's sums as an integer GEMM, the ADC and the digital
 * scaling added into `total` ([images, N, positions] in conv mode, [positions, N] in matmul mode),
 * whose Int32Array stores wrap like step 5's int32 sum.
 */
function accumulateBlocks(l: Layout, a: AnalogAttrs, dac: DacTable, digital: Float64Array, total: Int32Array): void {
  const { k, n, images, positions, win } = l;
  const wd = l.w.data as Int8Array;
  const chunk = Math.max(1, Math.min(positions, Math.floor(COL_LIMIT / k)));
  // DAC codes of 8 bits or fewer fit int8, which the WebAssembly GEMM multiplies with SIMD.
  const codes = a.qD <= 127 ? new Int8Array(k * chunk) : new Int16Array(k * chunk);
  const raw = win ? new ((l.x.data as IntArray).constructor as new (len: number) => IntArray)(k * chunk) : undefined;
  const acc = new Int32Array(n * chunk);
  const { num, den } = adcRatio(a);
  const qA = a.qA;
  const span = 2 * qA + 1;
  const step = win ? 1 : n;
  for (let img = 0; img < images; img++) {
    for (let p0 = 0; p0 < positions; p0 += chunk) {
      const np = Math.min(chunk, positions - p0);
      dacCodes(l, dac, img, p0, np, codes, raw);
      let k0 = 0;
      for (let b = 0; b < a.rowBlocks.length; b++) {
        const size = a.rowBlocks[b]!;
        igemmWasm(n, np, size, view(wd, k0, k), view(codes, k0 * np, np), view(acc, 0, np));
        const zero = b * span + qA;
        for (let c = 0; c < n; c++) {
          let t = win ? (img * n + c) * positions + p0 : p0 * n + c;
          for (let i = c * np, end = i + np; i < end; i++, t += step) {
            const code = clamp(roundHalfEven((acc[i]! * num) / den), -qA, qA);
            total[t] += digital[zero + code]!;
          }
        }
        k0 += size;
      }
    }
  }
}

/**
 * codes[r·np + p] = the DAC code of input r at position p0 + p of image `img`: conv mode reads the
 * window through im2col into `raw` (padding reads z_x, whose code is 0), matmul mode X's rows.
 */
function dacCodes(l: Layout, dac: DacTable, img: number, p0: number, np: number, codes: Int8Array | Int16Array, raw: IntArray | undefined): void {
  const { k, win } = l;
  const xd = l.x.data as IntArray;
  const { table, rowOffset } = dac;
  if (win && raw) {
    const channels = l.x.shape[1]!;
    im2col(xd, img * channels * numel(win.inShape), channels, win, raw, p0, np, { pad: dac.zx, offset: 0 });
    for (let r = 0; r < k; r++) {
      const off = rowOffset[r]!;
      for (let i = r * np, end = i + np; i < end; i++) codes[i] = table[off + raw[i]!]!;
    }
    return;
  }
  for (let p = 0; p < np; p++) {
    const src = (p0 + p) * k;
    for (let r = 0; r < k; r++) codes[r * np + p] = table[rowOffset[r]! + xd[src + r]!]!;
  }
}
