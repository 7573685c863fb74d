/**
 * Small hand-written programs for whole layers, checked against a direct computation of the
 * integer semantics (docs/quantization.md) with ir/numeric.ts `requantize`: a 2-layer int8 MLP
 * (LOAD, GEMM, VEC requant with a fused ReLU, STORE, a DRAM round trip between the layers) and a
 * 3×3 convolution whose im2col rows are built by the DMA, padded with the input's zero point.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { requantize } from "../../ir/numeric.js";
import { encodeMultipliers, type Multipliers } from "../../ir/quant-params.js";
import { tensor } from "../../ir/tensor.js";
import { list, randomInts, run } from "./helpers.js";

/** A dense layer's constants: W[n][k] int8, int32 bias, per-channel multipliers. */
interface Dense {
  w: number[][];
  bias: number[];
  mul: Multipliers;
}

function dense(rand: (lo: number, hi: number) => number, n: number, k: number): Dense {
  return {
    w: Array.from({ length: n }, () => Array.from({ length: k }, () => rand(-127, 127))),
    bias: Array.from({ length: n }, () => rand(-3000, 3000)),
    mul: encodeMultipliers(Array.from({ length: n }, () => 0.0003 + rand(0, 2000) / 1_000_000)),
  };
}

/** y[m][c] = requantize(bias[c] + Σ_k (x[m][k] − zx)·W[c][k], M[c], zy, lo, hi). */
function reference(x: number[][], zx: number, l: Dense, zy: number, lo: number): number[][] {
  return x.map((row) =>
    l.w.map((wc, c) => {
      const acc = wc.reduce((s, w, k) => s + (row[k]! - zx) * w, l.bias[c]!) | 0;
      return requantize(acc, l.mul.m0[c]!, l.mul.shift[c]!, zy, lo, 127);
    }),
  );
}

/** Weight blocks as the GEMM reads them: block kb holds B[k][n] = W[n][16·kb + k], lanes past N zero. */
function blocks(w: number[][], kBlocks: number): number[] {
  const out: number[] = [];
  for (let kb = 0; kb < kBlocks; kb++) {
    for (let k = 0; k < 16; k++) for (let n = 0; n < 16; n++) out.push(w[n]?.[16 * kb + k] ?? 0);
  }
  return out;
}

/** bias, M0 and shift vectors, 16 lanes each (lanes past N zero). */
function params(l: Dense): number[] {
  const lanes = (a: ArrayLike<number>) => Array.from({ length: 16 }, (_, j) => a[j] ?? 0);
  return [...lanes(l.bias), ...lanes(l.mul.m0), ...lanes(l.mul.shift)];
}

describe("fixtures/nna/dense-relu.nnas", () => {
  it("computes requantize(10c − 80 + 2(x − 3), 0.5, −4) with a ReLU at −4", () => {
    const text = readFileSync(new URL("../../fixtures/nna/dense-relu.nnas", import.meta.url), "utf8");
    const x = Int8Array.from({ length: 16 }, (_, c) => 11 * c - 90);
    const y = run(text, { x: tensor("int8", [1, 16], x) }).outputs.get("y")!;
    const want = Array.from(x, (v, c) => requantize(10 * c - 80 + 2 * (v - 3), 2 ** 30, 0, -4, -4, 127));
    expect(Array.from(y.data as Int8Array)).toEqual(want);
    expect(want.filter((v) => v === -4).length).toBeGreaterThan(3); // the ReLU clamps the first channels
  });
});

describe("2-layer int8 MLP", () => {
  const rand = randomInts(2024);
  const [zx, z1, z2] = [-5, -20, 3];
  const fc1 = dense(rand, 16, 32);
  const fc2 = dense(rand, 10, 16);
  const x = Array.from({ length: 3 }, () => Array.from({ length: 32 }, () => rand(-128, 127)));

  const program = `
    .nnab dram=0x10000
    .tensor name="x" io=input dtype=int8 shape=[3, 32] addr=0x0 scale=0.05 zp=${zx}
    .tensor name="y" io=output dtype=int8 shape=[3, 10] addr=0x700 scale=0.1 zp=${z2}
    .name layer=1 text="fc1"
    .name layer=2 text="fc2"
    .data addr=0x100 i8=${list(blocks(fc1.w, 2))}
    .data addr=0x300 i8=${list(blocks(fc2.w, 1))}
    .data addr=0x400 i32=${list(params(fc1))}
    .data addr=0x500 i32=${list(params(fc2))}
    .layer id=1
    load.inp dram=0x0 y=3 x=2 ystride=32 xstride=16               ; x[m][16kb..] → inp[2m + kb]
    load.wgt dram=0x100 x=2 xstride=256                            ; → wgt 0, 1
    load.acc dram=0x400 x=3 xstride=64 mode=i32 push=compute       ; bias → acc 0, M0 → 1, shift → 2
    vec.add pop=load dst=3 dstrow=1 src=0 rows=3 useimm=1           ; acc[3 + m] = bias
    gemm acc=3 rows=3 k=2 inpstride=2 kstride=1 izp=${zx}
    vec.requant src=3 srcrow=1 src2=1 rows=3 imm=${z1} clamp=1 lo=${z1} hi=127 dst=0 dstrow=16 to=out dtype=i8 push=store
    store pop=compute dram=0x600 y=3 x=16 ystride=16 srcstride=16 push=compute
    .layer id=2
    nop.compute pop=store push=load                                ; hidden rows are in DRAM: tell the load queue
    load.inp pop=compute dram=0x600 y=3 x=1 ystride=16
    load.wgt sram=2 dram=0x300 x=1
    load.acc sram=6 dram=0x500 x=3 xstride=64 mode=i32 push=compute
    vec.add pop=load dst=9 dstrow=1 src=6 rows=3 useimm=1
    gemm acc=9 wgt=2 rows=3 izp=${z1}
    vec.requant src=9 srcrow=1 src2=7 rows=3 imm=${z2} clamp=1 lo=-128 hi=127 dst=64 dstrow=16 to=out dtype=i8 push=store
    store pop=compute sram=64 dram=0x700 y=3 x=10 ystride=10 srcstride=16
    finish`;

  it("equals the direct integer computation", () => {
    const r = run(program, { x: tensor("int8", [3, 32], Int8Array.from(x.flat())) });
    const hidden = reference(x, zx, fc1, z1, z1);
    const want = reference(hidden, z1, fc2, z2, -128);
    expect(r.outputs.get("y")).toEqual(tensor("int8", [3, 10], Int8Array.from(want.flat())));
    expect(hidden.flat()).toContain(z1); // the fused ReLU clamped something
    expect(r.stats.layers.map((l) => [l.name, l.macs])).toEqual([["fc1", 3 * 2 * 256], ["fc2", 3 * 256]]);
  });
});

describe("3×3 convolution, padding 1, via DMA im2col", () => {
  const rand = randomInts(77);
  const [hw, zx, zy] = [5, 7, -2];
  const x = Array.from({ length: hw * hw * 16 }, () => rand(-128, 127)); // NHWC, C = 16
  const conv = dense(rand, 16, 9 * 16); // W[co][tap·16 + ci], tap = 3·kh + kw

  /** One load per tap: the 5×5 output grid's input pixels, out-of-range rows and columns padded with z_x. */
  const taps = [0, 1, 2].flatMap((kh) =>
    [0, 1, 2].map((kw) => {
      const [top, bottom, left, right] = [kh === 0 ? 1 : 0, kh === 2 ? 1 : 0, kw === 0 ? 1 : 0, kw === 2 ? 1 : 0];
      const dram = (kh === 2 ? 1 : 0) * hw * 16 + (kw === 2 ? 1 : 0) * 16;
      return `load.inp sram=${(3 * kh + kw) * 25} dram=0x${dram.toString(16)} y=${hw - top - bottom} x=${hw - left - right} ystride=80 xstride=16 padtop=${top} padbottom=${bottom} padleft=${left} padright=${right} padval=${zx}`;
    }),
  );
  const program = `
    .tensor name="x" io=input dtype=int8 shape=[5, 5, 16] addr=0x0 scale=0.02 zp=${zx}
    .tensor name="y" io=output dtype=int8 shape=[5, 5, 16] addr=0x800 scale=0.04 zp=${zy}
    .data addr=0x1000 i8=${list(blocks(conv.w, 9))}
    .data addr=0x2000 i32=${list(params(conv))}
    ${taps.join("\n")}
    load.wgt dram=0x1000 x=9 xstride=256
    load.acc sram=100 dram=0x2000 x=3 xstride=64 mode=i32 push=compute
    vec.add pop=load dst=0 dstrow=1 src=100 rows=25 useimm=1
    gemm rows=25 k=9 inpstride=1 kstride=25 izp=${zx}
    vec.requant src=0 srcrow=1 src2=101 rows=25 imm=${zy} clamp=1 lo=-128 hi=127 dst=0 dstrow=16 to=out dtype=i8 push=store
    store pop=compute dram=0x800 y=1 x=400
    finish`;

  it("equals the direct convolution, where padded taps contribute nothing", () => {
    const r = run(program, { x: tensor("int8", [5, 5, 16], Int8Array.from(x)) });
    const want: number[] = [];
    for (let oy = 0; oy < hw; oy++) {
      for (let ox = 0; ox < hw; ox++) {
        for (let co = 0; co < 16; co++) {
          let acc = conv.bias[co]!;
          for (let kh = 0; kh < 3; kh++) {
            for (let kw = 0; kw < 3; kw++) {
              const [iy, ix] = [oy + kh - 1, ox + kw - 1];
              if (iy < 0 || iy >= hw || ix < 0 || ix >= hw) continue;
              for (let ci = 0; ci < 16; ci++) acc += (x[(iy * hw + ix) * 16 + ci]! - zx) * conv.w[co]![(3 * kh + kw) * 16 + ci]!;
            }
          }
          want.push(requantize(acc | 0, conv.mul.m0[co]!, conv.mul.shift[co]!, zy, -128, 127));
        }
      }
    }
    expect(r.outputs.get("y")).toEqual(tensor("int8", [5, 5, 16], Int8Array.from(want)));
  });
});
