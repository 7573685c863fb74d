/**
 * WebAssembly GEMM kernels against plain references: int8 bit for bit (wrapping included), the
 * exact float kernel bit for bit against sgemm, the float32 one within float32 rounding.
 */
import { afterEach, describe, expect, it } from "vitest";
import { sgemmTs as sgemm, view, type Mat } from "../../ir/kernels/gemm.js";
import { igemmWasm, packB, sgemmWasm, sgemmWasmExact } from "../../ir/kernels/wasm/gemm.js";
import { setWasmKernels, wasmRuntime } from "../../ir/kernels/wasm/runtime.js";
import { wrapInt32, xorshift32 } from "../../ir/numeric.js";

function generator(seed: number): () => number {
  let s = seed;
  return () => (s = xorshift32(s));
}

function int8s(n: number, next: () => number): Int8Array {
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) out[i] = next();
  return out;
}

function uint8s(n: number, next: () => number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = next();
  return out;
}

function floats(n: number, next: () => number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + ((hi - lo) * next()) / 2 ** 32;
  return out;
}

/** Element (i, j) of a strided matrix. */
const at = (x: Mat<ArrayLike<number>>, i: number, j: number) => x.data[x.offset + i * x.rowStride + j * x.colStride]!;

/** C0 + Σ_p (A[i,p] − z[i])·B[p,j], wrapped to int32 after every step, as a row-major m×n array. */
function referenceInt(
  m: number, n: number, k: number, a: Mat<ArrayLike<number>>, z: (i: number) => number, b: Mat<ArrayLike<number>>, c0?: Int32Array,
): Int32Array {
  const out = new Int32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = c0 ? c0[i * n + j]! : 0;
      for (let p = 0; p < k; p++) s = (s + Math.imul(at(a, i, p) - z(i), at(b, p, j))) | 0;
      out[i * n + j] = s;
    }
  }
  return out;
}

/** Row-major float64 product C0 + α·A·B, and Σ|A||B| per element for error bounds. */
function referenceFloat(m: number, n: number, k: number, a: Mat<Float32Array>, b: Mat<Float32Array>, alpha = 1, c0?: Float32Array) {
  const value = new Float64Array(m * n);
  const magnitude = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let mag = 0;
      for (let p = 0; p < k; p++) {
        s += at(a, i, p) * at(b, p, j);
        mag += Math.abs(at(a, i, p) * at(b, p, j));
      }
      value[i * n + j] = (c0 ? c0[i * n + j]! : 0) + alpha * s;
      magnitude[i * n + j] = (c0 ? Math.abs(c0[i * n + j]!) : 0) + Math.abs(alpha) * mag;
    }
  }
  return { value, magnitude };
}

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

/** Shapes off every multiple of the 4×8 tile and the 16-byte vectors, plus k = 1 and odd k. */
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 9, 2], [3, 5, 7], [4, 8, 16], [5, 9, 1], [7, 3, 2], [13, 17, 33], [33, 31, 65], [64, 40, 100], [2, 70, 9],
];

afterEach(() => setWasmKernels(true));

describe("wasm runtime", () => {
  it("instantiates, so the other tests exercise the kernels and not the fallbacks", () => {
    expect(wasmRuntime()).toBeDefined();
  });
});

describe("igemmWasm", () => {
  it("equals a wrapping int32 reference on odd shapes, overwriting and accumulating", () => {
    const next = generator(1);
    for (const [m, n, k] of SHAPES) {
      const a = view(int8s(m * k, next), 0, k);
      const b = view(int8s(k * n, next), 0, n);
      const c0 = new Int32Array(m * n).map(() => next() | 0);
      const c = new Int32Array(m * n);
      igemmWasm(m, n, k, a, b, view(c, 0, n));
      expect(c, `${m}×${n}×${k}`).toEqual(referenceInt(m, n, k, a, () => 0, b));
      c.set(c0);
      igemmWasm(m, n, k, a, b, view(c, 0, n), { accumulate: true });
      expect(c, `${m}×${n}×${k} accumulate`).toEqual(referenceInt(m, n, k, a, () => 0, b, c0));
    }
  });

  it("wraps like int32 when −128·−128 products overflow a long sum", () => {
    const [m, n, k] = [5, 9, 140_001]; // 140001 · 16384 = 2 293 776 384 > 2^31
    const a = new Int8Array(m * k).fill(-128);
    const b = new Int8Array(k * n).fill(-128);
    b[7 * n + 3] = 127; // column 3: one product is −128·127 instead of 16384
    const c = new Int32Array(m * n);
    igemmWasm(m, n, k, view(a, 0, k), view(b, 0, n), view(c, 0, n));
    expect(c[0]).toBe(wrapInt32(k * 16384));
    expect(c[0]).toBe(-2_001_190_912);
    expect(c[3]).toBe(wrapInt32((k - 1) * 16384 - 128 * 127));
    expect(c).toEqual(referenceInt(m, n, k, view(a, 0, k), () => 0, view(b, 0, n)));
  });

  it("subtracts per-row and per-tensor zero points from int8 and uint8 A", () => {
    const next = generator(2);
    for (const [m, n, k] of SHAPES) {
      const a8 = view(int8s(m * k, next), 0, k);
      const u8 = view(uint8s(m * k, next), 0, k);
      const b = view(int8s(k * n, next), 0, n);
      const rowZeros = Array.from({ length: m }, (_, i) => (i % 2 ? 255 : -128)); // extremes: |x − z| up to 383
      for (const [a, aZero, z] of [
        [a8, rowZeros, (i: number) => rowZeros[i]!],
        [u8, rowZeros, (i: number) => rowZeros[i]!],
        [u8, 128, () => 128],
        [a8, [-3], () => -3],
      ] as const) {
        const c = new Int32Array(m * n);
        igemmWasm(m, n, k, a, b, view(c, 0, n), { aZero });
        expect(c, `${m}×${n}×${k} ${a.data.constructor.name} zero ${String(aZero)}`).toEqual(referenceInt(m, n, k, a, z, b));
      }
    }
  });

  it("takes B as [n, k], packed once and reused, and strided A and C", () => {
    const next = generator(3);
    const [m, n, k] = [11, 19, 37];
    const bt = int8s(n * k, next); // B stored transposed: element (p, j) at j·k + p
    const b = view(bt, 0, k, true);
    const packed = packB("int8", b, k, n);
    for (let round = 0; round < 2; round++) {
      const at_ = int8s(k * m, next); // A stored transposed
      const a = view(at_, 0, m, true);
      const c = new Int32Array(m * (n + 5)).fill(7);
      igemmWasm(m, n, k, a, packed, view(c, 2, n + 5));
      const expected = referenceInt(m, n, k, a, () => 0, b);
      for (let i = 0; i < m; i++) {
        expect(c.subarray(2 + i * (n + 5), 2 + i * (n + 5) + n)).toEqual(expected.subarray(i * n, (i + 1) * n));
        expect(c[i * (n + 5)]).toBe(7); // untouched outside the view
      }
    }
    packed.dispose();
  });

  it("falls back to the exact TypeScript product for what the kernels do not take", () => {
    const next = generator(4);
    const [m, n, k] = [6, 10, 12];
    const a16 = view(Int16Array.from(int8s(m * k, next), (x) => x * 200), 0, k);
    const bu8 = view(uint8s(k * n, next), 0, n);
    const b8 = view(int8s(k * n, next), 0, n);
    const c = new Int32Array(m * n);
    igemmWasm(m, n, k, a16, b8, view(c, 0, n));
    expect(c).toEqual(referenceInt(m, n, k, a16, () => 0, b8));
    const a8 = view(int8s(m * k, next), 0, k);
    igemmWasm(m, n, k, a8, bu8, view(c, 0, n), { bZero: 3, aZero: 1000 });
    expect(c).toEqual(referenceInt(m, n, k, a8, () => 1000, view(Int16Array.from(bu8.data, (x) => x - 3), 0, n)));
    const a = view(int8s(m * k, next), 0, k);
    const want = referenceInt(m, n, k, a, () => 5, b8);
    const packed = packB("int8", b8, k, n);
    setWasmKernels(false);
    igemmWasm(m, n, k, a, packed, view(c, 0, n), { aZero: 5 });
    expect(c).toEqual(want);
    const packedWithout = packB("int8", b8, k, n); // holds no panels: packed per call once enabled
    expect(packedWithout.address).toBeUndefined();
    setWasmKernels(true);
    c.fill(0);
    igemmWasm(m, n, k, a, packedWithout, view(c, 0, n), { aZero: 5 });
    expect(c).toEqual(want);
    packed.dispose();
    packedWithout.dispose();
  });
});

describe("sgemmWasmExact", () => {
  it("is bit-identical to sgemm: thin and tiled shapes, depth blocks, α, accumulation, −0", () => {
    const next = generator(5);
    for (const [m, n, k] of [...SHAPES, [9, 12, 600], [3, 20, 700], [20, 2, 513]] as [number, number, number][]) {
      const a = view(floats(m * k, next), 0, k);
      a.data.fill(0, 0, k); // row 0 of the product is +0, and −0 once scaled by a negative α
      // sgemm's thin path has one loop for a row-major B and another for a transposed one.
      for (const [b, opts] of [
        [view(floats(k * n, next), 0, n), {}],
        [view(floats(n * k, next), 0, k, true), { alpha: -0.75 }],
        [view(floats(k * n, next), 0, n), { alpha: 1.5, accumulate: true }],
        [view(floats(n * k, next), 0, k, true), { accumulate: true }],
      ] as const) {
        const c0 = floats(m * n, next);
        const want = c0.slice();
        const got = c0.slice();
        sgemm(m, n, k, a, b, view(want, 0, n), opts);
        sgemmWasmExact(m, n, k, a, b, view(got, 0, n), opts);
        expect(bits(got), `${m}×${n}×${k} ${JSON.stringify(opts)}`).toEqual(bits(want));
      }
    }
  });

  it("is bit-identical with packed weights and float64 operands", () => {
    const next = generator(6);
    const [m, n, k] = [17, 23, 300];
    const b = view(Float64Array.from(floats(k * n, next), (x) => x / 3), 0, n);
    const packed = packB("float64", b, k, n);
    const a = view(floats(m * k, next), 0, k);
    const want = new Float32Array(m * n);
    const got = new Float32Array(m * n);
    sgemm(m, n, k, a, b, view(want, 0, n));
    sgemmWasmExact(m, n, k, a, packed, view(got, 0, n));
    expect(bits(got)).toEqual(bits(want));
    expect(() => sgemmWasm(m, n, k, a, packed, view(got, 0, n))).toThrow(/float64 300×23, the product needs float32/);
    packed.dispose();
  });
});

describe("sgemmWasm", () => {
  it("is within 1e-5 relative of a float64 reference", () => {
    const next = generator(7);
    for (const [m, n, k] of [...SHAPES, [40, 50, 1000]] as [number, number, number][]) {
      const a = view(floats(m * k, next), 0, k);
      const b = view(floats(k * n, next), 0, n);
      for (const opts of [{}, { alpha: -0.5, accumulate: true }]) {
        const c0 = floats(m * n, next);
        const c = c0.slice();
        sgemmWasm(m, n, k, a, b, view(c, 0, n), opts);
        const ref = referenceFloat(m, n, k, a, b, opts.alpha ?? 1, opts.accumulate ? c0 : undefined);
        for (let i = 0; i < m * n; i++) {
          // Relative to Σ|a·b|: the sum itself may cancel to near 0.
          expect(Math.abs(c[i]! - ref.value[i]!), `${m}×${n}×${k} element ${i}`).toBeLessThanOrEqual(1e-5 * ref.magnitude[i]! + 1e-30);
        }
      }
    }
  });

  it("is within 1e-5 relative on positive data, where the sum is its own magnitude", () => {
    const next = generator(8);
    const [m, n, k] = [21, 27, 2000];
    const a = view(floats(m * k, next, 0, 1), 0, k);
    const b = view(floats(k * n, next, 0, 1), 0, n);
    const c = new Float32Array(m * n);
    sgemmWasm(m, n, k, a, packB("float32", b, k, n), view(c, 0, n));
    const ref = referenceFloat(m, n, k, a, b);
    for (let i = 0; i < m * n; i++) expect(Math.abs(c[i]! / ref.value[i]! - 1)).toBeLessThan(1e-5);
  });
});

describe("wasm memory", () => {
  it("grows for a large product and keeps resident weights and small products right afterwards", () => {
    const next = generator(9);
    const heap = wasmRuntime()!.heap;
    const [m, n, k] = [6, 10, 14];
    const b = view(int8s(k * n, next), 0, n);
    const packed = packB("int8", b, k, n);
    const a = view(int8s(m * k, next), 0, k);
    const small = () => {
      const c = new Int32Array(m * n);
      igemmWasm(m, n, k, a, packed, view(c, 0, n));
      return c;
    };
    const before = small();
    expect(before).toEqual(referenceInt(m, n, k, a, () => 0, b));

    const [bm, bn, bk] = [300, 200, 3000]; // A takes 7.2 MB as float64 in the exact kernel
    const ba = view(floats(bm * bk, next), 0, bk);
    const bb = view(floats(bk * bn, next), 0, bn);
    const want = new Float32Array(bm * bn);
    const got = new Float32Array(bm * bn);
    sgemm(bm, bn, bk, ba, bb, view(want, 0, bn));
    sgemmWasmExact(bm, bn, bk, ba, bb, view(got, 0, bn));
    expect(bits(got)).toEqual(bits(want));
    expect(heap.buffer.byteLength).toBeGreaterThan(bm * bk * 8); // nothing else in this file needs as much

    expect(small()).toEqual(before);
    packed.dispose();
  });

  it("reuses a disposed block and refuses a disposed handle", () => {
    const b = view(new Int8Array(64 * 64), 0, 64);
    const first = packB("int8", b, 64, 64);
    const second = packB("int8", b, 64, 64);
    const address = first.address;
    first.dispose();
    const third = packB("int8", b, 64, 64);
    expect(third.address).toBe(address);
    expect(second.address).not.toBe(address);
    expect(() => igemmWasm(1, 64, 64, view(new Int8Array(64), 0, 64), first, view(new Int32Array(64), 0, 64))).toThrow(/after dispose/);
    second.dispose();
    third.dispose();
  });
});
