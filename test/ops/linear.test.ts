/**
 * Linear-algebra and pooling ops and their kernels: exact cases the ONNX conformance tests do not
 * cover — GEMM across every blocking edge and the integer variant's zero points and wrap-around,
 * window geometry (auto_pad splits, ceil_mode, ConvTranspose's derived pads), depthwise, grouped,
 * chunked and N-d convolutions against a direct loop, ConvTranspose as Conv's adjoint, MaxPool's
 * Indices in both storage orders, pooling of 8-bit and float16 tensors, and the static shape rules.
 * Integer-valued float data keeps every sum exact, so results are compared for equality.
 */
import { describe, expect, it } from "vitest";
import type { DType, TensorData } from "../../ir/dtype.js";
import { HwacError } from "../../ir/errors.js";
import type { Attr, Node, TensorType } from "../../ir/graph.js";
import { inferModel } from "../../ir/infer.js";
import { attrsOf, type OpDef } from "../../ir/op.js";
import { f32, tensor, type Tensor } from "../../ir/tensor.js";
import { forwardWindow, transposeWindow, type TransposeAttrs, type WindowAttrs } from "../../ir/kernels/conv-geometry.js";
import { igemm, sgemm, view } from "../../ir/kernels/gemm.js";
import { AveragePool } from "../../ir/ops/AveragePool.js";
import { Conv } from "../../ir/ops/Conv.js";
import { ConvTranspose } from "../../ir/ops/ConvTranspose.js";
import { Gemm } from "../../ir/ops/Gemm.js";
import { GlobalAveragePool } from "../../ir/ops/GlobalAveragePool.js";
import { GlobalMaxPool } from "../../ir/ops/GlobalMaxPool.js";
import { MatMul } from "../../ir/ops/MatMul.js";
import { MaxPool } from "../../ir/ops/MaxPool.js";
import { loadModel } from "../../src/onnx/load.js";
import { dataSets, FIXTURES } from "../helpers/fixtures.js";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const int = (value: number): Attr => ({ kind: "int", value });
const ints = (value: number[]): Attr => ({ kind: "ints", value });
const float = (value: number): Attr => ({ kind: "float", value });

function nodeOf(def: OpDef, nIn: number, attrs: Record<string, Attr>, nOut: number): Node {
  return {
    op: def.op,
    domain: "",
    name: "n0",
    inputs: Array.from({ length: nIn }, (_, i) => `in${i}`),
    outputs: Array.from({ length: nOut }, (_, i) => `out${i}`),
    attrs,
  };
}

function run(def: OpDef, inputs: (Tensor | undefined)[], attrs: Record<string, Attr> = {}, nOut = 1): Tensor[] {
  const node = nodeOf(def, inputs.length, attrs, nOut);
  return def.run(inputs, { node, attrs: attrsOf(node), opset: 22, runSubgraph: () => [] });
}

function infer(def: OpDef, inputs: (TensorType | undefined)[], attrs: Record<string, Attr> = {}, nOut = 1): TensorType[] {
  const node = nodeOf(def, inputs.length, attrs, nOut);
  return def.inferTypes({ node, attrs: attrsOf(node), inputs, consts: [], opset: 22, inferSubgraph: () => [] });
}

function t(dtype: DType, shape: number[], values: ArrayLike<number>): Tensor {
  const data = tensor(dtype, shape).data as Exclude<TensorData, string[] | BigInt64Array | BigUint64Array>;
  data.set(values);
  return tensor(dtype, shape, data);
}

const values = (x: Tensor): number[] => Array.from(x.data as ArrayLike<number>, Number);

/** Deterministic small integers in [lo, hi]. */
function ints32(n: number, lo: number, hi: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (s % (hi - lo + 1));
  }
  return out;
}

function dot(a: Tensor, b: Tensor): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += (a.data[i] as number) * (b.data[i] as number);
  return s;
}

describe("sgemm", () => {
  it("matches a direct product across every blocking edge, transposed, scaled and accumulated", () => {
    // m > MC, n > NC, k > KC, none a multiple of the 4×4 register tile.
    const [m, n, k] = [130, 1030, 261];
    const a = ints32(m * k, -2, 2, 1);
    const b = ints32(k * n, -2, 2, 2);
    const c = ints32(m * n, -3, 3, 3);
    const got = c.slice();
    // A is stored transposed ([k, m]); B is stored as [n, k].
    const at = new Float32Array(k * m);
    const bt = new Float32Array(n * k);
    for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) at[p * m + i] = a[i * k + p]!;
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) bt[j * k + p] = b[p * n + j]!;
    sgemm(m, n, k, view(at, 0, m, true), view(bt, 0, k, true), view(got, 0, n), { alpha: 0.5, accumulate: true });
    const want = new Float32Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!;
        want[i * n + j] = c[i * n + j]! + 0.5 * s;
      }
    }
    expect(got).toEqual(want);
  });

  it("handles operands thinner than the register tile (GEMV both ways)", () => {
    // [1, 2, 3] · [[1, 2], [3, 4], [5, 6]] with B stored transposed as [[1, 3, 5], [2, 4, 6]].
    const y = new Float32Array(2);
    sgemm(1, 2, 3, view(Float32Array.of(1, 2, 3), 0, 3), view(Float32Array.of(1, 3, 5, 2, 4, 6), 0, 3, true), view(y, 0, 2));
    expect(Array.from(y)).toEqual([22, 28]);
    // A [5, 2] times a column: n = 1.
    const col = new Float32Array(5);
    sgemm(5, 1, 2, view(Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0, 2), view(Float32Array.of(1, -1), 0, 1), view(col, 0, 1));
    expect(Array.from(col)).toEqual([-1, -1, -1, -1, -1]);
  });
});

describe("igemm", () => {
  it("subtracts per-row and per-column zero points exactly, on the packed and the thin path", () => {
    for (const [m, n] of [[6, 5], [2, 7]] as const) {
      const k = 300;
      const a = Int8Array.from(ints32(m * k, -128, 127, 4));
      const b = Uint8Array.from(ints32(k * n, 0, 255, 5));
      const za = Array.from({ length: m }, (_, i) => i * 7 - 20);
      const c = new Int32Array(m * n);
      igemm(m, n, k, view(a, 0, k), view(b, 0, n), view(c, 0, n), { aZero: za, bZero: 128 });
      const want = new Int32Array(m * n);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += (a[i * k + p]! - za[i]!) * (b[p * n + j]! - 128);
          want[i * n + j] = s;
        }
      }
      expect(c).toEqual(want);
    }
  });

  it("wraps on int32 overflow like the hardware", () => {
    // 46341² = 2147488281 wraps to −2147479015; two such products give 4294976562 ≡ 9266.
    const one = new Int32Array(1);
    igemm(1, 1, 1, view(Int32Array.of(46341), 0, 1), view(Int32Array.of(46341), 0, 1), view(one, 0, 1));
    expect(one[0]).toBe(-2147479015);
    const tile = new Int32Array(16);
    igemm(4, 4, 2, view(new Int32Array(8).fill(46341), 0, 2), view(new Int32Array(8).fill(46341), 0, 4), view(tile, 0, 4));
    expect(Array.from(tile)).toEqual(new Array(16).fill(9266));
  });
});

describe("window geometry", () => {
  const win = (o: Partial<WindowAttrs> & { kernel: number[] }): WindowAttrs => ({
    strides: o.kernel.map(() => 1),
    dilations: o.kernel.map(() => 1),
    pads: [...o.kernel, ...o.kernel].map(() => 0),
    autoPad: "NOTSET",
    ceilMode: false,
    ...o,
  });

  it("puts SAME_UPPER's odd pad at the end and SAME_LOWER's at the beginning", () => {
    const upper = forwardWindow(win({ kernel: [2], strides: [2], autoPad: "SAME_UPPER" }), [5]);
    const lower = forwardWindow(win({ kernel: [2], strides: [2], autoPad: "SAME_LOWER" }), [5]);
    expect([upper.outShape, upper.padBegin, upper.padEnd]).toEqual([[3], [0], [1]]);
    expect([lower.outShape, lower.padBegin, lower.padEnd]).toEqual([[3], [1], [0]]);
    // VALID ignores pads.
    expect(forwardWindow(win({ kernel: [3], pads: [2, 2], autoPad: "VALID" }), [5]).outShape).toEqual([3]);
  });

  it("keeps ceil_mode's partial window but not one starting in the end padding", () => {
    expect(forwardWindow(win({ kernel: [3], strides: [2] }), [4]).outShape).toEqual([1]);
    expect(forwardWindow(win({ kernel: [3], strides: [2], ceilMode: true }), [4]).outShape).toEqual([2]);
    // A third window would start at 2·2 − 0 = 4, past the input (and inside the end padding).
    expect(forwardWindow(win({ kernel: [1], strides: [2], pads: [0, 1], ceilMode: true }), [4]).outShape).toEqual([2]);
  });

  it("rejects a window larger than the padded input", () => {
    expect(() => forwardWindow(win({ kernel: [4] }), [3])).toThrow(HwacError);
  });

  it("derives ConvTranspose pads from output_shape or SAME, extending the output when the total is negative", () => {
    const base = { ...win({ kernel: [3], strides: [2] }), outputPadding: [0] };
    const at = (o: Partial<TransposeAttrs>) => transposeWindow({ ...base, outputShape: undefined, ...o }, [3]);
    // Unpadded output: 2·(3 − 1) + 3 = 7.
    expect(at({}).inShape).toEqual([7]);
    expect([at({ outputShape: [6] }).padBegin, at({ outputShape: [6] }).padEnd]).toEqual([[1], [0]]);
    expect([at({ outputShape: [8] }).padBegin, at({ outputShape: [8] }).padEnd]).toEqual([[0], [-1]]);
    const same = at({ autoPad: "SAME_UPPER" });
    expect([same.inShape, same.padBegin, same.padEnd]).toEqual([[6], [0], [1]]);
  });
});

/** Direct 2-D convolution over integer data, for comparison. */
function directConv2d(x: Tensor, w: Tensor, group: number, s: number[], d: number[], p: number[]): number[] {
  const [n, c, h, wd] = x.shape as number[];
  const [m, cg, kh, kw] = w.shape as number[];
  const oh = Math.floor((h! + p[0]! + p[2]! - (d[0]! * (kh! - 1) + 1)) / s[0]!) + 1;
  const ow = Math.floor((wd! + p[1]! + p[3]! - (d[1]! * (kw! - 1) + 1)) / s[1]!) + 1;
  const mg = m! / group;
  const out: number[] = [];
  for (let b = 0; b < n!; b++) {
    for (let o = 0; o < m!; o++) {
      const g = Math.floor(o / mg);
      for (let y = 0; y < oh; y++) {
        for (let xx = 0; xx < ow; xx++) {
          let sum = 0;
          for (let ci = 0; ci < cg!; ci++) {
            for (let i = 0; i < kh!; i++) {
              for (let j = 0; j < kw!; j++) {
                const iy = y * s[0]! - p[0]! + i * d[0]!;
                const ix = xx * s[1]! - p[1]! + j * d[1]!;
                if (iy < 0 || iy >= h! || ix < 0 || ix >= wd!) continue;
                const xv = x.data[((b * c! + g * cg! + ci) * h! + iy) * wd! + ix] as number;
                sum += xv * (w.data[((o * cg! + ci) * kh! + i) * kw! + j] as number);
              }
            }
          }
          out.push(sum);
        }
      }
    }
  }
  return out;
}

describe("Conv", () => {
  it("convolves depthwise with bias and asymmetric pads, inferring kernel_shape from W", () => {
    const x = f32([1, 2, 2, 3], [1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60]);
    const w = f32([2, 1, 1, 2], [1, -1, 2, 1]);
    const [y] = run(Conv, [x, w, f32([2], [0.5, -1])], { group: int(2), pads: ints([0, 1, 0, 0]) });
    expect(y!.shape).toEqual([1, 2, 2, 3]);
    expect(values(y!)).toEqual([-0.5, -0.5, -0.5, -3.5, -0.5, -0.5, 9, 39, 69, 39, 129, 159]);
  });

  it("applies strides and dilations along a single axis", () => {
    const [y] = run(Conv, [f32([1, 1, 7], [1, 2, 3, 4, 5, 6, 7]), f32([1, 1, 2], [1, 10])], { strides: ints([2]), dilations: ints([2]) });
    expect(values(y!)).toEqual([31, 53, 75]);
  });

  it("convolves in 3-D with padding on one axis", () => {
    const x = f32([1, 1, 2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    const [y] = run(Conv, [x, f32([1, 1, 2, 2, 2], new Array(8).fill(1))], { pads: ints([0, 0, 0, 1, 0, 0]) });
    expect(y!.shape).toEqual([1, 1, 2, 1, 1]);
    expect(values(y!)).toEqual([36, 26]);
  });

  it("multiplies 1×1 grouped convolutions directly, per image", () => {
    const x = f32([2, 4, 1, 2], Array.from({ length: 16 }, (_, i) => i));
    const [y] = run(Conv, [x, f32([2, 2, 1, 1], [1, 2, 3, 4])], { group: int(2) });
    expect(values(y!)).toEqual([4, 7, 36, 43, 28, 31, 92, 99]);
  });

  it("agrees with a direct loop over groups, strides, dilations and pads", () => {
    const configs = [
      { c: 4, m: 6, group: 2, k: [3, 3], s: [1, 1], d: [1, 1], p: [1, 1, 1, 1], hw: [7, 6] },
      { c: 3, m: 5, group: 1, k: [2, 3], s: [2, 3], d: [2, 1], p: [0, 2, 1, 0], hw: [9, 11] },
      { c: 6, m: 6, group: 3, k: [1, 3], s: [1, 2], d: [1, 3], p: [0, 3, 0, 1], hw: [4, 10] },
      { c: 1, m: 8, group: 1, k: [5, 5], s: [2, 2], d: [1, 1], p: [2, 2, 2, 2], hw: [12, 12] },
      { c: 8, m: 8, group: 8, k: [3, 3], s: [2, 2], d: [2, 2], p: [2, 2, 1, 1], hw: [9, 8] },
    ];
    configs.forEach((cfg, i) => {
      const x = f32([2, cfg.c, ...cfg.hw], ints32(2 * cfg.c * cfg.hw[0]! * cfg.hw[1]!, -4, 4, 10 + i));
      const w = f32([cfg.m, cfg.c / cfg.group, ...cfg.k], ints32((cfg.m * cfg.c * cfg.k[0]! * cfg.k[1]!) / cfg.group, -3, 3, 20 + i));
      const attrs = { group: int(cfg.group), strides: ints(cfg.s), dilations: ints(cfg.d), pads: ints(cfg.p) };
      const [y] = run(Conv, [x, w], attrs);
      expect(values(y!), `config ${i}`).toEqual(directConv2d(x, w, cfg.group, cfg.s, cfg.d, cfg.p));
    });
  });

  it("builds im2col in chunks when the matrix would be large", () => {
    // 1024 input channels × 4100 positions exceeds one im2col matrix of 2^22 elements.
    const x = f32([1, 1024, 1, 8200], ints32(1024 * 8200, -2, 2, 7));
    const w = f32([4, 1024, 1, 1], ints32(4 * 1024, -2, 2, 8));
    const [y] = run(Conv, [x, w], { strides: ints([1, 2]) });
    expect(values(y!)).toEqual(directConv2d(x, w, 1, [1, 2], [1, 1], [0, 0, 0, 0]));
  });

  it("infers static shapes, keeps a symbolic batch and leaves symbolic spatial dims unknown", () => {
    const attrs = { pads: ints([1, 1, 1, 1]), strides: ints([2, 2]) };
    expect(infer(Conv, [{ dtype: "float32", shape: ["N", 3, 224, 223] }, { dtype: "float32", shape: [8, 3, 3, 3] }], attrs)).toEqual([
      { dtype: "float32", shape: ["N", 8, 112, 112] },
    ]);
    expect(infer(Conv, [{ dtype: "float32", shape: [1, 3, "H", 32] }, { dtype: "float32", shape: [8, 3, 3, 3] }], attrs)[0]!.shape).toEqual([1, 8, "?", 16]);
  });

  it("rejects W whose channels do not match X and the group", () => {
    const x = f32([1, 4, 3, 3], new Array(36).fill(0));
    const err = (() => {
      try {
        run(Conv, [x, f32([2, 4, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0])], { group: int(2) });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(HwacError);
    expect((err as HwacError).code).toBe("HW2020");
  });
});

describe("ConvTranspose", () => {
  it("applies output_padding and bias", () => {
    const [y] = run(ConvTranspose, [f32([1, 1, 2], [1, 2]), f32([1, 1, 2], [1, 1]), f32([1], [0.5])], {
      strides: ints([2]),
      output_padding: ints([1]),
    });
    expect(values(y!)).toEqual([1.5, 1.5, 2.5, 2.5, 0.5]);
  });

  it("crops or extends to output_shape", () => {
    // Unpadded output of [1, 2, 3] with kernel [1, 1, 1], stride 2: [1, 1, 3, 2, 5, 3, 3].
    const x = f32([1, 1, 3], [1, 2, 3]);
    const w = f32([1, 1, 3], [1, 1, 1]);
    expect(values(run(ConvTranspose, [x, w], { strides: ints([2]), output_shape: ints([6]) })[0]!)).toEqual([1, 3, 2, 5, 3, 3]);
    expect(values(run(ConvTranspose, [x, w], { strides: ints([2]), output_shape: ints([8]) })[0]!)).toEqual([1, 1, 3, 2, 5, 3, 3, 0]);
  });

  it("is the adjoint of Conv with the same weights, for groups, strides, dilations and pads", () => {
    const configs = [
      { c: 2, mg: 3, group: 1, k: [3, 2], s: [2, 1], d: [1, 2], p: [1, 0, 0, 1], op: [1, 0], hw: [4, 5] },
      { c: 4, mg: 1, group: 4, k: [3, 3], s: [2, 2], d: [1, 1], p: [1, 1, 1, 1], op: [1, 1], hw: [5, 3] },
      { c: 6, mg: 2, group: 3, k: [2, 2], s: [3, 2], d: [2, 1], p: [0, 1, 2, 0], op: [2, 0], hw: [3, 4] },
    ];
    configs.forEach((cfg, i) => {
      const x = f32([2, cfg.c, ...cfg.hw], ints32(2 * cfg.c * cfg.hw[0]! * cfg.hw[1]!, -3, 3, 30 + i));
      const w = f32([cfg.c, cfg.mg, ...cfg.k], ints32(cfg.c * cfg.mg * cfg.k[0]! * cfg.k[1]!, -3, 3, 40 + i));
      const common = { group: int(cfg.group), strides: ints(cfg.s), dilations: ints(cfg.d), pads: ints(cfg.p) };
      const [ct] = run(ConvTranspose, [x, w], { ...common, output_padding: ints(cfg.op) });
      const probe = f32([...ct!.shape], ints32(ct!.data.length, -3, 3, 50 + i));
      const [back] = run(Conv, [probe, w], common);
      expect(back!.shape, `config ${i}`).toEqual(x.shape);
      expect(dot(ct!, probe), `config ${i}`).toBe(dot(x, back!));
    });
  });

  it("infers the output channels from W and the group, and output_shape for symbolic inputs", () => {
    const w: TensorType = { dtype: "float32", shape: [4, 3, 3, 3] };
    expect(infer(ConvTranspose, [{ dtype: "float32", shape: ["N", 4, 5, 5] }, w], { group: int(2), strides: ints([2, 2]) })[0]!.shape).toEqual([
      "N", 6, 11, 11,
    ]);
    expect(infer(ConvTranspose, [{ dtype: "float32", shape: ["N", 4, "h", "w"] }, w], { output_shape: ints([10, 8]) })[0]!.shape).toEqual([
      "N", 3, 10, 8,
    ]);
  });
});

describe("Gemm", () => {
  it("broadcasts a column C with alpha and beta", () => {
    const [y] = run(Gemm, [f32([2, 2], [1, 2, 3, 4]), f32([2, 2], [1, 0, 0, 1]), f32([2, 1], [10, 20])], { alpha: float(2), beta: float(0.5) });
    expect(values(y!)).toEqual([7, 9, 16, 18]);
  });

  it("multiplies int32 tensors", () => {
    const [y] = run(Gemm, [t("int32", [1, 2], [2, 3]), t("int32", [2, 1], [4, 5])]);
    expect([y!.dtype, values(y!)]).toEqual(["int32", [23]]);
  });

  it("rejects a C that does not broadcast to [M, N]", () => {
    expect(() => run(Gemm, [f32([2, 2], [1, 2, 3, 4]), f32([2, 2], [1, 0, 0, 1]), f32([3], [1, 2, 3])])).toThrow(HwacError);
  });

  it("infers [M, N] through transposes with symbolic dims", () => {
    const a: TensorType = { dtype: "float32", shape: [4, "batch"] };
    const b: TensorType = { dtype: "float32", shape: [10, 4] };
    expect(infer(Gemm, [a, b], { transA: int(1), transB: int(1) })[0]!.shape).toEqual(["batch", 10]);
  });
});

describe("MatMul", () => {
  it("broadcasts a batch of one against a batch of two", () => {
    const a = f32([1, 2, 2], [1, 2, 3, 4]);
    const b = f32([2, 2, 2], [1, 0, 0, 1, 0, 1, 1, 0]);
    const [y] = run(MatMul, [a, b]);
    expect([y!.shape, values(y!)]).toEqual([[2, 2, 2], [1, 2, 3, 4, 2, 1, 4, 3]]);
  });

  it("folds A's batch into one product when B is a matrix", () => {
    const [y] = run(MatMul, [f32([2, 2, 3], Array.from({ length: 12 }, (_, i) => i)), f32([3, 1], [1, 1, 1])]);
    expect([y!.shape, values(y!)]).toEqual([[2, 2, 1], [3, 12, 21, 30]]);
  });

  it("rounds float16 results once, from the exact sum", () => {
    // 1 + 2^-11 is a tie between 1 and 1 + 2^-10 (even: 1); 1 + 1.5·2^-11 rounds up.
    const [y] = run(MatMul, [t("float16", [2, 2], [1, 1, 1, 1]), t("float16", [2, 1], [1, 2 ** -11])]);
    expect(values(y!)).toEqual([1, 1]);
    const [z] = run(MatMul, [t("float16", [1, 2], [1, 1]), t("float16", [2, 1], [1, 1.5 * 2 ** -11])]);
    expect(values(z!)).toEqual([1 + 2 ** -10]);
  });

  it("infers numpy shapes with 1-D operands and symbolic batches", () => {
    const f = (shape: (number | string)[]): TensorType => ({ dtype: "float32", shape });
    expect(infer(MatMul, [f(["b", 3, 4]), f([4, 5])])[0]!.shape).toEqual(["b", 3, 5]);
    expect(infer(MatMul, [f([4]), f(["b", 4, 2])])[0]!.shape).toEqual(["b", 2]);
    expect(infer(MatMul, [f([2, 1, 3, 4]), f([5, 4, 6])])[0]!.shape).toEqual([2, 5, 3, 6]);
    expect(() => infer(MatMul, [f([3, 4]), f([5, 6])])).toThrow(HwacError);
  });
});

describe("MaxPool", () => {
  // Channel 0: [[1, 5, 2], [4, 3, 6]]; channel 1: [[9, 8, 7], [6, 5, 4]].
  const x = f32([1, 2, 2, 3], [1, 5, 2, 4, 3, 6, 9, 8, 7, 6, 5, 4]);

  it("returns flat Indices into X, row-major or column-major over the spatial axes", () => {
    const [y, rowMajor] = run(MaxPool, [x], { kernel_shape: ints([2, 2]) }, 2);
    expect(values(y!)).toEqual([5, 6, 9, 8]);
    expect([rowMajor!.dtype, values(rowMajor!)]).toEqual(["int64", [1, 5, 6, 7]]);
    const [, colMajor] = run(MaxPool, [x], { kernel_shape: ints([2, 2]), storage_order: int(1) }, 2);
    expect(values(colMajor!)).toEqual([2, 5, 6, 8]);
  });

  it("never lets padding win on an all-negative int8 input", () => {
    const [y] = run(MaxPool, [t("int8", [1, 1, 1, 3], [-5, -7, -6])], { kernel_shape: ints([1, 2]), pads: ints([0, 1, 0, 1]) });
    expect([y!.dtype, values(y!)]).toEqual(["int8", [-5, -5, -6, -6]]);
  });

  it("combines dilations with ceil_mode", () => {
    const x1 = f32([1, 1, 6], [1, 3, 2, 6, 5, 4]);
    const attrs = { kernel_shape: ints([2]), dilations: ints([2]), strides: ints([2]) };
    expect(values(run(MaxPool, [x1], attrs)[0]!)).toEqual([2, 5]);
    expect(values(run(MaxPool, [x1], { ...attrs, ceil_mode: int(1) })[0]!)).toEqual([2, 5, 5]);
  });

  it("infers Y and Indices shapes", () => {
    const types = infer(MaxPool, [{ dtype: "uint8", shape: ["N", 3, 32, "W"] }], { kernel_shape: ints([3, 3]), strides: ints([2, 2]) }, 2);
    expect(types).toEqual([
      { dtype: "uint8", shape: ["N", 3, 15, "?"] },
      { dtype: "int64", shape: ["N", 3, 15, "?"] },
    ]);
  });
});

describe("AveragePool", () => {
  const x = f32([1, 1, 5], [1, 2, 3, 4, 5]);
  const attrs = { kernel_shape: ints([3]), strides: ints([2]), pads: ints([1, 0]), ceil_mode: int(1) };

  it("counts declared padding with count_include_pad, but never a ceil_mode window's overhang", () => {
    // Windows start at −1, 1 and 3; the last one reaches past the input where no pad was declared.
    expect(values(run(AveragePool, [x], { ...attrs, count_include_pad: int(1) })[0]!)).toEqual([1, 3, 4.5]);
    expect(values(run(AveragePool, [x], attrs)[0]!)).toEqual([1.5, 3, 4.5]);
  });

  it("rounds float16 means", () => {
    const [y] = run(AveragePool, [t("float16", [1, 1, 3], [1, 0, 0])], { kernel_shape: ints([3]) });
    expect(values(y!)).toEqual([0.333251953125]);
  });
});

describe("global pooling", () => {
  const x = f32([1, 2, 2, 1, 2], [1, -2, 3, -4, -1, -1, -1, -1]);

  it("reduces every spatial axis of a 3-D input", () => {
    const [mx] = run(GlobalMaxPool, [x]);
    const [avg] = run(GlobalAveragePool, [x]);
    expect([mx!.shape, values(mx!)]).toEqual([[1, 2, 1, 1, 1], [3, -1]]);
    expect([avg!.shape, values(avg!)]).toEqual([[1, 2, 1, 1, 1], [-0.5, -1]]);
  });

  it("keeps batch and channel dims in the type", () => {
    expect(infer(GlobalAveragePool, [{ dtype: "float32", shape: ["N", 8, "h", "w"] }])[0]!.shape).toEqual(["N", 8, 1, 1]);
  });
});

describe("type rules on the conformance models", () => {
  const OPS = new Set(["Conv", "ConvTranspose", "Gemm", "MatMul", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"]);
  const root = join(FIXTURES, "onnx-node");
  const cases = readdirSync(root)
    .filter((name) => /conv|gemm|matmul|pool/.test(name))
    .map((name) => ({ name, model: loadModel(join(root, name, "model.onnx")) }))
    .filter(({ model }) => model.graph.nodes.every((n) => OPS.has(n.op)));

  it("infers every output's exact static shape", () => {
    expect(cases.length).toBeGreaterThan(60);
    for (const { name, model } of cases) {
      const { types } = inferModel(model);
      const [ds] = dataSets(join(root, name));
      model.graph.outputs.forEach((o, i) => {
        expect(types.get(o.name), `${name} ${o.name}`).toEqual({ dtype: ds!.outputs[i]!.tensor.dtype, shape: ds!.outputs[i]!.tensor.shape });
      });
    }
  });
});
