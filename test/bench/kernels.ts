/**
 * Micro-benchmark of the GEMM kernels: plain TypeScript (../../ir/kernels/gemm.ts) against the
 * WebAssembly SIMD ones (../../ir/kernels/wasm/), with the cost of copying operands in and out.
 *
 *   npx tsc -p tsconfig.json && node dist/test/bench/kernels.js [m n k]
 *
 * Per kind, "call" includes packing B on every call, "resident" passes B packed once by packB,
 * "kernel" runs the wasm kernel alone on operands already in place; the differences are the copy
 * costs. Prints one JSON document (ms are medians; GOPS = 2·m·n·k / time).
 */
import { igemm, sgemmTs, view } from "../../ir/kernels/gemm.js";
import { igemmWasm, packB, sgemmWasm, sgemmWasmExact } from "../../ir/kernels/wasm/gemm.js";
import { wasmRuntime } from "../../ir/kernels/wasm/runtime.js";
import { xorshift32 } from "../../ir/numeric.js";

const [m, n, k] = process.argv.length > 4 ? process.argv.slice(2, 5).map(Number) as [number, number, number] : [512, 512, 512];
const ops = 2 * m * n * k;

/** Median wall time in ms of `fn` over enough repetitions to fill about `budgetMs`. */
function time(fn: () => void, budgetMs = 1500): number {
  const t0 = performance.now();
  fn();
  const first = performance.now() - t0;
  const reps = Math.max(5, Math.min(200, Math.floor(budgetMs / Math.max(first, 1e-3))));
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    fn();
    samples.push(performance.now() - s);
  }
  samples.sort((x, y) => x - y);
  return samples[samples.length >> 1]!;
}

const rate = (ms: number) => ({ ms: +ms.toFixed(3), gops: +(ops / ms / 1e6).toFixed(1) });

let seed = 12345;
const next = () => (seed = xorshift32(seed));

const rt = wasmRuntime();
if (!rt) throw new Error("this engine has no WebAssembly SIMD");
const { kernels, heap } = rt;
const np = Math.ceil(n / 8);
const ldc = np * 8 * 4;

/**
 * Time of a bare kernel call: `stage` writes A (aBytes) at the scratch address it is given and
 * returns the call, whose C follows A.
 */
function kernelTime(aBytes: number, stage: (at: number) => () => void): number {
  heap.resetScratch();
  return time(stage(heap.take(aBytes + Math.ceil(m / 4) * 4 * ldc)));
}

function int8(): Record<string, unknown> {
  const a = view(Int8Array.from({ length: m * k }, next), 0, k);
  const au = view(Uint8Array.from({ length: m * k }, next), 0, k);
  const b = view(Int8Array.from({ length: k * n }, next), 0, n);
  const c = view(new Int32Array(m * n), 0, n);
  const packed = packB("int8", b, k, n);
  const kp = (k + 1) >> 1;
  const result = {
    typescript: rate(time(() => igemm(m, n, k, a, b, c), 4000)),
    wasmCall: rate(time(() => igemmWasm(m, n, k, a, b, c))),
    wasmResident: rate(time(() => igemmWasm(m, n, k, a, packed, c))),
    wasmResidentUint8ZeroPoint: rate(time(() => igemmWasm(m, n, k, au, packed, c, { aZero: 128 }))),
    wasmKernel: rate(kernelTime(m * kp * 4, (wide) => {
      new Int16Array(heap.buffer, wide, m * k).set(a.data); // any int16 values time the same
      return () => kernels.gemm_i8(wide, kp * 4, m, packed.address!, kp, np, wide + m * kp * 4, ldc, 0);
    })),
    packBMs: +time(() => packB("int8", b, k, n).dispose()).toFixed(3),
  };
  packed.dispose();
  return result;
}

function float32(): Record<string, unknown> {
  const a = view(Float32Array.from({ length: m * k }, () => next() / 2 ** 32 - 0.5), 0, k);
  const b = view(Float32Array.from({ length: k * n }, () => next() / 2 ** 32 - 0.5), 0, n);
  const c = view(new Float32Array(m * n), 0, n);
  const fast = packB("float32", b, k, n);
  const exact = packB("float64", b, k, n);

  const want = new Float32Array(m * n);
  const gotFast = new Float32Array(m * n);
  const gotExact = new Float32Array(m * n);
  sgemmTs(m, n, k, a, b, view(want, 0, n));
  sgemmWasm(m, n, k, a, fast, view(gotFast, 0, n));
  sgemmWasmExact(m, n, k, a, exact, view(gotExact, 0, n));

  const result = {
    typescript: rate(time(() => sgemmTs(m, n, k, a, b, c), 4000)),
    fastCall: rate(time(() => sgemmWasm(m, n, k, a, b, c))),
    fastResident: rate(time(() => sgemmWasm(m, n, k, a, fast, c))),
    fastKernel: rate(kernelTime(m * k * 4, (aPtr) => {
      new Float32Array(heap.buffer, aPtr, m * k).set(a.data);
      return () => kernels.gemm_f32(aPtr, k * 4, m, fast.address!, k, np, aPtr + m * k * 4, ldc, 1, 0);
    })),
    exactCall: rate(time(() => sgemmWasmExact(m, n, k, a, b, c))),
    exactResident: rate(time(() => sgemmWasmExact(m, n, k, a, exact, c))),
    exactKernel: rate(kernelTime(m * k * 8, (aPtr) => {
      new Float64Array(heap.buffer, aPtr, m * k).set(a.data);
      return () => kernels.gemm_f64(aPtr, k * 8, m, exact.address!, k * 64, k, np, aPtr + m * k * 8, ldc, 1, 0);
    })),
    packBMs: { float32: +time(() => packB("float32", b, k, n).dispose()).toFixed(3), float64: +time(() => packB("float64", b, k, n).dispose()).toFixed(3) },
    versusTypeScript: { fast: difference(gotFast, want), exact: difference(gotExact, want) },
  };
  fast.dispose();
  exact.dispose();
  return result;
}

/** How many elements differ from sgemmTs's, and the largest difference relative to the largest result. */
function difference(got: Float32Array, want: Float32Array) {
  let differing = 0;
  let maxDiff = 0;
  let scale = 0;
  for (let i = 0; i < got.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    if (Object.is(got[i], want[i])) continue;
    differing++;
    maxDiff = Math.max(maxDiff, Math.abs(got[i]! - want[i]!));
  }
  return { differing, of: got.length, maxDiffOverMaxResult: +(maxDiff / scale).toExponential(2) };
}

console.log(JSON.stringify({ shape: { m, n, k }, int8: int8(), float32: float32(), wasmMemoryBytes: heap.buffer.byteLength }, null, 2));
