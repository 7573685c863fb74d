/**
 * Instruction words and the `.nnab` container: every layout fits one word and matches its
 * documentation; random instruction lists survive encode → decode and, as text,
 * disassemble → assemble byte for byte; malformed words and files are refused.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fieldRange, fieldValue, opSpec, HEADER_BITS } from "../../backends/nna/encode.js";
import {
  assemble, checkInsn, decodeInsn, decodeProgram, disassemble, encodeInsn, encodeProgram, LAYOUT, layoutLine, neighbour, NO_DEPS,
  parseAsm, printProgram, queueOf, WORD_BYTES, type Insn, type Op, type Program,
} from "../../backends/nna/index.js";
import { randomInts } from "./helpers.js";

const OPS = Object.keys(LAYOUT) as Op[];

/** Any instruction the word can hold: every field uniformly over its range, tokens only towards existing neighbours. */
function randomInsn(int: (lo: number, hi: number) => number): Insn {
  const op = OPS[int(0, OPS.length - 1)]!;
  const insn: Record<string, unknown> = { op, layer: int(0, 65535) };
  for (const f of opSpec(op).fields) insn[f.name] = fieldValue(f, int(...fieldRange(f)));
  const q = queueOf(insn as unknown as Insn);
  const flag = (side: "prev" | "next") => neighbour(q, side) !== undefined && int(0, 1) === 1;
  insn.deps = { popPrev: flag("prev"), popNext: flag("next"), pushPrev: flag("prev"), pushNext: flag("next") };
  return insn as unknown as Insn;
}

/** The same instruction with the fields check.ts requires to be zero or consistent made so. */
function valid(insn: Insn): Insn {
  const i = structuredClone(insn);
  if (i.op === "load") {
    const modes = { inp: ["i8", "i4"], wgt: ["i8", "i4", "cb2", "cb4", "cb8"], acc: ["i8", "i16", "i32"], lut: ["i8", "i16"] } as const;
    i.mode = modes[i.mem][i.sram % modes[i.mem].length]!;
    if (i.mem === "inp") i.padValue = (i.padValue << 24) >> 24;
    if (i.mem === "wgt" || i.mem === "lut") Object.assign(i, { padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, padValue: 0 });
    if (!i.mode.startsWith("cb")) Object.assign(i, { table: 0, tableStride: 0 });
  } else if (i.op === "gemm") {
    i.kBlocks %= 33;
    if (i.kBlocks < 32) i.mask %= 2 ** i.kBlocks;
  } else if (i.op === "vec") {
    if (i.dstMem === "acc") i.dtype = "i32";
    if (!i.clamp) Object.assign(i, { lo: 0, hi: 0 });
    else if (i.lo > i.hi) [i.lo, i.hi] = [i.hi, i.lo];
    if (i.fn === "requant" || i.fn === "lut8" || i.fn === "lut16") i.useImm = false;
    if (i.fn === "lut8" || i.fn === "lut16") Object.assign(i, { src2RowStride: 0, src2ColStride: 0 });
    if (!i.useImm && i.fn !== "requant") i.imm = 0;
  }
  expect(checkInsn(i)).toBeUndefined();
  return i;
}

const emptyProgram = (insns: Insn[]): Program => ({ configHash: "0123456789abcdef", dramBytes: 4096, tensors: [], layers: [], segments: [], insns });

describe("layout", () => {
  it("fits every instruction in one 256-bit word", () => {
    for (const op of OPS) expect(opSpec(op).fields.reduce((n, f) => n + f.bits, HEADER_BITS), op).toBeLessThanOrEqual(WORD_BYTES * 8);
  });

  it("is the one isa.ts and docs/nna-isa.md state", () => {
    const flat = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8").replace(/\n\s*\*?\s*/g, " ").replace(/\s+/g, " ");
    const isa = flat("backends/nna/isa.ts");
    const doc = flat("docs/nna-isa.md");
    for (const op of OPS.filter((o) => opSpec(o).fields.length)) {
      expect(isa, op).toContain(layoutLine(op));
      expect(doc, op).toContain(layoutLine(op));
    }
  });

  it("places fields from bit 24 upwards, little-endian, signed ones in two's complement", () => {
    const word = encodeInsn({
      op: "gemm", layer: 0x1234, deps: { popPrev: true, popNext: false, pushPrev: false, pushNext: true }, mode: "i4",
      acc: 0xbeef, inp: 1, wgt: 2, rows: 3, kBlocks: 32, mask: 0xffffffff, inpStride: 4, inpKStride: 5, accStride: 6, izp: -1, wzp: 5,
    });
    expect(Array.from(word.subarray(0, 5))).toEqual([0x93, 0x34, 0x12, 0xef, 0xbe]);
    expect(Array.from(word.subarray(17, 24))).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0x05, 0x60]); // mask, izp −1, wzp 5, k 32 | mode i4 << 6
    expect(Array.from(word.subarray(24))).toEqual(new Array(8).fill(0));
  });
});

describe("round trips", () => {
  it("decode(encode(i)) = i for random instruction words", () => {
    const next = randomInts(7);
    for (let n = 0; n < 3000; n++) {
      const insn = randomInsn(next);
      expect(decodeInsn(encodeInsn(insn), 0, n)).toEqual(insn);
    }
  });

  it("assemble(disassemble(bin)) is byte-identical for random valid programs", () => {
    const next = randomInts(8);
    for (let k = 0; k < 20; k++) {
      const insns = Array.from({ length: 100 }, () => valid(randomInsn(next)));
      const bin = encodeProgram(emptyProgram(insns));
      const text = disassemble(bin);
      expect(assemble(text)).toEqual(bin);
      expect(printProgram(parseAsm(text))).toBe(text);
    }
  });

  it("keeps tensors, layer names and data segments", () => {
    const p: Program = {
      configHash: "00ff00ff00ff00ff",
      dramBytes: 0x2000,
      tensors: [
        { name: "x in", kind: "input", dtype: "int4", shape: [1, 3, 5], addr: 0x10, scale: Math.fround(0.1), zeroPoint: 0 },
        { name: "ÿ", kind: "output", dtype: "int32", shape: [], addr: 0x100, scale: Math.fround(3e-9), zeroPoint: -(2 ** 31) },
      ],
      layers: [{ id: 7, name: "conv \"1\"" }],
      segments: [{ addr: 0x1000, data: Uint8Array.of(1, 2, 255) }, { addr: 0x1ffe, data: Uint8Array.of(9, 9) }],
      insns: [{ op: "finish", layer: 7, deps: NO_DEPS }],
    };
    const bin = encodeProgram(p);
    expect(decodeProgram(bin)).toEqual(p);
    expect(assemble(disassemble(bin))).toEqual(bin);
  });
});

describe("malformed input", () => {
  const finish = encodeProgram(emptyProgram([{ op: "finish", layer: 0, deps: NO_DEPS }]));

  it("refuses an unknown opcode, a bit past the last field and an enum index without a name", () => {
    const word = new Uint8Array(32);
    expect(() => decodeInsn(word, 0, 4)).toThrow(/instruction #4: unknown opcode 0/);
    word[0] = 6;
    word[31] = 0x80;
    expect(() => decodeInsn(word, 0, 0)).toThrow(/finish has bit 255 set past its last field/);
    const nop = encodeInsn({ op: "nop", queue: "load", layer: 0, deps: NO_DEPS });
    nop[3] = 3; // bits 24–25: index 3 of [load, compute, store]
    expect(() => decodeInsn(nop, 0, 0)).toThrow(/nop field queue has no value 3/);
  });

  it("refuses a bad magic, another version, a truncated file and trailing bytes", () => {
    const bad = (edit: (b: Uint8Array) => Uint8Array) => () => decodeProgram(edit(finish.slice()));
    expect(bad((b) => ((b[0] = 0x41), b))).toThrow(/HW5010|magic/);
    expect(bad((b) => ((b[4] = 2), b))).toThrow(/version 2 is not 1/);
    expect(bad((b) => b.subarray(0, b.length - 1))).toThrow(/ends after/);
    expect(bad((b) => Uint8Array.of(...b, 0))).toThrow(/bytes follow the last segment/);
  });
});
