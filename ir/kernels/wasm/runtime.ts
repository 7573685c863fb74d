/**
 * The WebAssembly instance behind the SIMD kernels, and the allocator of its memory.
 *
 * Memory holds two kinds of data. Resident blocks (packed weights) live until freed and are placed
 * first-fit among the gaps between live blocks. Scratch space for one product (staged operands, C)
 * is taken from above the highest resident block and given back wholesale by the next product, so
 * a call allocates nothing; the memory only grows (WebAssembly memory cannot shrink) to the largest
 * working set seen.
 */
import { HwacError } from "../../errors.js";
import { GEMM_WASM } from "./gemm.wasm.js";

/** The slice of the WebAssembly API used here: tsconfig's `lib` has no DOM, where TypeScript declares it. */
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { readonly exports: unknown };
};

interface Memory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The exports of gemm.wat, where the parameters are documented. */
export interface GemmExports {
  readonly memory: Memory;
  widen_i8(src: number, m: number, k: number, zero: number, zeroStep: number, unsigned: number, dst: number, ldd: number): void;
  pack_i8(src: number, kp: number, ldb: number, np: number, dst: number): void;
  pack_rows(src: number, k: number, ldb: number, np: number, width: number, dst: number): void;
  gemm_i8(a: number, lda: number, m: number, b: number, kp: number, np: number, c: number, ldc: number, accumulate: number): void;
  gemm_f32(a: number, lda: number, m: number, b: number, k: number, np: number, c: number, ldc: number, alpha: number, accumulate: number): void;
  gemm_f64(
    a: number, lda: number, m: number, b: number, panelBytes: number, kc: number, np: number,
    c: number, ldc: number, alpha: number, accumulate: number,
  ): void;
}

const PAGE = 65536;
/** wasm32 addresses 4 GiB at most. */
const MAX_BYTES = 65536 * PAGE;
/** Cache-line alignment keeps every vector load within one line. */
const ALIGN = 64;

export class Heap {
  /** Live resident blocks [start, end), sorted by start. */
  private readonly blocks: { start: number; end: number }[] = [];
  /** Next free scratch address. */
  private top = ALIGN;

  constructor(private readonly memory: Memory) {}

  /** The memory's current buffer: make views after the `take`s that precede their use, as growth detaches it. */
  get buffer(): ArrayBuffer {
    return this.memory.buffer;
  }

  /** A resident block of `bytes`, until `free`. */
  alloc(bytes: number): number {
    let start = ALIGN; // address 0 stays unused, so no block looks like a null pointer
    let at = 0;
    for (; at < this.blocks.length; at++) {
      const b = this.blocks[at]!;
      if (start + bytes <= b.start) break;
      start = alignUp(b.end);
    }
    this.reserve(start + bytes);
    this.blocks.splice(at, 0, { start, end: start + bytes });
    return start;
  }

  free(start: number): void {
    const at = this.blocks.findIndex((b) => b.start === start);
    if (at >= 0) this.blocks.splice(at, 1);
  }

  /** Gives back all scratch space: addresses taken before are invalid after this or an `alloc`. */
  resetScratch(): void {
    this.top = alignUp(this.blocks.length ? this.blocks[this.blocks.length - 1]!.end : ALIGN);
  }

  /** `bytes` of scratch space, until the next `resetScratch`. */
  take(bytes: number): number {
    const start = this.top;
    this.top = alignUp(start + bytes);
    this.reserve(this.top);
    return start;
  }

  private reserve(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    if (end > MAX_BYTES) {
      const mib = Math.ceil(end / 2 ** 20);
      throw new HwacError("HW3040", `a matrix product needs ${mib} MiB of WebAssembly memory; at most 4096 MiB can be addressed`);
    }
    // Grow geometrically so a run of slightly larger calls does not grow on every call.
    const want = Math.min(MAX_BYTES, Math.max(end, 2 * have));
    this.memory.grow(Math.ceil((want - have) / PAGE));
  }
}

function alignUp(x: number): number {
  return Math.ceil(x / ALIGN) * ALIGN;
}

export interface Runtime {
  readonly kernels: GemmExports;
  readonly heap: Heap;
}

/** undefined: not instantiated yet; null: this engine has no WebAssembly SIMD. */
let runtime: Runtime | null | undefined;
let enabled = true;

/**
 * Turns the WebAssembly kernels off (every product then runs on TypeScript) or back on: for
 * comparing the two, and for engines where they misbehave.
 */
export function setWasmKernels(on: boolean): void {
  enabled = on;
}

/** The instance, or undefined when disabled or unsupported (then callers use TypeScript). */
export function wasmRuntime(): Runtime | undefined {
  if (!enabled) return undefined;
  if (runtime === undefined) runtime = instantiate();
  return runtime ?? undefined;
}

function instantiate(): Runtime | null {
  const bytes = Buffer.from(GEMM_WASM, "base64");
  if (typeof WebAssembly !== "object" || !WebAssembly.validate(bytes)) return null;
  const kernels = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as GemmExports;
  return { kernels, heap: new Heap(kernels.memory) };
}
