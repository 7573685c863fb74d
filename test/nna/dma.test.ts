/**
 * LOAD and STORE, one small hand-written program per memory and mode, checked element for element
 * against the address arithmetic of isa.ts written out independently here.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, geometry } from "../../backends/nna/index.js";
import { list, rand, run } from "./helpers.js";

const g = geometry(DEFAULT_CONFIG);

describe("load.inp", () => {
  it("copies a 2-D strided window of vectors, padded on every side", () => {
    const data = rand(512, 1, -128, 127);
    const r = run(`
      .data addr=0x40 i8=${list(data)}
      load.inp sram=3 dram=0x70 y=2 x=3 ystride=128 xstride=32 padtop=1 padbottom=1 padleft=2 padright=1 padval=-7
      finish`);
    const want = new Int8Array(g.inpVectors * g.vecBytes);
    const [h, w] = [4, 6];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const e = 3 + y * w + x;
        const inside = y >= 1 && y < 3 && x >= 2 && x < 5;
        for (let k = 0; k < 16; k++) {
          want[e * 16 + k] = inside ? data[0x70 - 0x40 + (y - 1) * 128 + (x - 2) * 32 + k]! : -7;
        }
      }
    }
    expect(r.machine.inp).toEqual(want);
  });

  it("unpacks int4 vectors, low nibble first, sign-extended", () => {
    const bytes = rand(16, 2, 0, 255);
    const r = run(`
      .data addr=0x0 u8=${list(bytes)}
      load.inp sram=1 dram=0x0 x=2 xstride=8 mode=i4
      finish`);
    const want = new Int8Array(48);
    bytes.forEach((b, i) => {
      want[16 + 2 * i] = ((b & 15) << 28) >> 28;
      want[16 + 2 * i + 1] = (b << 24) >> 28;
    });
    expect(r.machine.inp.subarray(0, 48)).toEqual(want);
  });
});

describe("load.wgt", () => {
  it("copies int8 and packed int4 blocks as they are", () => {
    const data = rand(768, 3, -128, 127);
    const r = run(`
      .data addr=0x0 i8=${list(data)}
      load.wgt sram=2 dram=0x0 x=2 xstride=256
      load.wgt sram=4 dram=0x200 x=1 mode=i4
      finish`);
    expect(r.machine.wgt.subarray(512, 512 + 768)).toEqual(Int8Array.from(data));
  });

  it("expands 4-bit codebook indices through one table per output lane", () => {
    const tables = rand(256, 4, -127, 127);
    const indices = rand(128, 5, 0, 255);
    const r = run(`
      .data addr=0x0 i16=${list(tables)}
      .data addr=0x400 u8=${list(indices)}
      load.lut sram=100 dram=0x0 x=256 xstride=2 mode=i16
      load.wgt sram=1 dram=0x400 x=1 mode=cb4 table=100 tstride=16
      finish`);
    const want = new Int8Array(256);
    for (let t = 0; t < 256; t++) {
      const index = (indices[t >> 1]! >> (4 * (t & 1))) & 15;
      want[t] = tables[(t % 16) * 16 + index]!;
    }
    expect(r.machine.wgt.subarray(256, 512)).toEqual(want);
  });

  it("shares one 2-bit codebook across the block when tstride is 0", () => {
    const r = run(`
      .data addr=0x0 i8=[-90, -3, 0, 77]
      .data addr=0x10 u8=${list(Array.from({ length: 64 }, (_, i) => i * 37 % 256))}
      load.lut sram=8 dram=0x0 x=4 xstride=1
      load.wgt dram=0x10 x=1 mode=cb2 table=8
      finish`);
    const book = [-90, -3, 0, 77];
    const want = Int8Array.from({ length: 256 }, (_, t) => book[((((t >> 2) * 37) % 256) >> (2 * (t & 3))) & 3]!);
    expect(r.machine.wgt.subarray(0, 256)).toEqual(want);
  });
});

describe("load.acc and load.lut", () => {
  it("sign-extends int8, int16 and int32 lanes and pads with a 16-bit value", () => {
    const v8 = rand(16, 6, -128, 127);
    const v16 = rand(32, 7, -32768, 32767);
    const v32 = rand(16, 8, -(2 ** 31), 2 ** 31 - 1);
    const r = run(`
      .data addr=0x0 i8=${list(v8)}
      .data addr=0x100 i16=${list(v16)}
      .data addr=0x200 i32=${list(v32)}
      load.acc sram=0 dram=0x0 x=1
      load.acc sram=1 dram=0x100 x=2 xstride=32 padleft=1 padval=-300 mode=i16
      load.acc sram=4 dram=0x200 x=1 mode=i32
      finish`);
    const want = [...v8, ...new Array(16).fill(-300), ...v16, ...v32];
    expect(r.machine.acc.subarray(0, 80)).toEqual(Int32Array.from(want));
  });

  it("loads table entries from int8 and int16 data", () => {
    const r = run(`
      .data addr=0x0 i8=[-1, 2, -128]
      .data addr=0x10 i16=[-32768, 300, 32767]
      load.lut sram=10 dram=0x0 x=3 xstride=1
      load.lut sram=13 dram=0x10 x=3 xstride=2 mode=i16
      finish`);
    expect(r.machine.lut.subarray(10, 16)).toEqual(Int16Array.of(-1, 2, -128, -32768, 300, 32767));
  });
});

describe("store", () => {
  // Out bytes come from the vector unit: acc lanes truncated to int8 by `vec.add ... useimm=1`.
  const lanes = rand(48, 9, -128, 127);
  const prologue = `
      .data addr=0x0 i32=${list(lanes)}
      load.acc sram=0 dram=0x0 x=3 xstride=64 mode=i32 push=compute
      vec.add pop=load src=0 srccol=1 cols=3 dst=0 dstcol=16 to=out dtype=i8 useimm=1 push=store`;

  it("copies rows of bytes with separate source and DRAM strides", () => {
    const r = run(`${prologue}
      store pop=compute sram=2 dram=0x300 y=3 x=10 ystride=12 srcstride=16
      finish`);
    const want = new Uint8Array(36);
    for (let y = 0; y < 3; y++) for (let x = 0; x < 10; x++) want[y * 12 + x] = lanes[2 + y * 16 + x]! & 255;
    expect(r.machine.dram.subarray(0x300, 0x300 + 36)).toEqual(want);
  });

  it("packs int4 codes two per byte, low nibble first, the odd tail's high nibble 0", () => {
    const r = run(`${prologue}
      store pop=compute sram=0 dram=0x300 y=2 x=5 ystride=4 srcstride=16 mode=pack4
      finish`);
    const want = new Uint8Array(8);
    for (let y = 0; y < 2; y++) {
      for (let j = 0; j < 3; j++) {
        const hi = 2 * j + 1 < 5 ? lanes[y * 16 + 2 * j + 1]! & 15 : 0;
        want[y * 4 + j] = (lanes[y * 16 + 2 * j]! & 15) | (hi << 4);
      }
    }
    expect(r.machine.dram.subarray(0x300, 0x308)).toEqual(want);
  });
});
