/**
 * The `.nnas` assembler: what a hand-written program means (defaults, token directions, layers,
 * data), errors with line and column, and round trips of the example programs.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { assemble, configHash, DEFAULT_CONFIG, disassemble, parseAsm, printProgram } from "../../backends/nna/index.js";
import { thrown } from "./helpers.js";

const FIXTURES = new URL("../../fixtures/nna/", import.meta.url);
const error = (text: string) => thrown(() => parseAsm(text));

describe("meaning", () => {
  const p = parseAsm(`
    ; comments run to the end of the line; so do // comments
    .name layer=3 text="conv"
    .data addr=0x20 i16=[
      -2, 300      // one typed list may span lines
    ]
    .layer id=3
    load.inp push=compute x=2 xstride=16
    gemm k=3 pop=load push=store
    store pop=compute push=compute x=4
    .layer id=0
    nop.compute pop=store push=load
    vec.max useimm=1 imm=-7
    finish`);

  it("fills omitted fields with their defaults (dense mask, y=1, dtype i32)", () => {
    expect(p.insns[0]).toMatchObject({ op: "load", mem: "inp", mode: "i8", sram: 0, ySize: 1, xSize: 2, xStride: 16, layer: 3 });
    expect(p.insns[1]).toMatchObject({ op: "gemm", kBlocks: 3, mask: 0b111, rows: 1, inpStride: 1, mode: "i8", layer: 3 });
    expect(p.insns[4]).toMatchObject({ op: "vec", fn: "max", dstMem: "acc", dtype: "i32", useImm: true, imm: -7, rows: 1, cols: 1, layer: 0 });
  });

  it("turns pop=/push= queue names into prev/next flags of the instruction's queue", () => {
    expect(p.insns.slice(0, 4).map((i) => i.deps)).toEqual([
      { popPrev: false, popNext: false, pushPrev: false, pushNext: true },
      { popPrev: true, popNext: false, pushPrev: false, pushNext: true },
      { popPrev: true, popNext: false, pushPrev: true, pushNext: false },
      { popPrev: false, popNext: true, pushPrev: true, pushNext: false },
    ]);
  });

  it("stores data little-endian and sizes DRAM and config by default", () => {
    expect(p.segments).toEqual([{ addr: 0x20, data: Uint8Array.of(0xfe, 0xff, 0x2c, 0x01) }]);
    expect(p.layers).toEqual([{ id: 3, name: "conv" }]);
    expect(p.dramBytes).toBe(65536);
    expect(p.configHash).toBe(configHash(DEFAULT_CONFIG));
    expect(parseAsm('.tensor name="t" io=output dtype=int4 shape=[3, 67] addr=0x20000\nfinish').dramBytes).toBe(0x21000);
  });
});

describe("errors", () => {
  const cases: [string, string, string][] = [
    ["load.inp sram=1 @", "HW5020", 'line 1, column 17: unexpected character "@"'],
    ['.name layer=1 text="abc', "HW5020", "line 1, column 20: a string is not closed on its line or has an invalid escape"],
    ["finish\n= 3", "HW5021", "line 2, column 1: expected a mnemonic or a directive, found '='"],
    ["gemm rows=,", "HW5021", "line 1, column 11: expected one of an integer, a number, a name, a string, '[', found ','"],
    [".data addr=0 i8=[1,", "HW5021", "line 1, column 20: expected one of an integer, a number, found end of input"],
    ["finish\ngemm rows", "HW5022", "line 2, column 6: unknown mnemonic 'rows' (load.<mem>, store, gemm, vec.<fn>, nop.<queue>, finish)"],
    ["foo x=1", "HW5022", "line 1, column 1: unknown mnemonic 'foo' (load.<mem>, store, gemm, vec.<fn>, nop.<queue>, finish)"],
    ["load.xyz", "HW5022", "line 1, column 1: load needs a suffix: load.inp, load.wgt, load.acc, load.lut"],
    ["gemm.i4", "HW5022", "line 1, column 1: gemm takes no suffix"],
    ["gemm rows=70000", "HW5022", "line 1, column 11: 70000 is outside [0, 65535]"],
    ["gemm  izp=-200", "HW5022", "line 1, column 11: -200 is outside [-128, 127]"],
    ["gemm rows=1 rows=2", "HW5022", "line 1, column 13: rows is given twice"],
    ["gemm mode=i2", "HW5022", "line 1, column 11: expected one of i8, i4, found 'i2'"],
    ["nop.load\n  load.inp pop=store", "HW5022", "line 2, column 16: a load-queue instruction exchanges tokens with compute, not store"],
    ["load.wgt padtop=1", "HW5022", "line 1, column 1: load.wgt cannot pad (padding applies to inp and acc)"],
    ["vec.add to=acc dtype=i8", "HW5022", "line 1, column 1: vec writing to acc must have dtype i32"],
    ["gemm k=2 mask=0x4", "HW5022", "line 1, column 1: gemm mask 0x4 has bits past its 2 K blocks"],
    ['.data addr=0 hex="abc"', "HW5022", "line 1, column 18: hex data is an even number of hex digits"],
    [".data addr=0 i8=[1] u8=[2]", "HW5022", "line 1, column 1: .data needs exactly one of hex=, i8=, u8=, i16=, i32="],
    [".data addr=0 i8=[1, 300]", "HW5022", "line 1, column 21: 300 is outside [-128, 127]"],
    [".bogus", "HW5022", "line 1, column 1: unknown directive .bogus (.nnab, .tensor, .name, .data, .layer)"],
    ['.nnab config="xyz"', "HW5022", "line 1, column 14: config must be 16 lowercase hex digits"],
    [
      '.nnab dram=0x10000\n.tensor name="x" io=input dtype=int8 shape=[4] addr=0xfffe',
      "HW5022",
      'line 2, column 1: tensor "x" ends at 65538, past the DRAM size 65536',
    ],
  ];
  for (const [text, code, message] of cases) {
    it(message, () => {
      const e = error(text);
      expect([e.code, e.message]).toEqual([code, message]);
    });
  }

  it("lists the fields a mnemonic accepts", () => {
    expect(error("gemm row=3").message).toBe(
      "line 1, column 6: gemm has no field row (fields: acc, inp, wgt, rows, inpstride, kstride, accstride, mask, izp, wzp, k, mode, pop, push)",
    );
  });
});

describe("example programs", () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith(".nnas"));

  it("exist", () => expect(files.length).toBeGreaterThanOrEqual(2));

  for (const file of files) {
    it(`${file}: disassemble → assemble is byte-identical and printing is a fixed point`, () => {
      const bin = assemble(readFileSync(new URL(file, FIXTURES), "utf8"), { file });
      const text = disassemble(bin);
      expect(assemble(text)).toEqual(bin);
      expect(printProgram(parseAsm(text))).toBe(text);
    });
  }
});
