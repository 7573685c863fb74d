/**
 * The crossbar's converters as integers (docs/numerics-aimc.md, steps 1–5), shared by the ops
 * that model an analog in-memory-computing chip: hwac::AnalogMvm, and AnalogLSTM / AnalogGRU for
 * their gate products. For every position (a row of inputs) and every row block of the weight's
 * K inputs: a DAC turns x − z_x into codes of ±qD over the block's input range, the crossbar sums
 * W·d exactly, an ADC turns the sum into a code of ±qA, and a fixed-point multiplier scales that
 * code into int32 units of s_x·s_w[n]; the blocks' partial sums add into an int32 total.
 *
 * Steps 1 and 4 are lookups built once per node (X's codes are few, positions many), step 2 one
 * integer GEMM per row block, so a position costs no allocation.
 */
import type { Dim } from "../graph.js";
import { clamp, mulShiftRound, quantizeMultiplier, roundHalfEven, type FixedMultiplier } from "../numeric.js";
import { opError, type EvalCtx } from "../op.js";
import type { Tensor } from "../tensor.js";
import { view, type IntArray } from "./gemm.js";
import { igemmWasm } from "./wasm/gemm.js";

type Ctx = Pick<EvalCtx, "node" | "attrs">;

/** Largest matrix of codes or accumulators built at once (elements); more positions go in chunks. */
const CHUNK_LIMIT = 1 << 22;

/** How many positions of K inputs and N outputs to take at once. */
export function positionChunk(positions: number, k: number, n: number): number {
  return Math.max(1, Math.min(positions, Math.floor(CHUNK_LIMIT / Math.max(k, n))));
}

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

/** The names of one matrix's row-block attributes: AnalogMvm's, or a recurrent op's per matrix kind. */
export interface BlockAttrNames {
  readonly rowBlocks: string;
  readonly inputRange: string;
}

export const MVM_BLOCK_ATTRS: BlockAttrNames = { rowBlocks: "row_blocks", inputRange: "input_range" };

/** Reads and checks the converter attributes; `k` (W's inputs per output) when known. */
export function analogAttrs(ctx: Ctx, k: Dim | undefined, names: BlockAttrNames = MVM_BLOCK_ATTRS): AnalogAttrs {
  const rowBlocks = ctx.attrs.ints(names.rowBlocks);
  if (rowBlocks.length === 0 || rowBlocks.some((s) => !Number.isInteger(s) || s < 1)) {
    throw opError(ctx, `${names.rowBlocks} must be a non-empty list of positive sizes, got [${rowBlocks.join(", ")}]`);
  }
  const sum = rowBlocks.reduce((s, v) => s + v, 0);
  if (typeof k === "number" && sum !== k) {
    throw opError(ctx, `${names.rowBlocks} [${rowBlocks.join(", ")}] cover ${sum} inputs, but W has K = ${k} inputs per output`);
  }
  const inputRange = ctx.attrs.floats(names.inputRange);
  if (inputRange.length !== rowBlocks.length) {
    throw opError(ctx, `${names.inputRange} must have one entry per row block (${rowBlocks.length}), got ${inputRange.length}`);
  }
  if (inputRange.some((r) => !(r > 0) || !Number.isFinite(r))) {
    throw opError(ctx, `${names.inputRange} entries must be positive and finite, got [${inputRange.join(", ")}]`);
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

/** Step 4's real multiplier for row block b: units of s_x·s_w per ADC code, qW·r_b·adc_bound / (qA·s_x). */
export function digitalMultiplier(a: AnalogAttrs, sx: number, b: number): number {
  return (a.qW * a.inputRange[b]! * a.adcBound) / (a.qA * sx);
}

/**
 * Step 3's ratio, written as backends/aimc/tile.ts `converters` writes it so the two agree bit for
 * bit: ADC code = clamp(roundHalfEven(acc·num/den), ±qA).
 */
export function adcRatio(a: AnalogAttrs): { num: number; den: number } {
  return { num: a.qA * a.dacBound, den: a.qW * a.qD * a.adcBound };
}

function encode(ctx: Ctx, real: number, what: string, names: BlockAttrNames): FixedMultiplier {
  try {
    return quantizeMultiplier(real);
  } catch (e) {
    if (e instanceof RangeError) throw opError(ctx, `${what}: ${e.message}; ${names.inputRange} does not suit X's scale`, "HW4074");
    throw e;
  }
}

/** A crossbar holds int8 (or int4) codes within ±qW: qW programs g_max, a larger code has no conductance. */
export function checkWeights(ctx: Ctx, w: Tensor, qW: number, what = "W"): void {
  if (w.dtype !== "int8" && w.dtype !== "int4") throw opError(ctx, `${what} must be int8 or int4 codes, got ${w.dtype}`, "HW4075");
  const d = w.data as Int8Array;
  for (let i = 0; i < d.length; i++) {
    if (d[i]! > qW || d[i]! < -qW) throw opError(ctx, `${what} code ${d[i]} at ${i} is outside ±${qW}, the range weight_bits gives`, "HW4075");
  }
}

/** DAC codes of a chunk of positions, [K, positions]: int8 for DACs of 8 bits or fewer (SIMD GEMM), else int16. */
export type DacCodes = Int8Array | Int16Array;

/**
 * Steps 1–5 of one weight matrix's row blocks for inputs of one quantization (s_x, z_x) whose
 * codes lie in [lo, hi]. Step 1 is a table per row block: the DAC code of input k for code x is
 * `dac[rowOffset[k] + x]`. Step 4 is a table over the 2·qA + 1 ADC codes per row block, in
 * float64 so that a partial sum beyond int32 still wraps exactly when stored.
 */
export class AnalogBlocks {
  readonly k: number;
  private readonly dac: Int32Array;
  private readonly rowOffset: Int32Array;
  private readonly digital: Float64Array;
  private readonly num: number;
  private readonly den: number;

  constructor(ctx: Ctx, readonly a: AnalogAttrs, sx: number, readonly zx: number, lo: number, hi: number, names: BlockAttrNames = MVM_BLOCK_ATTRS) {
    const span = hi - lo + 1;
    this.k = a.rowBlocks.reduce((s, v) => s + v, 0);
    this.dac = new Int32Array(span * a.rowBlocks.length);
    this.rowOffset = new Int32Array(this.k);
    const codes = 2 * a.qA + 1;
    this.digital = new Float64Array(codes * a.rowBlocks.length);
    let k0 = 0;
    a.rowBlocks.forEach((size, b) => {
      const d = encode(ctx, dacMultiplier(a, sx, b), `row block ${b}'s DAC multiplier`, names);
      // (x − z_x)·m0 < 2^47 is exact, and so is the scaling by 2^−t.
      const inv = 2 ** -(31 - d.shift);
      for (let x = lo; x <= hi; x++) this.dac[b * span + x - lo] = clamp(roundHalfEven((x - zx) * d.m0 * inv), -a.qD, a.qD);
      this.rowOffset.fill(b * span - lo, k0, k0 + size);
      k0 += size;
      const g = encode(ctx, digitalMultiplier(a, sx, b), `row block ${b}'s digital multiplier`, names);
      for (let code = -a.qA; code <= a.qA; code++) this.digital[b * codes + a.qA + code] = mulShiftRound(code, g.m0, g.shift);
    });
    ({ num: this.num, den: this.den } = adcRatio(a));
  }

  /** A buffer for the DAC codes of `positions` positions. */
  codeBuffer(positions: number): DacCodes {
    return this.a.qD <= 127 ? new Int8Array(this.k * positions) : new Int16Array(this.k * positions);
  }

  /** Step 1 on a [K, np] matrix of raw codes (im2col's layout) into `codes`. */
  columnCodes(raw: IntArray, np: number, codes: DacCodes): void {
    const { dac, rowOffset } = this;
    for (let r = 0; r < this.k; r++) {
      const off = rowOffset[r]!;
      for (let i = r * np, end = i + np; i < end; i++) codes[i] = dac[off + raw[i]!]!;
    }
  }

  /** Step 1 on rows [p0, p0 + np) of a row-major [positions, K] matrix, transposed into `codes` [K, np]. */
  rowCodes(src: IntArray, p0: number, np: number, codes: DacCodes): void {
    const { dac, rowOffset, k } = this;
    for (let p = 0; p < np; p++) {
      const at = (p0 + p) * k;
      for (let r = 0; r < k; r++) codes[r * np + p] = dac[rowOffset[r]! + src[at + r]!]!;
    }
  }

  /**
   * Steps 2–5 for np positions: per row block the crossbar's sums as an integer GEMM of W (n rows
   * of pitch K) by the block's codes into `acc` (n·np), then the ADC and digital scaling added
   * into total[base + c·cStride + p·pStride], whose Int32Array stores wrap like step 5's sum.
   */
  addBlocks(w: Int8Array, n: number, codes: DacCodes, np: number, acc: Int32Array, total: Int32Array, base: number, cStride: number, pStride: number): void {
    const { a, digital, num, den, k } = this;
    const qA = a.qA;
    const span = 2 * qA + 1;
    let k0 = 0;
    for (let b = 0; b < a.rowBlocks.length; b++) {
      const size = a.rowBlocks[b]!;
      igemmWasm(n, np, size, view(w, k0, k), view(codes, k0 * np, np), view(acc, 0, np));
      const zero = b * span + qA;
      for (let c = 0; c < n; c++) {
        let t = base + c * cStride;
        for (let i = c * np, end = i + np; i < end; i++, t += pStride) {
          const code = clamp(roundHalfEven((acc[i]! * num) / den), -qA, qA);
          total[t] += digital[zero + code]!;
        }
      }
      k0 += size;
    }
  }
}

/**
 * Steps 1–5 of a matmul by a fixed weight W [n, K] over the rows of a [positions, K] code matrix,
 * adding into total [positions, n]; positions are taken `chunk` at a time into buffers made once.
 */
export class AnalogMatmul {
  private readonly codes: DacCodes;
  private readonly acc: Int32Array;

  constructor(
    private readonly blocks: AnalogBlocks,
    private readonly w: Int8Array,
    private readonly n: number,
    private readonly chunk: number,
  ) {
    this.codes = blocks.codeBuffer(chunk);
    this.acc = new Int32Array(n * chunk);
  }

  add(src: IntArray, positions: number, total: Int32Array): void {
    const { blocks, chunk, codes, acc, n } = this;
    for (let p0 = 0; p0 < positions; p0 += chunk) {
      const np = Math.min(chunk, positions - p0);
      blocks.rowCodes(src, p0, np, codes);
      blocks.addBlocks(this.w, n, codes, np, acc, total, p0 * n, 1, n);
    }
  }
}
