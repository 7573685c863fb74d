/**
 * Requantization of int32 accumulators into output codes (SPEC.md §2), and the parameters of the
 * linear and pooling ops (Conv, ConvTranspose, Gemm, MatMul, AveragePool, GlobalAveragePool),
 * derived from their quantized types by the functions exported here so that a backend's lowering
 * stores exactly the numbers the reference uses (docs/numerics-linear.md).
 *
 * The loops apply `requantize` of numeric.ts bit for bit. They hoist its per-multiplier constants:
 * with t = 31 − shift ≥ 16, m0 = mHi·2^16 + mLo and the rounding constant 2^(t−1) = rHi·2^16 + rLo,
 * y = floor((acc·mHi + rHi + floor((acc·mLo + rLo)/2^16)) / 2^(t−16)), every term an exact float64
 * (|acc·mLo| < 2^47) and each division an exact multiplication by a power of two. Multipliers of
 * 2^15 or more (t < 16) take `requantize` itself; no linear layer has them.
 */
import { HwacError } from "../errors.js";
import type { TensorType } from "../graph.js";
import { requantize } from "../numeric.js";
import { encodeMultipliers, perTensor, productMultipliers, quantOf, type Multipliers } from "../quant-params.js";
import type { IntArray } from "./gemm.js";

/** Multipliers (one, or one per channel), the output zero point and the clamp of the output type. */
export interface Requant extends Multipliers {
  readonly zOut: number;
  readonly lo: number;
  readonly hi: number;
}

/**
 * Multipliers from `encode`, with the requantization's zero point and clamp from `y`. A multiplier
 * `quantizeMultiplier` refuses (2^30 or more) means the output scale is far too small.
 */
function requantOf(encode: () => Multipliers, y: TensorType | undefined, what: string): Requant {
  const out = perTensor(y, `${what}'s output`);
  try {
    return { ...encode(), zOut: out.zp, lo: out.lo, hi: out.hi };
  } catch (e) {
    if (e instanceof RangeError) throw new HwacError("HW4073", `${what}: ${e.message}; the output scale is too small for the inputs`);
    throw e;
  }
}

/** The parameters of an accumulator `acc[c] = Σ (a − aZero)(b − bZero[c])` and its requantization. */
export interface ProductParams {
  readonly requant: Requant;
  readonly aZero: number;
  /** B's zero point: one, or one per channel. */
  readonly bZero: Int32Array;
}

/**
 * A product of A (per tensor) and B (per tensor, or per axis `bAxis` with `channels` entries: a
 * weight's output channels), requantized to `y` with M[c] = s_a·s_b[c]/s_y in float64 from the
 * float32 scales (`productMultipliers`).
 */
export function productParams(
  a: TensorType | undefined, b: TensorType | undefined, y: TensorType | undefined,
  bAxis: number, channels: number, what: string,
): ProductParams {
  const pa = perTensor(a, `${what}'s first operand`);
  const qb = quantOf(b, `${what}'s second operand`);
  const n = qb.scale.length;
  if (n !== 1 && (n !== channels || qb.axis !== bAxis)) {
    throw new HwacError(
      "HW4070",
      `${what}'s second operand must be quantized per tensor or along axis ${bAxis} with ${channels} channels, got ${n} scales on axis ${qb.axis}`,
    );
  }
  const sy = perTensor(y, `${what}'s output`).scale;
  return { requant: requantOf(() => productMultipliers(pa.scale, qb.scale, sy), y, what), aZero: pa.zp, bZero: Int32Array.from(qb.zeroPoint) };
}

/**
 * A convolution's parameters (Conv, ConvTranspose): like `productParams` with X as A and the
 * weight as B, whose zero points must be 0 (symmetric weights, SPEC.md §1).
 */
export function convParams(
  x: TensorType | undefined, w: TensorType | undefined, y: TensorType | undefined,
  wAxis: number, channels: number, what: string,
): ProductParams {
  const p = productParams(x, w, y, wAxis, channels, what);
  if (p.bZero.some((z) => z !== 0)) throw new HwacError("HW4070", `${what}'s weight must have zero point 0 (symmetric quantization)`);
  return p;
}

/**
 * Conv's accumulator start when the input is read as raw codes and padded with its zero point:
 * `bias[c] − z_x·Σ_k w[c, k]` wrapped to int32, for W's `rows` × `k` codes. Then
 * `start[c] + Σ_k w·x` equals `bias[c] + Σ_k w·(x − z_x)` modulo 2^32, i.e. as int32 accumulators.
 */
export function foldZeroPoint(w: IntArray, rows: number, k: number, zx: number, bias: Int32Array | undefined): Int32Array {
  const start = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let j = r * k, end = j + k; j < end; j++) sum += w[j]!;
    start[r] = (bias ? bias[r]! : 0) - zx * sum;
  }
  return start;
}

/** One multiplier per distinct window size of an average pool, and each output position's choice. */
export interface PoolParams {
  readonly requant: Requant;
  /** The input's zero point. */
  readonly zIn: number;
  /** The distinct divisors (window sizes), ascending; multiplier k is for counts[k]. */
  readonly counts: Int32Array;
  /** Per output position: the index of its divisor in `counts`. */
  readonly index: Int32Array;
}

/**
 * An average pool's requantization: a window summing Σ (x − z_x) over `count` taps is scaled by
 * M = s_x / (count·s_y) (float64, from the float32 scales), one multiplier per distinct count
 * (0 for an empty window, whose result is then the output zero point).
 * `divisors` holds each output position's count.
 */
export function avgPoolParams(x: TensorType | undefined, y: TensorType | undefined, divisors: Int32Array, what: string): PoolParams {
  const px = perTensor(x, `${what}'s input`);
  const sy = perTensor(y, `${what}'s output`).scale;
  const counts = Int32Array.from(new Set(divisors)).sort();
  const reals = new Float64Array(counts.length);
  // A window without taps (pads wider than the kernel) averages nothing: multiplier 0, y = z_y.
  for (let k = 0; k < counts.length; k++) reals[k] = counts[k] === 0 ? 0 : px.scale / (counts[k]! * sy);
  const slot = new Map<number, number>();
  counts.forEach((c, k) => slot.set(c, k));
  const index = new Int32Array(divisors.length);
  for (let i = 0; i < divisors.length; i++) index[i] = slot.get(divisors[i]!)!;
  return { requant: requantOf(() => encodeMultipliers(reals), y, what), zIn: px.zp, counts, index };
}

/** A requantization's hoisted constants (see the header), one entry per multiplier. */
interface Plan {
  readonly mHi: Float64Array;
  readonly mLo: Float64Array;
  readonly rHi: Float64Array;
  readonly rLo: Float64Array;
  /** 2^−(t−16). */
  readonly inv: Float64Array;
  /** 1 where the split form does not apply (t < 16): `requantize` is called instead. */
  readonly slow: Uint8Array;
}

function plan(r: Requant): Plan {
  const n = r.m0.length;
  const p: Plan = {
    mHi: new Float64Array(n), mLo: new Float64Array(n), rHi: new Float64Array(n), rLo: new Float64Array(n),
    inv: new Float64Array(n), slow: new Uint8Array(n),
  };
  for (let c = 0; c < n; c++) {
    const m0 = r.m0[c]!;
    const t = 31 - r.shift[c]!;
    // m0 = 0 (a multiplier too small to encode) leaves all constants 0: y = clamp(z_out), as requantize.
    if (m0 === 0) continue;
    if (t < 16) {
      p.slow[c] = 1;
      continue;
    }
    const round = 2 ** (t - 1);
    p.mHi[c] = Math.floor(m0 / 65536);
    p.mLo[c] = m0 - p.mHi[c]! * 65536;
    p.rHi[c] = Math.floor(round / 65536);
    p.rLo[c] = round - p.rHi[c]! * 65536;
    p.inv[c] = 2 ** -(t - 16);
  }
  return p;
}

const INV16 = 2 ** -16;

function apply(v: number, mHi: number, mLo: number, rHi: number, rLo: number, inv: number, z: number, lo: number, hi: number): number {
  const q = Math.floor((v * mHi + rHi + Math.floor((v * mLo + rLo) * INV16)) * inv) + z;
  return q < lo ? lo : q > hi ? hi : q;
}

/**
 * y[i] = requantize(acc[i]) with the multiplier of channel ⌊i / inner⌋ mod (number of multipliers):
 * for [N, C, spatial…] accumulators inner is the spatial size, for [rows, C] it is 1. A single
 * multiplier applies to every element.
 */
export function requantizeChannels(acc: Int32Array, y: IntArray, r: Requant, inner: number): void {
  const p = plan(r);
  const channels = r.m0.length;
  const { zOut, lo, hi } = r;
  for (let start = 0, c = 0; start < acc.length; start += inner, c = c + 1 === channels ? 0 : c + 1) {
    const end = Math.min(acc.length, start + inner);
    if (p.slow[c]) {
      const m0 = r.m0[c]!, shift = r.shift[c]!;
      for (let i = start; i < end; i++) y[i] = requantize(acc[i]!, m0, shift, zOut, lo, hi);
      continue;
    }
    const mHi = p.mHi[c]!, mLo = p.mLo[c]!, rHi = p.rHi[c]!, rLo = p.rLo[c]!, inv = p.inv[c]!;
    for (let i = start; i < end; i++) y[i] = apply(acc[i]!, mHi, mLo, rHi, rLo, inv, zOut, lo, hi);
  }
}

/**
 * y[i] = requantize(acc[i]) with multiplier `index[i mod index.length]`: planes of positions whose
 * multiplier depends on the position (an average pool's window size).
 */
export function requantizeIndexed(acc: Int32Array, y: IntArray, r: Requant, index: Int32Array): void {
  const p = plan(r);
  const { zOut, lo, hi } = r;
  const positions = index.length;
  for (let base = 0; base < acc.length; base += positions) {
    for (let pos = 0; pos < positions; pos++) {
      const k = index[pos]!;
      const i = base + pos;
      y[i] = p.slow[k]
        ? requantize(acc[i]!, r.m0[k]!, r.shift[k]!, zOut, lo, hi)
        : apply(acc[i]!, p.mHi[k]!, p.mLo[k]!, p.rHi[k]!, p.rLo[k]!, p.inv[k]!, zOut, lo, hi);
    }
  }
}

