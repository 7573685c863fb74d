/**
 * GEMM and every VEC function, one small hand-written program each, checked exactly against the
 * pseudo-code of isa.ts written out here independently (BigInt for wrap-around and the 64-bit
 * requantization product).
 */
import { describe, expect, it } from "vitest";
import type { VecFn } from "../../backends/nna/index.js";
import { list, rand, run } from "./helpers.js";

const wrap32 = (x: bigint) => Number(BigInt.asIntN(32, x));

describe("gemm", () => {
  const x = rand(3 * 2 * 16, 11, -128, 127); // 3 rows × 2 K blocks, row-major [m][kb][k]
  const w = rand(2 * 256, 12, -128, 127); // 2 blocks [kb][k][n]
  const preload = [2 ** 31 - 1000, ...rand(16 * 6 - 1, 13, -(2 ** 20), 2 ** 20)];

  /** acc[m][n] = wrap32(preload + Σ_kb present Σ_k (x − izp)(B − wzp)), blocks stored in order of presence. */
  function expected(mask: number, izp: number, wzp: number, weight: (j: number, k: number, n: number) => number, lanes: number): number[][] {
    return [0, 1, 2].map((m) =>
      Array.from({ length: lanes }, (_, n) => {
        let sum = BigInt(preload[m * 2 * 16 + n]!);
        for (let kb = 0, j = 0; kb < 2; kb++) {
          if (!((mask >> kb) & 1)) continue;
          for (let k = 0; k < 16; k++) sum += BigInt((x[m * 32 + kb * 16 + k]! - izp) * (weight(j, k, n) - wzp));
          j++;
        }
        return wrap32(sum);
      }),
    );
  }

  const program = (gemm: string, wMode = "") => `
    .data addr=0x0 i8=${list(x)}
    .data addr=0x100 i8=${list(w)}
    .data addr=0x400 i32=${list(preload)}
    load.inp dram=0x0 y=3 x=2 ystride=32 xstride=16
    load.wgt dram=0x100 x=2 xstride=256 ${wMode}
    load.acc dram=0x400 x=6 xstride=64 mode=i32 push=compute
    ${gemm} pop=load
    finish`;
  const accRows = (acc: Int32Array, lanes: number) => [0, 1, 2].map((m) => Array.from(acc.subarray(m * 32, m * 32 + lanes)));

  it("accumulates (x − izp)·(w − wzp) over K blocks into strided rows, wrapping in int32", () => {
    const r = run(program("gemm rows=3 k=2 inpstride=2 kstride=1 accstride=2 izp=-3 wzp=2"));
    expect(accRows(r.machine.acc, 16)).toEqual(expected(3, -3, 2, (j, k, n) => w[j * 256 + k * 16 + n]!, 16));
    expect(r.machine.acc[0]).toBeLessThan(0); // 2^31 − 1000 plus a positive sum wrapped
  });

  it("skips the K blocks the mask leaves out; present blocks are stored consecutively", () => {
    const r = run(program("gemm rows=3 k=2 mask=0x2 inpstride=2 accstride=2"));
    expect(accRows(r.machine.acc, 16)).toEqual(expected(2, 0, 0, (j, k, n) => w[j * 256 + k * 16 + n]!, 16));
  });

  it("int4 mode: each block byte holds two output lanes' weights, 32 lanes over two acc vectors", () => {
    const r = run(program("gemm rows=3 k=2 inpstride=2 accstride=2 mode=i4", "mode=i4"));
    const nibble = (j: number, k: number, n: number) => {
      const b = w[j * 256 + k * 16 + (n >> 1)]!;
      return n & 1 ? (b << 24) >> 28 : (b << 28) >> 28;
    };
    expect(accRows(r.machine.acc, 32)).toEqual(expected(3, 0, 0, nibble, 32));
  });
});

describe("vec arithmetic", () => {
  const a = rand(64, 21, -(2 ** 31), 2 ** 31 - 1);
  const b = rand(64, 22, -(2 ** 31), 2 ** 31 - 1);
  const ops: Record<Exclude<VecFn, "requant" | "lut8" | "lut16">, (a: number, b: number) => number> = {
    add: (p, q) => wrap32(BigInt(p) + BigInt(q)),
    sub: (p, q) => wrap32(BigInt(p) - BigInt(q)),
    mul: (p, q) => wrap32(BigInt(p) * BigInt(q)),
    min: Math.min,
    max: Math.max,
    shl: (p, q) => wrap32(BigInt(p) << BigInt(q & 31)),
    shr: (p, q) => Number(BigInt(p) >> BigInt(q & 31)),
    rshr: (p, q) => ((q & 31) === 0 ? p : Number((BigInt(p) + (1n << BigInt((q & 31) - 1))) >> BigInt(q & 31))),
  };

  for (const [fn, f] of Object.entries(ops)) {
    it(`${fn}: a 2-D loop over acc vectors with row and column strides`, () => {
      // rows r < 2, cols c < 2: a at 0 + 2r + c, b at 4 + r + 2c (transposed), y at 8 + 2r + c.
      const r = run(`
        .data addr=0x0 i32=${list(a)}
        .data addr=0x100 i32=${list(b)}
        load.acc dram=0x0 x=4 xstride=64 mode=i32
        load.acc sram=4 dram=0x100 x=4 xstride=64 mode=i32 push=compute
        vec.${fn} pop=load dst=8 dstrow=2 dstcol=1 src=0 srcrow=2 srccol=1 src2=4 src2row=1 src2col=2 rows=2 cols=2
        finish`);
      const want: number[] = [];
      for (let row = 0; row < 2; row++) {
        for (let c = 0; c < 2; c++) {
          for (let j = 0; j < 16; j++) want.push(f(a[(2 * row + c) * 16 + j]!, b[(row + 2 * c) * 16 + j]!));
        }
      }
      expect(Array.from(r.machine.acc.subarray(8 * 16, 12 * 16))).toEqual(want);
    });
  }

  it("takes an immediate operand, clamps to [lo, hi] and narrows to int16 in out", () => {
    const r = run(`
      .data addr=0x0 i32=${list(a)}
      load.acc dram=0x0 x=2 xstride=64 mode=i32 push=compute
      vec.shr pop=load src=0 srccol=1 cols=2 useimm=1 imm=20 clamp=1 lo=-1000 hi=900 dst=6 dstcol=32 to=out dtype=i16
      finish`);
    const want = a.slice(0, 32).map((v) => Math.min(Math.max(v >> 20, -1000), 900));
    const view = new DataView(r.machine.out.buffer, 6, 64);
    expect(Array.from({ length: 32 }, (_, i) => view.getInt16(2 * i, true))).toEqual(want);
  });

  it("sums into one vector when dst and src stay put (each step sees the last)", () => {
    const r = run(`
      .data addr=0x0 i32=${list(a)}
      load.acc dram=0x0 x=4 xstride=64 mode=i32 push=compute
      vec.add pop=load dst=9 src=9 src2=0 src2row=1 rows=4
      finish`);
    const want = Array.from({ length: 16 }, (_, j) => wrap32([0, 1, 2, 3].reduce((s, k) => s + BigInt(a[k * 16 + j]!), 0n)));
    expect(Array.from(r.machine.acc.subarray(9 * 16, 10 * 16))).toEqual(want);
  });
});

describe("vec.requant", () => {
  it("requantizes per lane with the (M0, shift) vector pair, output zero point and clamp", () => {
    const acc = rand(32, 31, -(2 ** 31), 2 ** 31 - 1);
    const m0 = rand(16, 32, 2 ** 30, 2 ** 31 - 1);
    const shift = rand(16, 33, -31, 30);
    const r = run(`
      .data addr=0x0 i32=${list(acc)}
      .data addr=0x100 i32=${list([...m0, ...shift])}
      load.acc dram=0x0 x=2 xstride=64 mode=i32
      load.acc sram=10 dram=0x100 x=2 xstride=64 mode=i32 push=compute
      vec.requant pop=load src=0 srcrow=1 rows=2 src2=10 imm=-5 clamp=1 lo=-128 hi=127 dst=0 dstrow=16 to=out dtype=i8
      finish`);
    // SPEC.md §2: y = clamp(z + ((acc·M0 + 2^(t−1)) >> t), lo, hi), t = 31 − shift, in exact integers.
    const want = acc.map((v, i) => {
      const t = BigInt(31 - shift[i % 16]!);
      const y = -5 + Number((BigInt(v) * BigInt(m0[i % 16]!) + (1n << (t - 1n))) >> t);
      return Math.min(Math.max(y, -128), 127);
    });
    expect(Array.from(new Int8Array(r.machine.out.buffer, 0, 32))).toEqual(want);
  });

  it("saturates to the int32 range without a clamp", () => {
    const r = run(`
      .data addr=0x0 i32=${list([...new Array(16).fill(2 ** 31 - 1), ...new Array(16).fill(2 ** 30), ...new Array(16).fill(30)])}
      load.acc dram=0x0 x=3 xstride=64 mode=i32 push=compute
      vec.requant pop=load src=0 src2=1 imm=7 dst=5
      finish`);
    expect(Array.from(r.machine.acc.subarray(80, 96))).toEqual(new Array(16).fill(2 ** 31 - 1));
  });
});

describe("vec tables", () => {
  it("lut8 indexes a 256-entry table by the low byte as an int8 code", () => {
    const table = rand(256, 41, -128, 127);
    const x = rand(16, 42, -(2 ** 31), 2 ** 31 - 1);
    const r = run(`
      .data addr=0x0 i8=${list(table)}
      .data addr=0x200 i32=${list(x)}
      load.lut sram=300 dram=0x0 x=256 xstride=1
      load.acc dram=0x200 x=1 mode=i32 push=compute
      vec.lut8 pop=load src=0 src2=300 dst=1
      finish`);
    expect(Array.from(r.machine.acc.subarray(16, 32))).toEqual(x.map((v) => table[((v << 24) >> 24) + 128]!));
  });

  it("lut16 interpolates a 513-entry table between the nodes around an int16 code", () => {
    const table = rand(513, 51, -32768, 32767);
    const x = [-32768, -32767, -1, 0, 1, 127, 128, 32767, ...rand(8, 52, -32768, 32767)];
    const r = run(`
      .data addr=0x0 i16=${list(table)}
      .data addr=0x800 i32=${list(x.map((v) => v + 65536 * 3))}
      load.lut sram=1000 dram=0x0 x=513 xstride=2 mode=i16
      load.acc dram=0x800 x=1 mode=i32 push=compute
      vec.lut16 pop=load src=0 src2=1000 dst=2 to=out dtype=i16
      finish`);
    const want = x.map((v) => {
      const i = Math.floor(v / 128) + 256;
      const u = v - 128 * Math.floor(v / 128);
      return table[i]! + Math.floor(((table[i + 1]! - table[i]!) * u + 64) / 128);
    });
    const view = new DataView(r.machine.out.buffer, 2, 32);
    expect(Array.from({ length: 16 }, (_, k) => view.getInt16(2 * k, true))).toEqual(want);
  });
});
