/**
 * An NNA program and its binary container (`.nnab`, docs/nna-isa.md "File formats"), all
 * little-endian:
 *
 *   header (40 bytes): "NNAB" · u16 version · u16 0 · 8-byte config hash · u32 dramBytes ·
 *                      u32 #instructions · u32 #tensors · u32 #layer names · u32 #segments · u32 0
 *   instructions:      32 bytes each (encode.ts)
 *   tensors:           str name · u8 kind (0 input, 1 output) · u8 dtype · u8 rank · u8 layout (0 dense, 1 nhwc) ·
 *                      u32 dims[rank] · u32 addr · f32 scale · i32 zero point
 *   layer names:       u16 id · str name
 *   segments:          u32 addr · u32 length · bytes        (constants: weights, biases, tables)
 *   str = u16 byte length · UTF-8
 *
 * The reader accepts exactly what the writer produces, so `encodeProgram(decodeProgram(b))`
 * returns `b` byte for byte.
 */
import { HwacError } from "../../ir/errors.js";
import { decodeInsn, encodeInsn, WORD_BYTES } from "./encode.js";
import type { Insn } from "./isa.js";

export const NNAB_MAGIC = "NNAB";
export const NNAB_VERSION = 1;

/** Element types of program inputs and outputs, as ir/dtype.ts names them. */
export type IoDType = "int8" | "uint8" | "int4" | "uint4" | "int16" | "int32";
export const IO_DTYPES: readonly IoDType[] = ["int8", "uint8", "int4", "uint4", "int16", "int32"];

/**
 * How an I/O tensor's codes sit in DRAM. `dense`: row-major codes of its shape (int4/uint4 packed
 * two per byte, low nibble first). `nhwc`: an [N, C, spatial…] tensor of 8-bit codes stored pixel
 * by pixel (N·spatial rows, image by image, spatial positions row-major), each pixel's C channels
 * followed by padding up to a multiple of NHWC_ALIGN bytes whose contents mean nothing. The host
 * converts, as it quantizes: this is the layout convolutions read by DMA.
 */
export type TensorLayout = "dense" | "nhwc";
export const TENSOR_LAYOUTS: readonly TensorLayout[] = ["dense", "nhwc"];

/** An nhwc pixel's bytes: its channels rounded up to a multiple of this (the default array's width). */
export const NHWC_ALIGN = 16;

/** Bytes of one nhwc pixel of `channels` channels. */
export function nhwcPitch(channels: number): number {
  return Math.ceil(channels / NHWC_ALIGN) * NHWC_ALIGN;
}

/** A program input or output in DRAM, standing for `scale · (q − zeroPoint)`. */
export interface IoTensor {
  name: string;
  kind: "input" | "output";
  dtype: IoDType;
  shape: number[];
  addr: number;
  scale: number;
  zeroPoint: number;
  /** Absent means dense (the decoder leaves it out for dense tensors). */
  layout?: TensorLayout;
}

/** Bytes placed in DRAM before the program runs. */
export interface Segment {
  addr: number;
  data: Uint8Array;
}

export interface LayerName {
  id: number;
  name: string;
}

export interface Program {
  /** 16 hex digits: `configHash` of the machine config the program was built for. */
  configHash: string;
  /** Size of the DRAM image the program addresses. */
  dramBytes: number;
  tensors: IoTensor[];
  layers: LayerName[];
  segments: Segment[];
  insns: Insn[];
}

export function elementBits(d: IoDType): number {
  return d === "int4" || d === "uint4" ? 4 : d === "int16" ? 16 : d === "int32" ? 32 : 8;
}

/** DRAM bytes of an I/O tensor. */
export function tensorBytes(t: IoTensor): number {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (t.layout === "nhwc") return n === 0 ? 0 : (n / t.shape[1]!) * nhwcPitch(t.shape[1]!);
  return Math.ceil((n * elementBits(t.dtype)) / 8);
}

/** A rule of the program's tables that does not hold: which entry, and why. */
export interface TableProblem {
  readonly table: "header" | "tensors" | "layers" | "segments";
  readonly index: number;
  readonly message: string;
}

/** The first entry of the program's tables that does not fit its DRAM or repeats a name. */
export function checkTables(p: Program): TableProblem | undefined {
  if (!/^[0-9a-f]{16}$/.test(p.configHash)) {
    return { table: "header", index: 0, message: `config hash must be 16 lowercase hex digits, got "${p.configHash}"` };
  }
  for (const [index, t] of p.tensors.entries()) {
    const problem = (message: string): TableProblem => ({ table: "tensors", index, message });
    if (p.tensors.findIndex((u) => u.name === t.name) !== index) return problem(`tensor "${t.name}" is declared twice`);
    if (!(t.scale > 0) || !Number.isFinite(t.scale)) return problem(`tensor "${t.name}" needs a positive finite scale, got ${t.scale}`);
    if (t.layout === "nhwc" && (t.shape.length < 2 || elementBits(t.dtype) !== 8)) {
      return problem(`tensor "${t.name}" in nhwc layout must be [N, C, …] 8-bit codes, got ${t.dtype}[${t.shape.join(", ")}]`);
    }
    const end = t.addr + tensorBytes(t);
    if (end > p.dramBytes) return problem(`tensor "${t.name}" ends at ${end}, past the DRAM size ${p.dramBytes}`);
  }
  for (const [index, l] of p.layers.entries()) {
    if (p.layers.findIndex((m) => m.id === l.id) !== index) return { table: "layers", index, message: `layer ${l.id} is named twice` };
  }
  for (const [index, s] of p.segments.entries()) {
    const end = s.addr + s.data.length;
    if (end > p.dramBytes) return { table: "segments", index, message: `data at 0x${s.addr.toString(16)} ends at ${end}, past the DRAM size ${p.dramBytes}` };
  }
  return undefined;
}

/** Little-endian writes into a buffer of the program's exact size (computed before). */
class Writer {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private length = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  private room(n: number): number {
    const at = this.length;
    this.length += n;
    return at;
  }
  u8(v: number): void { this.view.setUint8(this.room(1), v); }
  u16(v: number): void { this.view.setUint16(this.room(2), v, true); }
  u32(v: number): void { this.view.setUint32(this.room(4), v, true); }
  i32(v: number): void { this.view.setInt32(this.room(4), v, true); }
  f32(v: number): void { this.view.setFloat32(this.room(4), v, true); }
  /** Writes `b`; returns where it starts. */
  bytes(b: Uint8Array): number {
    const at = this.room(b.length);
    this.buf.set(b, at);
    return at;
  }
  /** The next `n` bytes, still zero, for a writer that fills them in place (an instruction word). */
  zeros(n: number): Uint8Array {
    const at = this.room(n);
    return this.buf.subarray(at, at + n);
  }
  /** A name, UTF-8 encoded before (to size the buffer): u16 length · bytes. */
  str(b: Uint8Array): void {
    if (b.length > 0xffff) throw new HwacError("HW5010", `a name of ${b.length} bytes is longer than 65535`);
    this.u16(b.length);
    this.bytes(b);
  }
  result(): Uint8Array {
    if (this.length !== this.buf.length) throw new Error(`wrote ${this.length} bytes of a program planned as ${this.buf.length}`);
    return this.buf;
  }
}

const HEADER_BYTES = 40;

export function encodeProgram(p: Program): Uint8Array {
  return encodeProgramSharing(p).bytes;
}

/**
 * The binary, and `p` with each segment's data a view of the binary's copy: a compile that keeps
 * both (to print the assembly later) holds the weights once.
 */
export function encodeProgramSharing(p: Program): { bytes: Uint8Array; program: Program } {
  const bad = checkTables(p);
  if (bad) throw new HwacError("HW5010", bad.message);
  const utf8 = new TextEncoder();
  const tensorNames = p.tensors.map((t) => utf8.encode(t.name));
  const layerNames = p.layers.map((l) => utf8.encode(l.name));
  // Sized first and written once: a program is mostly its weight segments, never worth copying.
  let size = HEADER_BYTES + p.insns.length * WORD_BYTES;
  p.tensors.forEach((t, i) => (size += 2 + tensorNames[i]!.length + 4 + 4 * t.shape.length + 12));
  layerNames.forEach((n) => (size += 4 + n.length));
  for (const s of p.segments) size += 8 + s.data.length;
  const w = new Writer(size);
  w.bytes(utf8.encode(NNAB_MAGIC));
  w.u16(NNAB_VERSION);
  w.u16(0);
  for (let i = 0; i < 8; i++) w.u8(parseInt(p.configHash.slice(2 * i, 2 * i + 2), 16));
  for (const n of [p.dramBytes, p.insns.length, p.tensors.length, p.layers.length, p.segments.length, 0]) w.u32(n);
  for (const insn of p.insns) encodeInsn(insn, w.zeros(WORD_BYTES));
  p.tensors.forEach((t, i) => {
    w.str(tensorNames[i]!);
    w.u8(t.kind === "input" ? 0 : 1);
    w.u8(IO_DTYPES.indexOf(t.dtype));
    w.u8(t.shape.length);
    w.u8(TENSOR_LAYOUTS.indexOf(t.layout ?? "dense"));
    t.shape.forEach((d) => w.u32(d));
    w.u32(t.addr);
    w.f32(t.scale);
    w.i32(t.zeroPoint);
  });
  p.layers.forEach((l, i) => {
    w.u16(l.id);
    w.str(layerNames[i]!);
  });
  const segments = p.segments.map((s) => {
    w.u32(s.addr);
    w.u32(s.data.length);
    return { at: w.bytes(s.data), s };
  });
  const bytes = w.result();
  return { bytes, program: { ...p, segments: segments.map(({ at, s }) => ({ ...s, data: bytes.subarray(at, at + s.data.length) })) } };
}

class Reader {
  private at = 0;
  private readonly view: DataView;
  private readonly utf8 = new TextDecoder("utf-8", { fatal: true });

  constructor(readonly buf: Uint8Array, private readonly file?: string) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  fail(msg: string): never {
    throw new HwacError("HW5010", `not a valid .nnab file: ${msg} (at byte ${this.at})`, this.file === undefined ? {} : { file: this.file });
  }
  take(n: number): number {
    if (this.at + n > this.buf.length) this.fail(`it ends after ${this.buf.length} bytes`);
    const at = this.at;
    this.at += n;
    return at;
  }
  u8(): number { return this.view.getUint8(this.take(1)); }
  u16(): number { return this.view.getUint16(this.take(2), true); }
  u32(): number { return this.view.getUint32(this.take(4), true); }
  i32(): number { return this.view.getInt32(this.take(4), true); }
  f32(): number { return this.view.getFloat32(this.take(4), true); }
  bytes(n: number): Uint8Array { return this.buf.slice(this.take(n), this.at); }
  str(): string {
    const b = this.bytes(this.u16());
    try {
      return this.utf8.decode(b);
    } catch {
      return this.fail("a name is not UTF-8");
    }
  }
  zero(what: string): void {
    if (this.u8() !== 0) this.fail(`${what} must be 0`);
  }
  done(): boolean { return this.at === this.buf.length; }
}

export function decodeProgram(bytes: Uint8Array, file?: string): Program {
  const r = new Reader(bytes, file);
  if (new TextDecoder().decode(r.bytes(4)) !== NNAB_MAGIC) r.fail(`the magic is not "${NNAB_MAGIC}"`);
  const version = r.u16();
  if (version !== NNAB_VERSION) r.fail(`version ${version} is not ${NNAB_VERSION}`);
  r.zero("the reserved header bytes");
  r.zero("the reserved header bytes");
  const configHash = Array.from(r.bytes(8), (b) => b.toString(16).padStart(2, "0")).join("");
  const [dramBytes, nInsn, nTensor, nLayer, nSeg, reserved] = Array.from({ length: 6 }, () => r.u32());
  if (reserved !== 0) r.fail("the reserved header word must be 0");
  const insns: Insn[] = [];
  for (let i = 0; i < nInsn!; i++) {
    const at = r.take(WORD_BYTES);
    try {
      insns.push(decodeInsn(bytes, at, i));
    } catch (e) {
      r.fail((e as Error).message);
    }
  }
  const tensors: IoTensor[] = [];
  for (let i = 0; i < nTensor!; i++) {
    const name = r.str();
    const kind = r.u8();
    const dtype = IO_DTYPES[r.u8()];
    const rank = r.u8();
    const layout = TENSOR_LAYOUTS[r.u8()];
    if (kind > 1 || !dtype || !layout) r.fail(`tensor "${name}" has an unknown kind, element type or layout`);
    const shape = Array.from({ length: rank }, () => r.u32());
    const t: IoTensor = { name, kind: kind === 0 ? "input" : "output", dtype, shape, addr: r.u32(), scale: r.f32(), zeroPoint: r.i32() };
    tensors.push(layout === "nhwc" ? { ...t, layout } : t);
  }
  const layers: LayerName[] = [];
  for (let i = 0; i < nLayer!; i++) layers.push({ id: r.u16(), name: r.str() });
  const segments: Segment[] = [];
  for (let i = 0; i < nSeg!; i++) {
    const addr = r.u32();
    segments.push({ addr, data: r.bytes(r.u32()) });
  }
  if (!r.done()) r.fail("bytes follow the last segment");
  const p: Program = { configHash, dramBytes: dramBytes!, tensors, layers, segments, insns };
  const bad = checkTables(p);
  if (bad) r.fail(bad.message);
  return p;
}
