/**
 * Binary encoding of instructions: one table (`LAYOUT`) gives every instruction's fields with
 * their widths, kinds and assembly keys, in bit order. The encoder, the decoder, the assembler and
 * the printer all read this table, so the bit layout documented in isa.ts has one source.
 */
import { HwacError } from "../../ir/errors.js";
import {
  GEMM_MODES, LOAD_MODES, MEMS, QUEUES, STORE_MODES, VEC_DSTS, VEC_DTYPES, VEC_FNS,
  type Gemm, type Insn, type Op,
} from "./isa.js";

/** Bytes of one instruction word. */
export const WORD_BYTES = 32;
/** Bits of the common header: op (4), four token flags, layer (16). */
export const HEADER_BITS = 24;

export type FieldKind = "uint" | "int" | "bool" | readonly string[];

export interface FieldSpec<I extends Insn = Insn> {
  /** The instruction's property. */
  readonly name: Exclude<keyof I, "op" | "deps" | "layer"> & string;
  /** The assembly key (`key=value`). */
  readonly key: string;
  readonly bits: number;
  /** Unsigned, two's-complement signed, a flag, or an enum stored as its index. */
  readonly kind: FieldKind;
  /** The value the assembler assumes when the key is omitted (and the printer leaves out). */
  readonly def?: number | ((insn: I) => number);
  /** Printed in hexadecimal (addresses in DRAM, masks). */
  readonly hex?: boolean;
}

export interface OpSpec<I extends Insn = Insn> {
  readonly code: number;
  /** The field written as the mnemonic's suffix (`load.inp`, `vec.add`, `nop.store`). */
  readonly suffix?: FieldSpec<I>["name"];
  readonly fields: readonly FieldSpec<I>[];
}

type Layouts = { readonly [O in Op]: OpSpec<Extract<Insn, { op: O }>> };

const u = (bits: number) => ({ bits, kind: "uint" as const });
const s = (bits: number) => ({ bits, kind: "int" as const });

/** Every K block present: the mask a dense GEMM of `kBlocks` blocks carries. */
export function denseMask(kBlocks: number): number {
  return kBlocks >= 32 ? 0xffffffff : 2 ** kBlocks - 1;
}

export const LAYOUT: Layouts = {
  load: {
    code: 1,
    suffix: "mem",
    fields: [
      { name: "sram", key: "sram", ...u(16) },
      { name: "dram", key: "dram", ...u(32), hex: true },
      { name: "ySize", key: "y", ...u(16), def: 1 },
      { name: "xSize", key: "x", ...u(16) },
      { name: "yStride", key: "ystride", ...u(32) },
      { name: "xStride", key: "xstride", ...u(32) },
      { name: "padTop", key: "padtop", ...u(8) },
      { name: "padBottom", key: "padbottom", ...u(8) },
      { name: "padLeft", key: "padleft", ...u(8) },
      { name: "padRight", key: "padright", ...u(8) },
      { name: "padValue", key: "padval", ...s(16) },
      { name: "table", key: "table", ...u(16) },
      { name: "tableStride", key: "tstride", ...u(16) },
      { name: "mem", key: "mem", bits: 2, kind: MEMS },
      { name: "mode", key: "mode", bits: 3, kind: LOAD_MODES },
    ],
  },
  store: {
    code: 2,
    fields: [
      { name: "sram", key: "sram", ...u(16) },
      { name: "dram", key: "dram", ...u(32), hex: true },
      { name: "ySize", key: "y", ...u(16), def: 1 },
      { name: "xSize", key: "x", ...u(16) },
      { name: "yStride", key: "ystride", ...u(32) },
      { name: "srcStride", key: "srcstride", ...u(16) },
      { name: "mode", key: "mode", bits: 1, kind: STORE_MODES },
    ],
  },
  gemm: {
    code: 3,
    fields: [
      { name: "acc", key: "acc", ...u(16) },
      { name: "inp", key: "inp", ...u(16) },
      { name: "wgt", key: "wgt", ...u(16) },
      { name: "rows", key: "rows", ...u(16), def: 1 },
      { name: "inpStride", key: "inpstride", ...u(16), def: 1 },
      { name: "inpKStride", key: "kstride", ...u(16), def: 1 },
      { name: "accStride", key: "accstride", ...u(16), def: 1 },
      { name: "mask", key: "mask", ...u(32), hex: true, def: (g: Gemm) => denseMask(g.kBlocks) },
      { name: "izp", key: "izp", ...s(8) },
      { name: "wzp", key: "wzp", ...s(8) },
      { name: "kBlocks", key: "k", ...u(6), def: 1 },
      { name: "mode", key: "mode", bits: 1, kind: GEMM_MODES },
    ],
  },
  vec: {
    code: 4,
    suffix: "fn",
    fields: [
      { name: "dst", key: "dst", ...u(16) },
      { name: "src", key: "src", ...u(16) },
      { name: "src2", key: "src2", ...u(16) },
      { name: "imm", key: "imm", ...s(16) },
      { name: "lo", key: "lo", ...s(16) },
      { name: "hi", key: "hi", ...s(16) },
      { name: "dstRowStride", key: "dstrow", ...u(16) },
      { name: "dstColStride", key: "dstcol", ...u(16) },
      { name: "srcRowStride", key: "srcrow", ...u(16) },
      { name: "srcColStride", key: "srccol", ...u(16) },
      { name: "src2RowStride", key: "src2row", ...u(16) },
      { name: "src2ColStride", key: "src2col", ...u(16) },
      { name: "rows", key: "rows", ...u(12), def: 1 },
      { name: "cols", key: "cols", ...u(12), def: 1 },
      { name: "fn", key: "fn", bits: 4, kind: VEC_FNS },
      { name: "dstMem", key: "to", bits: 1, kind: VEC_DSTS },
      { name: "dtype", key: "dtype", bits: 2, kind: VEC_DTYPES, def: VEC_DTYPES.indexOf("i32") },
      { name: "useImm", key: "useimm", bits: 1, kind: "bool" },
      { name: "clamp", key: "clamp", bits: 1, kind: "bool" },
    ],
  },
  nop: { code: 5, suffix: "queue", fields: [{ name: "queue", key: "queue", bits: 2, kind: QUEUES }] },
  finish: { code: 6, fields: [] },
};

const BY_CODE = new Map<number, Op>(Object.entries(LAYOUT).map(([op, spec]) => [spec.code, op as Op]));

export function opSpec(op: Op): OpSpec {
  return LAYOUT[op] as unknown as OpSpec;
}

/** The inclusive range of a field's values (enums and flags as their indices). */
export function fieldRange(f: FieldSpec): [number, number] {
  if (f.kind === "int") return [-(2 ** (f.bits - 1)), 2 ** (f.bits - 1) - 1];
  if (Array.isArray(f.kind)) return [0, f.kind.length - 1];
  return [0, 2 ** f.bits - 1];
}

/** A field of an instruction as the number stored (enum index, 0/1 for flags). */
export function fieldNumber(f: FieldSpec, insn: Insn): number {
  const v = (insn as unknown as Record<string, unknown>)[f.name];
  if (f.kind === "bool") return v ? 1 : 0;
  if (Array.isArray(f.kind)) return f.kind.indexOf(v as string);
  return v as number;
}

/** The value a stored number stands for in an instruction object. */
export function fieldValue(f: FieldSpec, n: number): number | boolean | string {
  if (f.kind === "bool") return n !== 0;
  if (Array.isArray(f.kind)) return f.kind[n]!;
  return n;
}

export function fieldDefault(f: FieldSpec, insn: Insn): number {
  return typeof f.def === "function" ? f.def(insn) : (f.def ?? 0);
}

/** "bits 24–39 sram · 40–71 dram · …": the layout line isa.ts and docs/nna-isa.md state. */
export function layoutLine(op: Op): string {
  let at = HEADER_BITS;
  const parts = opSpec(op).fields.map((f) => {
    const range = f.bits === 1 ? `${at}` : `${at}–${at + f.bits - 1}`;
    at += f.bits;
    return `${range} ${f.name}${f.kind === "int" ? " (signed)" : ""}`;
  });
  return parts.length ? `bits ${parts.join(" · ")}` : "";
}

function putBits(word: Uint8Array, at: number, bits: number, value: number): void {
  let v = value;
  while (bits > 0) {
    const sh = at & 7;
    const n = Math.min(8 - sh, bits);
    word[at >> 3] |= (v % 2 ** n) << sh;
    v = Math.floor(v / 2 ** n);
    at += n;
    bits -= n;
  }
}

function getBits(word: Uint8Array, at: number, bits: number): number {
  let v = 0;
  let scale = 1;
  while (bits > 0) {
    const sh = at & 7;
    const n = Math.min(8 - sh, bits);
    v += ((word[at >> 3]! >> sh) & ((1 << n) - 1)) * scale;
    scale *= 2 ** n;
    at += n;
    bits -= n;
  }
  return v;
}

const FLAGS = ["popPrev", "popNext", "pushPrev", "pushNext"] as const;

/** Why an instruction's fields do not fit its word (a value out of range, an unknown name), or undefined. */
export function fieldProblem(insn: Insn): string | undefined {
  if (!Number.isInteger(insn.layer) || insn.layer < 0 || insn.layer > 0xffff) return `${insn.op} layer must be in [0, 65535], got ${insn.layer}`;
  for (const f of opSpec(insn.op).fields) {
    const n = fieldNumber(f, insn);
    if (Array.isArray(f.kind) && n < 0) return `${insn.op} field ${f.name} must be one of ${f.kind.join(", ")}`;
    const [lo, hi] = fieldRange(f);
    if (!Number.isInteger(n) || n < lo || n > hi) return `${insn.op} field ${f.name} must be an integer in [${lo}, ${hi}], got ${n}`;
  }
  return undefined;
}

/** Writes one instruction word at `word[0..32)` (which must be zero). */
export function encodeInsn(insn: Insn, word: Uint8Array = new Uint8Array(WORD_BYTES)): Uint8Array {
  const bad = fieldProblem(insn);
  if (bad) throw new HwacError("HW5011", bad);
  const spec = opSpec(insn.op);
  putBits(word, 0, 4, spec.code);
  FLAGS.forEach((flag, i) => putBits(word, 4 + i, 1, insn.deps[flag] ? 1 : 0));
  putBits(word, 8, 16, insn.layer);
  let at = HEADER_BITS;
  for (const f of spec.fields) {
    const n = fieldNumber(f, insn);
    putBits(word, at, f.bits, n < 0 ? n + 2 ** f.bits : n);
    at += f.bits;
  }
  return word;
}

/** Reads the instruction word at `bytes[offset..offset+32)`; `index` names it in errors. */
export function decodeInsn(bytes: Uint8Array, offset: number, index: number): Insn {
  const word = bytes.subarray(offset, offset + WORD_BYTES);
  const bad = (msg: string) => new HwacError("HW5011", `instruction #${index}: ${msg}`);
  const op = BY_CODE.get(getBits(word, 0, 4));
  if (!op) throw bad(`unknown opcode ${getBits(word, 0, 4)}`);
  const spec = opSpec(op);
  const out: Record<string, unknown> = { op, layer: getBits(word, 8, 16) };
  out.deps = Object.fromEntries(FLAGS.map((flag, i) => [flag, getBits(word, 4 + i, 1) === 1]));
  let at = HEADER_BITS;
  for (const f of spec.fields) {
    let n = getBits(word, at, f.bits);
    if (f.kind === "int" && n >= 2 ** (f.bits - 1)) n -= 2 ** f.bits;
    if (Array.isArray(f.kind) && n >= f.kind.length) throw bad(`${op} field ${f.name} has no value ${n}`);
    out[f.name] = fieldValue(f, n);
    at += f.bits;
  }
  for (let b = at; b < WORD_BYTES * 8; b++) {
    if (getBits(word, b, 1)) throw bad(`${op} has bit ${b} set past its last field`);
  }
  return out as unknown as Insn;
}
