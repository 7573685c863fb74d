/**
 * `sgemm` picks WebAssembly or TypeScript by shape; either way its results are those of `sgemmTs`,
 * bit for bit, and the two kernels agree on infinite inputs too.
 */
import { afterEach, describe, expect, it } from "vitest";
import { sgemm, sgemmTs, view, type FloatArray, type Mat } from "../../ir/kernels/gemm.js";
import { sgemmWasmExact } from "../../ir/kernels/wasm/gemm.js";
import { setWasmKernels } from "../../ir/kernels/wasm/runtime.js";
import { xorshift32 } from "../../ir/numeric.js";

function generator(seed: number): () => number {
  let s = seed;
  return () => (s = xorshift32(s)) / 2 ** 32 - 0.5;
}

/** Bit patterns, with every NaN spelled the same (the kernels may differ in a NaN's sign bit). */
function bits(x: Float32Array): (number | "NaN")[] {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  return Array.from(x, (v, i) => (Number.isNaN(v) ? "NaN" : u[i]!));
}

type Kernel = typeof sgemm;

/** C after `kernel` on a copy of c0 (row-major m×n). */
function product(kernel: Kernel, m: number, n: number, k: number, a: Mat<FloatArray>, b: Mat<FloatArray>, c0: Float32Array, opts = {}): Float32Array {
  const c = c0.slice();
  kernel(m, n, k, a, b, view(c, 0, n), opts);
  return c;
}

// Shapes on both sides of every threshold of the dispatch (n 8, m·n 16 and 64, m 4), past the
// 256-deep blocks, and thin ones; each with B row-major and transposed.
const SHAPES: [number, number, number][] = [
  [1, 7, 5], [1, 8, 9], [1, 16, 300], [2, 8, 40], [3, 9, 1], [4, 8, 257], [3, 40, 33],
  [8, 2, 100], [32, 2, 70], [16, 4, 513], [63, 1, 30], [9, 13, 600], [40, 30, 20], [128, 64, 300],
];

afterEach(() => setWasmKernels(true));

describe("sgemm dispatch", () => {
  it("gives sgemmTs's results bit for bit on every shape, layout, α and accumulation", () => {
    const next = generator(11);
    for (const [m, n, k] of SHAPES) {
      const a = view(Float32Array.from({ length: m * k }, next), 0, k);
      const bData = Float32Array.from({ length: k * n }, next);
      for (const b of [view(bData, 0, n), view(bData, 0, k, true)]) {
        for (const opts of [{}, { alpha: -1.25, accumulate: true }]) {
          const c0 = Float32Array.from({ length: m * n }, next);
          const want = product(sgemmTs, m, n, k, a, b, c0, opts);
          expect(bits(product(sgemm, m, n, k, a, b, c0, opts)), `${m}×${n}×${k} colStride ${b.colStride}`).toEqual(bits(want));
        }
      }
    }
  });

  it("gives the same results with float64 operands, a strided C, and WebAssembly turned off", () => {
    const next = generator(12);
    const [m, n, k] = [12, 20, 70];
    const a = view(Float64Array.from({ length: m * k }, next), 0, k);
    const b = view(Float64Array.from({ length: k * n }, next), 0, n);
    const wide = new Float32Array(m * (n + 3));
    sgemm(m, n, k, a, b, view(wide, 3, n + 3));
    const want = product(sgemmTs, m, n, k, a, b, new Float32Array(m * n));
    const got = Float32Array.from({ length: m * n }, (_, i) => wide[3 + Math.floor(i / n) * (n + 3) + (i % n)]!);
    expect(bits(got)).toEqual(bits(want));
    setWasmKernels(false);
    expect(bits(product(sgemm, m, n, k, a, b, new Float32Array(m * n)))).toEqual(bits(want));
  });

  it("keeps an infinite input to its own row in the thin path, as the WebAssembly kernel does", () => {
    const [m, n, k] = [2, 20, 3];
    // Row 0 of A holds +∞; row 1 is finite. B's column 1 is 0 at the ∞, so C[0, 1] is NaN (∞·0).
    const a = view(Float32Array.of(Infinity, 1, 2, 0.5, -1, 3), 0, k);
    const bData = Float32Array.from({ length: k * n }, (_, i) => (i === 1 ? 0 : 1 + (i % 5)));
    const b = view(bData, 0, n);
    const c0 = new Float32Array(m * n);
    const ts = product(sgemmTs, m, n, k, a, b, c0);
    expect(ts[0]).toBe(Infinity);
    expect(ts[1]).toBeNaN();
    expect(ts[2]).toBe(Infinity);
    // Row 1: 0.5·B[0, j] − B[1, j] + 3·B[2, j]; column 0 of B is 1, 1, 1 (entries 0, 20 and 40).
    expect(ts[n]).toBe(2.5);
    expect(ts.subarray(n).every(Number.isFinite)).toBe(true);
    expect(bits(product(sgemmWasmExact, m, n, k, a, b, c0))).toEqual(bits(ts));
  });
});
