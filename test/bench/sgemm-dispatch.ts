/**
 * The measurements behind `sgemm`'s choice between TypeScript and WebAssembly
 * (../../ir/kernels/gemm.ts): both kernels timed over a grid of shapes, with B row-major and
 * transposed, next to the kernel `sgemm` picks.
 *
 *   npx tsc -p tsconfig.json && node dist/test/bench/sgemm-dispatch.js
 *
 * Prints one JSON document: per shape the median µs of each kernel and of `sgemm`, and their
 * ratio (> 1: WebAssembly is faster); `misses` lists the shapes where `sgemm` is more than 10%
 * slower than the faster kernel.
 */
import { sgemm, sgemmTs, view } from "../../ir/kernels/gemm.js";
import { sgemmWasmExact } from "../../ir/kernels/wasm/gemm.js";
import { xorshift32 } from "../../ir/numeric.js";

const SIDES = [1, 2, 4, 8, 16, 64, 256, 1024];
const DEPTHS = [1, 16, 256, 1024];
/** Largest m·n·k timed: the grid stays under a minute. */
const MAX_WORK = 2 ** 24;

/** Median wall time in µs of `fn` over enough repetitions to fill about `budgetMs`. */
function time(fn: () => void, budgetMs = 40): number {
  fn();
  const t0 = performance.now();
  fn();
  const first = performance.now() - t0;
  const reps = Math.max(5, Math.min(2000, Math.floor(budgetMs / Math.max(first, 1e-3))));
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    fn();
    samples.push(performance.now() - s);
  }
  samples.sort((x, y) => x - y);
  return samples[samples.length >> 1]! * 1000;
}

let seed = 2024;
const random = () => (seed = xorshift32(seed)) / 2 ** 32 - 0.5;

interface Row {
  m: number;
  n: number;
  k: number;
  b: "row-major" | "transposed";
  typescriptUs: number;
  wasmUs: number;
  sgemmUs: number;
  ratio: number;
}

const rows: Row[] = [];
for (const m of SIDES) {
  for (const n of SIDES) {
    for (const k of DEPTHS) {
      if (m * n * k > MAX_WORK) continue;
      const a = view(Float32Array.from({ length: m * k }, random), 0, k);
      const bData = Float32Array.from({ length: k * n }, random);
      const c = view(new Float32Array(m * n), 0, n);
      for (const transposed of [false, true]) {
        const b = transposed ? view(bData, 0, k, true) : view(bData, 0, n);
        const typescriptUs = time(() => sgemmTs(m, n, k, a, b, c));
        const wasmUs = time(() => sgemmWasmExact(m, n, k, a, b, c));
        const sgemmUs = time(() => sgemm(m, n, k, a, b, c));
        const round = (x: number) => +x.toFixed(1);
        rows.push({
          m, n, k, b: transposed ? "transposed" : "row-major",
          typescriptUs: round(typescriptUs), wasmUs: round(wasmUs), sgemmUs: round(sgemmUs), ratio: +(typescriptUs / wasmUs).toFixed(2),
        });
      }
    }
  }
}

const misses = rows.filter((r) => r.sgemmUs > 1.1 * Math.min(r.typescriptUs, r.wasmUs));
console.log(JSON.stringify({ shapes: rows.length, misses, rows }, null, 1));
