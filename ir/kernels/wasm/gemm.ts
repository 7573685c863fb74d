/**
 * Matrix products on the WebAssembly SIMD kernels of gemm.wat, with the signatures of `igemm` and
 * `sgemm` (../gemm.ts) so a caller can switch between them:
 *
 * - `igemmWasm` is bit-identical to `igemm`: int32 sums wrap the same way in any order.
 * - `sgemmWasmExact` is bit-identical to `sgemm`: the same float64 products and sums in the same
 *   order (it mirrors sgemm's depth blocking) and the same rounding to float32.
 * - `sgemmWasm` sums in float32, about twice as fast as the exact one; it differs from `sgemm` by
 *   the float32 rounding of every partial sum, so it is not bit-identical.
 *
 * Each call copies A, C (when accumulating) and the result through the instance's memory; B is
 * packed into column panels on every call unless it was packed once with `packB` and the handle is
 * passed in its place, which keeps weights resident. Whatever the kernels cannot take (other
 * element types, zero points on B, WebAssembly disabled or missing) runs on the TypeScript
 * functions.
 */
import { igemm, KC as TS_KC, sgemmTs as sgemm, TILE as TS_TILE, type FloatArray, type IgemmOptions, type IntArray, type Mat, type SgemmOptions } from "../gemm.js";
import { wasmRuntime, type Heap, type Runtime } from "./runtime.js";

type Typed = IntArray | FloatArray;

/** Columns per B panel and of the register tile; gemm.wat's kernels are written for 8. */
const NR = 8;
/** Rows of the largest register tile: C is padded to a multiple of it. */
const MR = 4;

/** Element type of B's panels: int8 for igemmWasm, float32 for sgemmWasm, float64 for sgemmWasmExact. */
export type PanelType = "int8" | "float32" | "float64";

const ELEMENT_BYTES: Record<PanelType, number> = { int8: 1, float32: 4, float64: 8 };

interface Block {
  readonly heap: Heap;
  readonly ptr: number;
}

const freeBlock = new FinalizationRegistry<Block>(({ heap, ptr }) => heap.free(ptr));

/**
 * B (k×n) packed into WebAssembly memory, to be passed as B to many products. The source matrix is
 * kept (not copied) for the TypeScript path, so it must not change while the handle is in use.
 * Memory is released by `dispose`, or when the handle is garbage-collected.
 */
export class PackedB {
  #block: Block | undefined;
  #source: Mat<Typed> | undefined;

  constructor(readonly type: PanelType, source: Mat<Typed>, readonly k: number, readonly n: number) {
    const d = source.data;
    const ok = type === "int8" ? d instanceof Int8Array : type === "float32" ? d instanceof Float32Array : d instanceof Float32Array || d instanceof Float64Array;
    if (!ok) throw new Error(`${type} panels cannot be packed from a ${d.constructor.name}`);
    this.#source = source;
    const rt = wasmRuntime();
    if (!rt) return;
    const ptr = rt.heap.alloc(panelBytes(type, k) * panelCount(n));
    rt.heap.resetScratch();
    writePanels(rt, type, source, k, n, ptr);
    this.#block = { heap: rt.heap, ptr };
    freeBlock.register(this, this.#block, this);
  }

  /** The packed panels' address, or undefined when they were packed without WebAssembly. */
  get address(): number | undefined {
    return this.#block?.ptr;
  }

  /** The source matrix, after checking that this handle fits a product of the given kind and size. */
  source(type: PanelType, k: number, n: number): Mat<Typed> {
    if (!this.#source) throw new Error("packed B used after dispose()");
    if (type !== this.type || k !== this.k || n !== this.n) {
      throw new Error(`packed B holds ${this.type} ${this.k}×${this.n}, the product needs ${type} ${k}×${n}`);
    }
    return this.#source;
  }

  dispose(): void {
    if (this.#block) {
      this.#block.heap.free(this.#block.ptr);
      freeBlock.unregister(this);
    }
    this.#block = undefined;
    this.#source = undefined;
  }
}

/** Packs B (k×n) once for `igemmWasm` ("int8"), `sgemmWasm` ("float32") or `sgemmWasmExact` ("float64"). */
export function packB(type: PanelType, b: Mat<Typed>, k: number, n: number): PackedB {
  return new PackedB(type, b, k, n);
}

/** `igemm` on WebAssembly for int8/uint8 A with int8/uint8 zero points and int8 B without one. */
export function igemmWasm(
  m: number, n: number, k: number,
  a: Mat<IntArray>, b: Mat<IntArray> | PackedB, c: Mat<Int32Array>, opts: IgemmOptions = {},
): void {
  const bMat = (b instanceof PackedB ? b.source("int8", k, n) : b) as Mat<IntArray>;
  const rt = wasmRuntime();
  const ad = a.data;
  const supported = (ad instanceof Int8Array || ad instanceof Uint8Array) && bMat.data instanceof Int8Array && isZero(opts.bZero) && byteZeros(opts.aZero, m);
  if (!rt || !supported || m === 0 || n === 0 || k === 0) {
    igemm(m, n, k, a, bMat, c, opts);
    return;
  }
  const { kernels, heap } = rt;
  heap.resetScratch();
  const panels = panelsOf(rt, "int8", b, bMat, k, n);
  const kp = (k + 1) >> 1;
  const ldc = panelCount(n) * NR;
  const zeros = typeof opts.aZero === "number" ? [opts.aZero] : opts.aZero ?? [0];
  const raw = heap.take(m * k);
  const zero = heap.take(4 * zeros.length);
  const wide = heap.take(m * kp * 4);
  const cPtr = heap.take(roundUp(m, MR) * ldc * 4);
  const buf = heap.buffer;
  copyIn(a, m, k, ad instanceof Int8Array ? new Int8Array(buf) : new Uint8Array(buf), raw, k);
  new Int32Array(buf, zero, zeros.length).set(zeros);
  kernels.widen_i8(raw, m, k, zero, zeros.length === 1 ? 0 : 4, ad instanceof Uint8Array ? 1 : 0, wide, kp * 4);
  const cv = new Int32Array(buf);
  if (opts.accumulate) copyIn(c, m, n, cv, cPtr / 4, ldc);
  kernels.gemm_i8(wide, kp * 4, m, panels, kp, panelCount(n), cPtr, ldc * 4, opts.accumulate ? 1 : 0);
  copyOut(cv, cPtr / 4, ldc, c, m, n);
}

/** `sgemm` on WebAssembly with float32 sums (not bit-identical to it) for float32 A, B and C. */
export function sgemmWasm(
  m: number, n: number, k: number,
  a: Mat<FloatArray>, b: Mat<FloatArray> | PackedB, c: Mat<FloatArray>, opts: SgemmOptions = {},
): void {
  const bMat = (b instanceof PackedB ? b.source("float32", k, n) : b) as Mat<FloatArray>;
  const rt = wasmRuntime();
  const supported = a.data instanceof Float32Array && bMat.data instanceof Float32Array && c.data instanceof Float32Array;
  if (!rt || !supported || m === 0 || n === 0 || k === 0) {
    sgemm(m, n, k, a, bMat, c, opts);
    return;
  }
  const { kernels, heap } = rt;
  heap.resetScratch();
  const panels = panelsOf(rt, "float32", b, bMat, k, n);
  const ldc = panelCount(n) * NR;
  const aPtr = heap.take(m * k * 4);
  const cPtr = heap.take(roundUp(m, MR) * ldc * 4);
  const f32 = new Float32Array(heap.buffer);
  copyIn(a, m, k, f32, aPtr / 4, k);
  if (opts.accumulate) copyIn(c, m, n, f32, cPtr / 4, ldc);
  kernels.gemm_f32(aPtr, k * 4, m, panels, k, panelCount(n), cPtr, ldc * 4, opts.alpha ?? 1, opts.accumulate ? 1 : 0);
  copyOut(f32, cPtr / 4, ldc, c, m, n);
}

/** `sgemm` on WebAssembly, bit-identical to it for finite operands, for a float32 C. */
export function sgemmWasmExact(
  m: number, n: number, k: number,
  a: Mat<FloatArray>, b: Mat<FloatArray> | PackedB, c: Mat<FloatArray>, opts: SgemmOptions = {},
): void {
  const bMat = (b instanceof PackedB ? b.source("float64", k, n) : b) as Mat<FloatArray>;
  const rt = wasmRuntime();
  if (!rt || !(c.data instanceof Float32Array) || m === 0 || n === 0 || k === 0) {
    sgemm(m, n, k, a, bMat, c, opts);
    return;
  }
  const { kernels, heap } = rt;
  heap.resetScratch();
  const panels = panelsOf(rt, "float64", b, bMat, k, n);
  const ldc = panelCount(n) * NR;
  const aPtr = heap.take(m * k * 8);
  const cPtr = heap.take(roundUp(m, MR) * ldc * 4);
  const buf = heap.buffer;
  copyIn(a, m, k, new Float64Array(buf), aPtr / 8, k);
  const cv = new Float32Array(buf);
  if (opts.accumulate) copyIn(c, m, n, cv, cPtr / 4, ldc);
  const alpha = opts.alpha ?? 1;
  const depth = m < TS_TILE || n < TS_TILE ? k : TS_KC;
  for (let p = 0; p < k; p += depth) {
    const add = opts.accumulate || p > 0;
    kernels.gemm_f64(aPtr + p * 8, k * 8, m, panels + p * 64, panelBytes("float64", k), Math.min(depth, k - p), panelCount(n), cPtr, ldc * 4, alpha, add ? 1 : 0);
  }
  copyOut(cv, cPtr / 4, ldc, c, m, n);
}

function panelCount(n: number): number {
  return Math.ceil(n / NR);
}

/** Bytes of one panel of depth k (layouts in gemm.wat). */
function panelBytes(type: PanelType, k: number): number {
  return (type === "int8" ? roundUp(k, 2) : k) * NR * ELEMENT_BYTES[type];
}

function roundUp(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}

function isZero(z: number | ArrayLike<number> | undefined): boolean {
  if (z === undefined) return true;
  if (typeof z === "number") return z === 0;
  for (let i = 0; i < z.length; i++) if (z[i] !== 0) return false;
  return true;
}

/** Whether A's zero points are int8/uint8 values, one or one per row (then A − z fits int16). */
function byteZeros(z: number | ArrayLike<number> | undefined, m: number): boolean {
  if (z === undefined) return true;
  const fits = (v: number) => Number.isInteger(v) && v >= -128 && v <= 255;
  if (typeof z === "number") return fits(z);
  if (z.length !== 1 && z.length !== m) return false; // igemm reports the mismatch
  for (let i = 0; i < z.length; i++) if (!fits(z[i]!)) return false;
  return true;
}

/** The address of B's panels: the resident ones, or B packed into scratch now. */
function panelsOf(rt: Runtime, type: PanelType, b: Mat<Typed> | PackedB, source: Mat<Typed>, k: number, n: number): number {
  if (b instanceof PackedB && b.address !== undefined) return b.address;
  const dst = rt.heap.take(panelBytes(type, k) * panelCount(n));
  writePanels(rt, type, source, k, n, dst);
  return dst;
}

/**
 * Packs B (k×n) into panels at `dst`: B is staged row-major in scratch, padded with zeros to whole
 * panels (and whole pairs of rows for int8), and the kernel re-lays it out with vector moves.
 */
function writePanels(rt: Runtime, type: PanelType, b: Mat<Typed>, k: number, n: number, dst: number): void {
  const size = ELEMENT_BYTES[type];
  const rows = type === "int8" ? roundUp(k, 2) : k;
  const pitch = panelCount(n) * NR;
  const stage = rt.heap.take(rows * pitch * size);
  const buf = rt.heap.buffer;
  const view = type === "int8" ? new Int8Array(buf) : type === "float32" ? new Float32Array(buf) : new Float64Array(buf);
  const at = stage / size;
  if (rows !== k || pitch !== n) view.fill(0, at, at + rows * pitch);
  copyIn(b, k, n, view, at, pitch);
  if (type === "int8") rt.kernels.pack_i8(stage, rows / 2, pitch, panelCount(n), dst);
  else rt.kernels.pack_rows(stage, k, pitch * size, panelCount(n), NR * size, dst);
}

/** Rows shorter than this are copied element by element: a subarray per row costs more. */
const SHORT_ROW = 64;

/** Copies the rows×cols matrix `src` to dst[at + i·pitch + j], converting element types. */
function copyIn(src: Mat<Typed>, rows: number, cols: number, dst: Typed, at: number, pitch: number): void {
  const { data, offset, rowStride, colStride } = src;
  if (colStride === 1 && rowStride === cols && pitch === cols) {
    dst.set(data.subarray(offset, offset + rows * cols), at);
  } else if (colStride === 1 && cols >= SHORT_ROW) {
    for (let i = 0; i < rows; i++) dst.set(data.subarray(offset + i * rowStride, offset + i * rowStride + cols), at + i * pitch);
  } else {
    for (let i = 0; i < rows; i++) {
      let s = offset + i * rowStride;
      const o = at + i * pitch;
      for (let j = 0; j < cols; j++, s += colStride) dst[o + j] = data[s]!;
    }
  }
}

/** Copies the rows×cols matrix at src[at + i·pitch + j] into `dst`. */
function copyOut(src: Typed, at: number, pitch: number, dst: Mat<Typed>, rows: number, cols: number): void {
  const { data, offset, rowStride, colStride } = dst;
  if (colStride === 1 && rowStride === cols && pitch === cols) {
    data.set(src.subarray(at, at + rows * cols), offset);
  } else if (colStride === 1 && cols >= SHORT_ROW) {
    for (let i = 0; i < rows; i++) data.set(src.subarray(at + i * pitch, at + i * pitch + cols), offset + i * rowStride);
  } else {
    for (let i = 0; i < rows; i++) {
      let d = offset + i * rowStride;
      const s = at + i * pitch;
      for (let j = 0; j < cols; j++, d += colStride) data[d] = src[s + j]!;
    }
  }
}
