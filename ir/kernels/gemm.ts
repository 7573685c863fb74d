/**
 * Matrix multiply C = α·A·B (+ C) for the float reference and C = (A − za)·(B − zb) (+ C) for the
 * integer one, over strided typed arrays (a transpose is just swapped strides).
 *
 * Both share one cache-blocked driver in the style of BLIS/GotoBLAS: B is packed into NR-column
 * panels (a KC×NR micro-panel fits L1), A into MR-row panels (an MC×KC block fits L2), and a 4×4
 * register-blocked micro-kernel accumulates in float64 locals. Packing converts every source type
 * to float64 and subtracts zero points, so the micro-kernel is monomorphic and integer sums are
 * exact while they stay below 2^53 (8- and 16-bit operands cannot reach it: |a·b| ≤ 2^32, and
 * k < 2^21); storing to an Int32Array then wraps like int32 hardware.
 * Operands too thin to fill a register tile (m or n < 4: GEMV, batch-1 fully connected layers)
 * take a direct path that streams the contiguous operand instead of packing.
 *
 * `sgemm` hands the shapes where it is faster to `sgemmWasmExact` (wasm/gemm.ts), which computes
 * the same float64 sums in the same order, so results do not depend on which one ran.
 */
import type { DType } from "../dtype.js";
import { fromFloat64, tensor, type Tensor } from "../tensor.js";
import { sgemmWasmExact } from "./wasm/gemm.js";

/** A strided matrix: element (i, j) is `data[offset + i·rowStride + j·colStride]`. */
export interface Mat<T> {
  readonly data: T;
  readonly offset: number;
  readonly rowStride: number;
  readonly colStride: number;
}

export type FloatArray = Float32Array | Float64Array;
/** Integer operands (int4/uint4 tensors are stored one value per byte, so they are Int8/Uint8 arrays). */
export type IntArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array;
/** Either kind of operand: kernels shared by the float ops and their integer semantics take both. */
export type NumArray = FloatArray | IntArray;
type Source = NumArray;
type Dest = FloatArray | Int32Array;

/**
 * The row-major matrix with row pitch `ld` at `offset`, or its transpose (then `ld` is the pitch of
 * the stored, untransposed matrix).
 */
export function view<T>(data: T, offset: number, ld: number, transposed = false): Mat<T> {
  return transposed ? { data, offset, rowStride: 1, colStride: ld } : { data, offset, rowStride: ld, colStride: 1 };
}

export interface SgemmOptions {
  /** Scale of the product (ONNX Gemm's alpha); 1 by default. */
  readonly alpha?: number;
  /** Add the product to C's contents instead of overwriting them. */
  readonly accumulate?: boolean;
}

/**
 * C[m×n] = α·A[m×k]·B[k×n], or C += … with `accumulate`: on WebAssembly where that pays, else
 * `sgemmTs`, with bit-identical results.
 */
export function sgemm(m: number, n: number, k: number, a: Mat<FloatArray>, b: Mat<FloatArray>, c: Mat<FloatArray>, opts: SgemmOptions = {}): void {
  if (wasmPays(m, n, b, c)) sgemmWasmExact(m, n, k, a, b, c, opts);
  else sgemmTs(m, n, k, a, b, c, opts);
}

/** `sgemm` on TypeScript alone: the definition the WebAssembly kernel reproduces, and its fallback. */
export function sgemmTs(m: number, n: number, k: number, a: Mat<FloatArray>, b: Mat<FloatArray>, c: Mat<FloatArray>, opts: SgemmOptions = {}): void {
  gemm(m, n, k, a, NO_ZERO, b, NO_ZERO, c, opts.alpha ?? 1, opts.accumulate ?? false);
}

/**
 * Whether `sgemmWasmExact` beats `sgemmTs` (measured by test/bench/sgemm-dispatch.ts). Its fixed
 * costs are copying A in and C out and packing B on every call, and it pads B to 8-column panels.
 * A row-major B is packed by block copies and pays off from 16 outputs; a transposed B is packed
 * element by element and needs 4 rows of A to amortize that. Below 8 columns the padding is paid
 * for by TypeScript's slow thin path once there are 64 outputs. The exact kernel writes float32 C only.
 */
function wasmPays(m: number, n: number, b: Mat<FloatArray>, c: Mat<FloatArray>): boolean {
  if (!(c.data instanceof Float32Array)) return false;
  if (n < 8) return n >= 2 && m * n >= 64;
  return b.colStride === 1 ? m * n >= 16 : m >= 4;
}

export interface IgemmOptions {
  /** A's zero point: one value, or one per row of A (length m). */
  readonly aZero?: number | ArrayLike<number>;
  /** B's zero point: one value, or one per column of B (length n). */
  readonly bZero?: number | ArrayLike<number>;
  readonly accumulate?: boolean;
}

/** C[m×n] = (A − aZero)·(B − bZero) in int32 arithmetic (wrapping on overflow), or C += … */
export function igemm(m: number, n: number, k: number, a: Mat<IntArray>, b: Mat<IntArray>, c: Mat<Int32Array>, opts: IgemmOptions = {}): void {
  gemm(m, n, k, a, zeroVector(opts.aZero, m), b, zeroVector(opts.bZero, n), c, 1, opts.accumulate ?? false);
}

/**
 * C = A·B (or C += A·B) on float operands or on integer codes with one call shape, so a lowering
 * (convolution, batched matmul) serves the float op and its integer semantics alike.
 */
export type Product = (m: number, n: number, k: number, a: Mat<NumArray>, b: Mat<NumArray>, c: Mat<NumArray>) => void;

/** `sgemm` with fixed options as a Product. */
export function floatProduct(opts: SgemmOptions = {}): Product {
  return (m, n, k, a, b, c) => sgemm(m, n, k, a as Mat<FloatArray>, b as Mat<FloatArray>, c as Mat<FloatArray>, opts);
}

/** An integer GEMM with igemm's contract: igemm itself, or a bit-identical faster kernel. */
export type IgemmKernel = (m: number, n: number, k: number, a: Mat<IntArray>, b: Mat<IntArray>, c: Mat<Int32Array>, opts?: IgemmOptions) => void;

/** `kernel` (igemm by default) with fixed zero points and accumulation as a Product (C must be an Int32Array). */
export function intProduct(opts: IgemmOptions = {}, kernel: IgemmKernel = igemm): Product {
  return (m, n, k, a, b, c) => kernel(m, n, k, a as Mat<IntArray>, b as Mat<IntArray>, c as Mat<Int32Array>, opts);
}

/** Zero points with a stride: 0 for one shared value, 1 for one per row/column. */
interface Zero {
  readonly v: Float64Array;
  readonly step: 0 | 1;
}

const NO_ZERO: Zero = { v: new Float64Array(1), step: 0 };

function zeroVector(z: number | ArrayLike<number> | undefined, len: number): Zero {
  if (z === undefined) return NO_ZERO;
  if (typeof z === "number") return { v: Float64Array.of(z), step: 0 };
  if (z.length !== 1 && z.length !== len) throw new Error(`zero point vector has ${z.length} entries, expected 1 or ${len}`);
  return { v: Float64Array.from(z), step: z.length === 1 ? 0 : 1 };
}

/**
 * Edge of the register tile; a product with m or n below it is thin and sums over all of k at once.
 * `sgemmWasmExact` reproduces this choice and KC's, which decide the rounding of the float sums.
 */
export const TILE = 4;
const MR = TILE;
const NR = TILE;
/**
 * Depth of one packed block: a KC×NR panel of B (8 KiB of float64) stays in L1. Products that are
 * not thin round each block's sum into C.
 */
export const KC = 256;
/** Rows of A packed at once: an MC×KC block (256 KiB) stays in L2. */
const MC = 128;
/** Columns of B packed at once: a KC×NC block (2 MiB) stays in L3. */
const NC = 1024;

// Packing buffers and the micro-kernel's tile are reused across calls: the interpreter is single-threaded.
let packA = new Float64Array(0);
let packB = new Float64Array(0);
const tile = new Float64Array(MR * NR);

function gemm(
  m: number, n: number, k: number,
  a: Mat<Source>, za: Zero, b: Mat<Source>, zb: Zero,
  c: Mat<Dest>, alpha: number, accumulate: boolean,
): void {
  if (m === 0 || n === 0) return;
  if (k === 0) {
    if (!accumulate) fill(c, m, n, 0);
    return;
  }
  if (m < MR || n < NR) {
    thin(m, n, k, a, za, b, zb, c, alpha, accumulate);
    return;
  }
  const kcMax = Math.min(KC, k);
  const needA = Math.min(MC, roundUp(m, MR)) * kcMax;
  const needB = Math.min(NC, roundUp(n, NR)) * kcMax;
  if (packA.length < needA) packA = new Float64Array(needA);
  if (packB.length < needB) packB = new Float64Array(needB);
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      packPanels(b.data, b.offset, b.colStride, b.rowStride, zb, jc, nc, pc, kc, NR, packB);
      const add = accumulate || pc > 0;
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        packPanels(a.data, a.offset, a.rowStride, a.colStride, za, ic, mc, pc, kc, MR, packA);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            kernel4x4(kc, packA, ir * kc, packB, jr * kc, tile);
            storeTile(c, ic + ir, jc + jr, Math.min(MR, mc - ir), nr, alpha, add);
          }
        }
      }
    }
  }
}

function roundUp(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}

/**
 * Packs `count` lines (rows of A, or columns of B) starting at `line0`, over depth [p0, p0 + kc),
 * into panels of `width` lines each stored depth-major, minus the lines' zero points; the lines
 * missing from a short last panel are zero-filled.
 */
function packPanels(
  data: Source, offset: number, lineStride: number, depthStride: number, z: Zero,
  line0: number, count: number, p0: number, kc: number, width: number, dst: Float64Array,
): void {
  for (let l0 = 0; l0 < count; l0 += width) {
    for (let l = 0; l < width; l++) {
      let o = l0 * kc + l;
      if (l0 + l >= count) {
        for (let p = 0; p < kc; p++, o += width) dst[o] = 0;
        continue;
      }
      const line = line0 + l0 + l;
      const zero = z.v[z.step * line]!;
      let src = offset + line * lineStride + p0 * depthStride;
      for (let p = 0; p < kc; p++, o += width, src += depthStride) dst[o] = data[src]! - zero;
    }
  }
}

/** t = Σ_p A[:, p] ⊗ B[p, :] over one packed 4-row panel of A and one 4-column panel of B. */
function kernel4x4(kc: number, pa: Float64Array, ai: number, pb: Float64Array, bi: number, t: Float64Array): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let p = 0; p < kc; p++, ai += MR, bi += NR) {
    const b0 = pb[bi]!, b1 = pb[bi + 1]!, b2 = pb[bi + 2]!, b3 = pb[bi + 3]!;
    let x = pa[ai]!;
    c00 += x * b0; c01 += x * b1; c02 += x * b2; c03 += x * b3;
    x = pa[ai + 1]!;
    c10 += x * b0; c11 += x * b1; c12 += x * b2; c13 += x * b3;
    x = pa[ai + 2]!;
    c20 += x * b0; c21 += x * b1; c22 += x * b2; c23 += x * b3;
    x = pa[ai + 3]!;
    c30 += x * b0; c31 += x * b1; c32 += x * b2; c33 += x * b3;
  }
  t[0] = c00; t[1] = c01; t[2] = c02; t[3] = c03;
  t[4] = c10; t[5] = c11; t[6] = c12; t[7] = c13;
  t[8] = c20; t[9] = c21; t[10] = c22; t[11] = c23;
  t[12] = c30; t[13] = c31; t[14] = c32; t[15] = c33;
}

/** Writes the valid mr×nr corner of the tile to C at (i0, j0), scaled by α, added to C when `add`. */
function storeTile(c: Mat<Dest>, i0: number, j0: number, mr: number, nr: number, alpha: number, add: boolean): void {
  const { data, rowStride, colStride } = c;
  for (let i = 0; i < mr; i++) {
    let o = c.offset + (i0 + i) * rowStride + j0 * colStride;
    for (let j = 0; j < nr; j++, o += colStride) {
      const v = alpha * tile[i * NR + j]!;
      data[o] = add ? data[o]! + v : v;
    }
  }
}

/**
 * m or n below the register tile: each output is an independent sum, computed along whichever of
 * A's rows or B's columns is contiguous so the long operand is streamed once.
 */
function thin(
  m: number, n: number, k: number,
  a: Mat<Source>, za: Zero, b: Mat<Source>, zb: Zero,
  c: Mat<Dest>, alpha: number, accumulate: boolean,
): void {
  const ad = a.data, bd = b.data, cd = c.data;
  if (b.colStride === 1 && n >= m) {
    // Row i of C as a sum of rows of B, streaming B once; B's zero point comes out of the sum:
    // Σ_p x_p·(B[p, j] − zb_j) = Σ_p x_p·B[p, j] − zb_j·Σ_p x_p. Only a nonzero zb_j is subtracted:
    // 0·xsum is NaN when an input is infinite, which the sum without zero points does not have.
    const acc = new Float64Array(n);
    for (let i = 0; i < m; i++) {
      acc.fill(0);
      const zai = za.v[za.step * i]!;
      let xsum = 0;
      for (let p = 0; p < k; p++) {
        const x = ad[a.offset + i * a.rowStride + p * a.colStride]! - zai;
        xsum += x;
        const row = b.offset + p * b.rowStride;
        for (let j = 0; j < n; j++) acc[j] += x * bd[row + j]!;
      }
      let o = c.offset + i * c.rowStride;
      for (let j = 0; j < n; j++, o += c.colStride) {
        const zbj = zb.v[zb.step * j]!;
        const v = alpha * (zbj === 0 ? acc[j]! : acc[j]! - zbj * xsum);
        cd[o] = accumulate ? cd[o]! + v : v;
      }
    }
    return;
  }
  // Dot products, four at a time along the longer side: independent sums keep the adder busy.
  const sums = new Float64Array(4);
  if (n >= m) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j += 4) {
        const cnt = Math.min(4, n - j);
        dots4(k, ad, a.offset + i * a.rowStride, a.colStride, za.v[za.step * i]!, bd, b.offset, b.colStride, b.rowStride, zb, j, cnt, sums);
        for (let r = 0; r < cnt; r++) put(c, i, j + r, alpha * sums[r]!, accumulate);
      }
    }
  } else {
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < m; i += 4) {
        const cnt = Math.min(4, m - i);
        dots4(k, bd, b.offset + j * b.colStride, b.rowStride, zb.v[zb.step * j]!, ad, a.offset, a.rowStride, a.colStride, za, i, cnt, sums);
        for (let r = 0; r < cnt; r++) put(c, i + r, j, alpha * sums[r]!, accumulate);
      }
    }
  }
}

/**
 * sums[r] = Σ_p (u[p] − zu)·(line (line0 + r) of v at depth p − its zero point) for r < cnt, where
 * u is strided by `us` and v's lines start `lineStride` apart and are strided by `vs`.
 */
function dots4(
  k: number, u: Source, uo: number, us: number, zu: number,
  v: Source, vo: number, lineStride: number, vs: number, zv: Zero,
  line0: number, cnt: number, sums: Float64Array,
): void {
  // Lines past `cnt` repeat the last one, so every read stays in bounds.
  const l1 = line0 + Math.min(1, cnt - 1), l2 = line0 + Math.min(2, cnt - 1), l3 = line0 + Math.min(3, cnt - 1);
  const z0 = zv.v[zv.step * line0]!, z1 = zv.v[zv.step * l1]!, z2 = zv.v[zv.step * l2]!, z3 = zv.v[zv.step * l3]!;
  let v0 = vo + line0 * lineStride, v1 = vo + l1 * lineStride, v2 = vo + l2 * lineStride, v3 = vo + l3 * lineStride;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (let p = 0; p < k; p++, uo += us, v0 += vs, v1 += vs, v2 += vs, v3 += vs) {
    const x = u[uo]! - zu;
    s0 += x * (v[v0]! - z0);
    s1 += x * (v[v1]! - z1);
    s2 += x * (v[v2]! - z2);
    s3 += x * (v[v3]! - z3);
  }
  sums[0] = s0; sums[1] = s1; sums[2] = s2; sums[3] = s3;
}

function put(c: Mat<Dest>, i: number, j: number, v: number, accumulate: boolean): void {
  const o = c.offset + i * c.rowStride + j * c.colStride;
  c.data[o] = accumulate ? c.data[o]! + v : v;
}

function fill(c: Mat<Dest>, m: number, n: number, v: number): void {
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) put(c, i, j, v, false);
}

/** Float storage of a tensor for the float kernels: float tensors as stored, others widened to float64. */
export function floatData(t: Tensor): FloatArray {
  const d = t.data;
  if (d instanceof Float32Array || d instanceof Float64Array) return d;
  const out = new Float64Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  return out;
}

/**
 * A zeroed result buffer for a float kernel producing `dtype`: float32 results are stored directly,
 * every other type is computed in float64 and rounded or cast once by `finishResult`.
 */
export function floatResult(dtype: DType, n: number): FloatArray {
  return dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
}

/** Wraps a float kernel's result as a `dtype` tensor: rounds float16/bfloat16, casts integer types. */
export function finishResult(dtype: DType, shape: readonly number[], data: FloatArray): Tensor {
  if (dtype === "float32" || dtype === "float64") return tensor(dtype, shape, data);
  return fromFloat64(dtype, shape, data);
}
