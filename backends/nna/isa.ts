/**
 * The NNA instruction set (docs/nna-isa.md). Every instruction is one 256-bit word; fields are
 * packed from bit 0 upwards, little-endian, signed fields in two's complement. Bits past an
 * instruction's last field are zero. The common header of every instruction:
 *
 *   bits 0–3 op · 4 popPrev · 5 popNext · 6 pushPrev · 7 pushNext · 8–23 layer
 *
 * Each doc comment below is the semantics the simulator (sim/) implements, as pseudo-code over
 * the memories `dram` (bytes), `inp` (vectors of blockIn int8), `wgt` (blocks of blockIn ×
 * blockOut bytes), `acc` (vectors of blockOut int32), `out` (bytes) and `lut` (int16 entries).
 * `wrap32` is two's-complement wrap-around to int32; `int8(b)`/`int16(b)` reinterpret low bits.
 */

/** The three instruction queues; tokens flow between neighbours load ↔ compute ↔ store. */
export type Queue = "load" | "compute" | "store";
export const QUEUES: readonly Queue[] = ["load", "compute", "store"];

/**
 * Dependency tokens (VTA's scheme). "prev" is the queue before this one in load → compute →
 * store, "next" the one after. A pop waits until a token from that queue is there and takes it;
 * a push sends one when the instruction completes.
 */
export interface Deps {
  popPrev: boolean;
  popNext: boolean;
  pushPrev: boolean;
  pushNext: boolean;
}

interface Common {
  deps: Deps;
  /** Which layer of the source model the instruction belongs to (per-layer statistics). */
  layer: number;
}

export type Mem = "inp" | "wgt" | "acc" | "lut";
export const MEMS: readonly Mem[] = ["inp", "wgt", "acc", "lut"];

/**
 * How DRAM bytes become scratchpad elements: i8/i16/i32 sign-extend; i4 unpacks two per byte
 * (low nibble first) into int8 for `inp` and is kept packed for `wgt`; cbN reads N-bit codebook
 * indices and writes the int8 centroids they select.
 */
export type LoadMode = "i8" | "i4" | "i16" | "i32" | "cb2" | "cb4" | "cb8";
export const LOAD_MODES: readonly LoadMode[] = ["i8", "i4", "i16", "i32", "cb2", "cb4", "cb8"];

/**
 * LOAD (op 1, load queue): a 2-D strided DMA from DRAM into a scratchpad, padded by a value.
 *
 *   bits 24–39 sram · 40–71 dram · 72–87 ySize · 88–103 xSize · 104–135 yStride · 136–167 xStride ·
 *   168–175 padTop · 176–183 padBottom · 184–191 padLeft · 192–199 padRight · 200–215 padValue (signed) ·
 *   216–231 table · 232–247 tableStride · 248–249 mem · 250–252 mode
 *
 *   H = padTop + ySize + padBottom;  W = padLeft + xSize + padRight
 *   for y < H, x < W:
 *     e = sram + y·W + x                                  // element address in `mem`
 *     if padTop ≤ y < padTop + ySize and padLeft ≤ x < padLeft + xSize:
 *       mem[e] = convert(mode, dram[dram + (y − padTop)·yStride + (x − padLeft)·xStride ...])
 *     else:
 *       every lane/byte of mem[e] = padValue
 *
 * Elements and their DRAM bytes: inp — a vector (i8: blockIn bytes; i4: blockIn/2);
 * wgt — a block (i8, i4: blockIn·blockOut bytes; cbN: blockIn·blockOut·N/8 bytes, weight (k, n) =
 * int8(lut[table + n·tableStride + index(k, n)])); acc — a vector (i8/i16/i32: blockOut lanes of
 * 1/2/4 bytes); lut — one entry (i8, i16). Padding applies to inp and acc only.
 */
export interface Load extends Common {
  op: "load";
  mem: Mem;
  mode: LoadMode;
  sram: number;
  dram: number;
  ySize: number;
  xSize: number;
  yStride: number;
  xStride: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  padValue: number;
  table: number;
  tableStride: number;
}

export type StoreMode = "bytes" | "pack4";
export const STORE_MODES: readonly StoreMode[] = ["bytes", "pack4"];

/**
 * STORE (op 2, store queue): a 2-D DMA from the output scratchpad to DRAM.
 *
 *   bits 24–39 sram · 40–71 dram · 72–87 ySize · 88–103 xSize · 104–135 yStride · 136–151 srcStride ·
 *   152 mode
 *
 *   for y < ySize:
 *     row = out[sram + y·srcStride ..+ xSize]
 *     bytes:  dram[dram + y·yStride ..+ xSize] = row
 *     pack4:  dram[dram + y·yStride + j] = (row[2j] & 15) | (row[2j+1] & 15) << 4   for j < ceil(xSize/2)
 *             (an odd row's last high nibble is 0)
 */
export interface Store extends Common {
  op: "store";
  mode: StoreMode;
  sram: number;
  dram: number;
  ySize: number;
  xSize: number;
  yStride: number;
  srcStride: number;
}

export type GemmMode = "i8" | "i4";
export const GEMM_MODES: readonly GemmMode[] = ["i8", "i4"];

/**
 * GEMM (op 3, compute queue): accumulate input rows times a column of weight blocks.
 *
 *   bits 24–39 acc · 40–55 inp · 56–71 wgt · 72–87 rows · 88–103 inpStride · 104–119 inpKStride ·
 *   120–135 accStride · 136–167 mask · 168–175 izp (signed) · 176–183 wzp (signed) · 184–189 kBlocks ·
 *   190 mode
 *
 *   N = blockOut (i8) or 2·blockOut (i4: a block holds blockIn × 2·blockOut int4, two per byte,
 *       row-major, low nibble first; output lanes n ≥ blockOut go to the next acc vector)
 *   for m < rows:
 *     j = 0
 *     for kb < kBlocks:
 *       if mask bit kb is 0: continue                       // a zero block, stored nowhere
 *       x = inp[inp + m·inpStride + kb·inpKStride];  B = wgt[wgt + j];  j += 1
 *       for n < N:
 *         acc[acc + m·accStride][n] = wrap32(acc[..][n] + Σ_{k<blockIn} (x[k] − izp)·(B[k][n] − wzp))
 *
 * Zero points are subtracted by the array (9-bit operands), so the bias stays the reference's
 * int32 bias and padding with the input's zero point contributes exactly nothing.
 */
export interface Gemm extends Common {
  op: "gemm";
  mode: GemmMode;
  acc: number;
  inp: number;
  wgt: number;
  rows: number;
  kBlocks: number;
  mask: number;
  inpStride: number;
  inpKStride: number;
  accStride: number;
  izp: number;
  wzp: number;
}

export type VecFn = "add" | "sub" | "mul" | "min" | "max" | "shl" | "shr" | "rshr" | "requant" | "lut8" | "lut16";
export const VEC_FNS: readonly VecFn[] = ["add", "sub", "mul", "min", "max", "shl", "shr", "rshr", "requant", "lut8", "lut16"];
export type VecDst = "acc" | "out";
export const VEC_DSTS: readonly VecDst[] = ["acc", "out"];
export type VecDType = "i8" | "i16" | "i32";
export const VEC_DTYPES: readonly VecDType[] = ["i8", "i16", "i32"];

/**
 * VEC (op 4, compute queue): the vector unit, one accumulator vector per step over a 2-D loop.
 *
 *   bits 24–39 dst · 40–55 src · 56–71 src2 · 72–87 imm (signed) · 88–103 lo (signed) ·
 *   104–119 hi (signed) · 120–135 dstRowStride · 136–151 dstColStride · 152–167 srcRowStride ·
 *   168–183 srcColStride · 184–199 src2RowStride · 200–215 src2ColStride · 216–227 rows ·
 *   228–239 cols · 240–243 fn · 244 dstMem · 245–246 dtype · 247 useImm · 248 clamp
 *
 *   [L, H] = clamp ? [lo, hi] : [−2^31, 2^31 − 1]
 *   for r < rows, c < cols:                      // in this order; each step sees earlier writes
 *     s = src + r·srcRowStride + c·srcColStride;  s2 = src2 + r·src2RowStride + c·src2ColStride
 *     d = dst + r·dstRowStride + c·dstColStride   // acc: vector index; out: byte address
 *     for lane j < blockOut:
 *       a = acc[s][j];  b = useImm ? imm : acc[s2][j]
 *       y = add: wrap32(a + b) | sub: wrap32(a − b) | mul: wrap32(a·b) | min | max
 *         | shl: wrap32(a << (b & 31)) | shr: a >> (b & 31) (floor)
 *         | rshr: floor((a + 2^(s−1)) / 2^s) with s = b & 31 (a when s = 0; rounds half up)
 *         | requant: requantize(a, M0 = acc[s2][j], shift = acc[s2 + 1][j], zOut = imm, L, H)
 *         | lut8: lut[src2 + (a & 255 ^ 128)]              (the code's int8 value + 128)
 *         | lut16: interpolate(lut[src2 ..+ 513], int16(a)) (T[i] + ((T[i+1] − T[i])·u + 64) >> 7,
 *                                                          i = (x >> 7) + 256, u = x & 127)
 *       y = min(max(y, L), H)
 *       acc: acc[d][j] = y (dtype i32)  |  out: out[d + j·size(dtype)] = low bytes of y (little-endian)
 *
 * requant is SPEC.md §2's single-rounding requantization (ir/numeric.ts `requantize`), per lane, so
 * per-channel multipliers are a vector pair (M0 at src2, shift at src2 + 1) and per-tensor ones a
 * pair with equal lanes; src2's strides make them per position too.
 */
export interface Vec extends Common {
  op: "vec";
  fn: VecFn;
  dstMem: VecDst;
  dtype: VecDType;
  useImm: boolean;
  clamp: boolean;
  dst: number;
  src: number;
  src2: number;
  imm: number;
  lo: number;
  hi: number;
  rows: number;
  cols: number;
  dstRowStride: number;
  dstColStride: number;
  srcRowStride: number;
  srcColStride: number;
  src2RowStride: number;
  src2ColStride: number;
}

/**
 * NOP (op 5, the queue it names): does nothing for one cycle; carries tokens when a queue has no
 * other instruction to attach them to.
 *
 *   bits 24–25 queue
 */
export interface Nop extends Common {
  op: "nop";
  queue: Queue;
}

/**
 * FINISH (op 6, compute queue): the last instruction of every program. Starts when every queue
 * has drained (and its own tokens are there); its end is the program's cycle count.
 */
export interface Finish extends Common {
  op: "finish";
}

export type Insn = Load | Store | Gemm | Vec | Nop | Finish;
export type Op = Insn["op"];

export function queueOf(insn: Insn): Queue {
  switch (insn.op) {
    case "load":
      return "load";
    case "store":
      return "store";
    case "nop":
      return insn.queue;
    case "gemm":
    case "vec":
    case "finish":
      return "compute";
  }
}

/** The queue before (prev) or after (next) `q` in load → compute → store, if any. */
export function neighbour(q: Queue, side: "prev" | "next"): Queue | undefined {
  return QUEUES[QUEUES.indexOf(q) + (side === "prev" ? -1 : 1)];
}

export const NO_DEPS: Deps = { popPrev: false, popNext: false, pushPrev: false, pushNext: false };

/** Elements of an interpolated int16 table (ir/kernels/fixed-point.ts TABLE_SIZE). */
export const LUT16_ENTRIES = 513;
export const LUT8_ENTRIES = 256;
/** VEC's rows and cols fields are 12 bits wide: the most steps of one loop. */
export const VEC_MAX = 4095;
/** The mask field's width bounds how many K blocks one GEMM may sum. */
export const MAX_K_BLOCKS = 32;
