/**
 * The integer elementwise kernels (tables over codes, single-varying-input steps, prepared
 * multipliers) against a direct per-element evaluation of their documented formulas with
 * `requantize` and `mulShiftRound`, bit for bit, on seeded random shapes, broadcasts and types.
 */
import { describe, expect, it } from "vitest";
import { intRange, type DType } from "../../ir/dtype.js";
import type { Node, TensorType } from "../../ir/graph.js";
import { mulShiftRound, requantize, xorshift32 } from "../../ir/numeric.js";
import { attrsOf, type IntCtx } from "../../ir/op.js";
import { broadcastShapes, broadcastStrides } from "../../ir/kernels/broadcast.js";
import {
  addInt,
  addParams,
  clampInt,
  divBase,
  divInt,
  divMultiplier,
  extremumInt,
  mapCodes,
  mulInt,
  multiplier,
  preluInt,
  rescaleCode,
  rescaleParams,
  signedMultiplier,
} from "../../ir/kernels/int-elementwise.js";
import { numel, strides, tensor, type Tensor } from "../../ir/tensor.js";

function rng(seed: number): () => number {
  let s = seed;
  return () => (s = xorshift32(s)) / 2 ** 32;
}

const TYPES: DType[] = ["int8", "uint8", "int4", "int16"];

function qtype(dtype: DType, scale: number, zp: number): TensorType {
  return { dtype, shape: null, quant: { scale: Float32Array.of(scale), zeroPoint: Int32Array.of(zp) } };
}

/** A random per-tensor type of `dtype` with a zero point inside its range. */
function randomType(r: () => number, dtype: DType, scale = 0.01 + r()): TensorType {
  const [lo, hi] = intRange(dtype);
  return qtype(dtype, Math.fround(scale), lo + Math.floor(r() * (hi - lo + 1)));
}

function randomTensor(r: () => number, t: TensorType, shape: number[]): Tensor {
  const [lo, hi] = intRange(t.dtype);
  const x = tensor(t.dtype, shape);
  const d = x.data as Int32Array;
  for (let i = 0; i < d.length; i++) d[i] = lo + Math.floor(r() * (hi - lo + 1));
  return x;
}

/** An output shape and operand shapes broadcasting to it: same shape, scalar, per channel or random size-1 axes. */
function randomShapes(r: () => number, count: number): { out: number[]; ins: number[][] } {
  const rank = 1 + Math.floor(r() * 4);
  const out = Array.from({ length: rank }, () => 1 + Math.floor(r() * 9));
  const ins = Array.from({ length: count }, () => {
    const kind = Math.floor(r() * 4);
    if (kind === 0) return out.slice();
    if (kind === 1) return r() < 0.5 ? [] : out.map(() => 1);
    if (kind === 2) return out.map((d, k) => (k === Math.min(1, rank - 1) ? d : 1));
    return out.slice(Math.floor(r() * rank)).map((d) => (r() < 0.5 ? 1 : d));
  });
  return { out: broadcastShapes(ins) ?? out, ins };
}

function ctxOf(op: string, inTypes: (TensorType | undefined)[], outT: TensorType): IntCtx {
  const node: Node = { op, domain: "", name: op, inputs: inTypes.map((_, i) => `x${i}`), outputs: ["y"], attrs: {} };
  return { node, attrs: attrsOf(node), opset: 18, runSubgraph: () => [], inTypes, outTypes: [outT] };
}

/** Element i of `out` read from each input by naive coordinate arithmetic. */
function gather(xs: readonly Tensor[], out: readonly number[]): (i: number) => number[] {
  const os = strides(out);
  const bs = xs.map((x) => broadcastStrides(x.shape, out));
  return (i) =>
    xs.map((x, k) => {
      let o = 0;
      for (let a = 0, rem = i; a < out.length; a++) {
        const c = Math.floor(rem / os[a]!);
        rem -= c * os[a]!;
        o += c * bs[k]![a]!;
      }
      return x.data[o] as number;
    });
}

function expectCodes(y: Tensor, shape: readonly number[], f: (codes: number[]) => number, xs: readonly Tensor[]): void {
  expect(y.shape).toEqual(shape);
  const at = gather(xs, shape);
  const want = Array.from({ length: numel(shape) }, (_, i) => f(at(i)));
  expect(Array.from(y.data as ArrayLike<number>)).toEqual(want);
}

const per = (t: TensorType) => ({ scale: t.quant!.scale[0]!, zp: t.quant!.zeroPoint[0]! });

describe("mapCodes", () => {
  it("gives f of every element through its table, including 16-bit arrays past 65536 elements", () => {
    const r = rng(7);
    const f = (q: number) => ((q * 37) % 101) | 0;
    for (const x of [new Int8Array(300), new Uint8Array(256), new Int16Array(70000), new Uint16Array(65536), new Int16Array(10)]) {
      for (let i = 0; i < x.length; i++) x[i] = Math.floor(r() * 2 ** 16) - (x instanceof Int8Array || x instanceof Int16Array ? 2 ** 15 : 0);
      expect(Array.from(mapCodes(x, f))).toEqual(Array.from(x, f));
    }
  });
});

describe("integer elementwise kernels equal their per-element formulas", () => {
  for (const dtype of TYPES) {
    it(`Add, Sub and Sum on ${dtype}`, () => {
      const r = rng(11);
      for (let trial = 0; trial < 40; trial++) {
        const count = trial % 5 === 4 ? 3 : 2;
        const signs = count === 3 ? [1, 1, 1] : [1, trial % 2 ? -1 : 1];
        const { out, ins } = randomShapes(r, count);
        const inTypes = ins.map(() => randomType(r, r() < 0.3 ? "int8" : dtype));
        const outT = randomType(r, dtype);
        const xs = ins.map((s, k) => randomTensor(r, inTypes[k]!, s));
        const p = addParams(inTypes, signs, outT);
        const y = addInt(xs, signs, ctxOf("Add", inTypes, outT));
        expectCodes(y, out, (qs) => {
          let acc = 0;
          qs.forEach((q, k) => {
            const { m, zp, sign } = p.inputs[k]!;
            acc = (acc + sign * mulShiftRound((q - zp) * 2 ** p.leftShift, m.m0, m.shift)) | 0;
          });
          return requantize(acc, p.out.m0, p.out.shift, p.zOut, p.lo, p.hi);
        }, xs);
      }
    });

    it(`Mul, Max and Min on ${dtype}`, () => {
      const r = rng(23);
      for (let trial = 0; trial < 40; trial++) {
        const { out, ins } = randomShapes(r, 2);
        const inTypes = ins.map(() => randomType(r, dtype));
        const outT = randomType(r, dtype);
        const xs = ins.map((s, k) => randomTensor(r, inTypes[k]!, s));
        const [a, b] = inTypes.map(per) as [ReturnType<typeof per>, ReturnType<typeof per>];
        const o = per(outT);
        const [lo, hi] = intRange(dtype);
        const m = multiplier((a.scale * b.scale) / o.scale, "the product");
        const ctx = ctxOf("Mul", inTypes, outT);
        expectCodes(mulInt(xs, ctx), out, ([x, w]) => requantize(((x! - a.zp) * (w! - b.zp)) | 0, m.m0, m.shift, o.zp, lo, hi), xs);
        const ps = inTypes.map((t) => rescaleParams(t, outT));
        for (const max of [true, false]) {
          const pick = (qs: number[]) => qs.map((q, k) => rescaleCode(q, ps[k]!)).reduce((u, v) => (max ? Math.max(u, v) : Math.min(u, v)));
          expectCodes(extremumInt(xs, ctx, max), out, pick, xs);
        }
      }
    });

    it(`Div by a quantized or a float divisor on ${dtype}`, () => {
      const r = rng(31);
      for (let trial = 0; trial < 30; trial++) {
        const { out, ins } = randomShapes(r, 2);
        const inTypes = ins.map(() => randomType(r, dtype));
        const outT = randomType(r, dtype, 0.5 + r());
        const xs = ins.map((s, k) => randomTensor(r, inTypes[k]!, s));
        const [a, b] = inTypes.map(per) as [ReturnType<typeof per>, ReturnType<typeof per>];
        const o = per(outT);
        const [lo, hi] = intRange(dtype);
        const base = divBase(inTypes[0], inTypes[1], outT);
        expectCodes(divInt(xs, ctxOf("Div", inTypes, outT)), out, ([n0, d0]) => {
          const [n, d] = [n0! - a.zp, d0! - b.zp];
          if (d === 0) return n > 0 ? hi : n < 0 ? lo : o.zp;
          const mm = divMultiplier(Math.abs(d), base);
          return 31 - mm.shift > 62 ? o.zp : requantize(Math.sign(d) * n, mm.m0, mm.shift, o.zp, lo, hi);
        }, xs);
        // A float constant divisor (scalar or not): one signed multiplier per element of it.
        const c = tensor("float32", ins[1]!, Float32Array.from({ length: numel(ins[1]!) }, () => Math.fround((r() - 0.5) * 8 || 1)));
        const idx = tensor("int32", ins[1]!, Int32Array.from({ length: numel(ins[1]!) }, (_, j) => j));
        const y = divInt([xs[0]!, c], ctxOf("Div", [inTypes[0], undefined], outT));
        expectCodes(y, out, ([x, j]) => {
          const mm = signedMultiplier(a.scale / ((c.data[j!] as number) * o.scale), "the quotient");
          return requantize(x! - a.zp, mm.m0, mm.shift, o.zp, lo, hi);
        }, [xs[0]!, idx]);
      }
    });

    it(`Clip and PRelu on ${dtype}`, () => {
      const r = rng(47);
      for (let trial = 0; trial < 30; trial++) {
        const { out, ins } = randomShapes(r, 2);
        const inT = randomType(r, dtype);
        const slopeT = randomType(r, dtype);
        const outT = randomType(r, dtype);
        // Big enough inputs take the table of `mapCodes`.
        const x = randomTensor(r, inT, trial % 2 ? out : [...out, 40]);
        const [lo, hi] = intRange(dtype);
        const bounds = [lo + Math.floor(r() * (hi - lo)), lo + Math.floor(r() * (hi - lo))] as const;
        const p = rescaleParams(inT, outT);
        const clipped = clampInt(x, ctxOf("Clip", [inT], outT), () => bounds);
        expectCodes(clipped, x.shape, ([q]) => requantize(q! - p.zIn, p.m.m0, p.m.shift, p.zOut, Math.min(...bounds), bounds[1]), [x]);

        const xp = randomTensor(r, inT, out);
        const slope = randomTensor(r, slopeT, ins[1]!.length <= out.length && broadcastShapes([out, ins[1]!])?.join() === out.join() ? ins[1]! : []);
        const [sx, sa, o] = [per(inT), per(slopeT), per(outT)];
        const pos = multiplier(sx.scale / o.scale, "+");
        const neg = multiplier((sx.scale * sa.scale) / o.scale, "−");
        expectCodes(preluInt([xp, slope], ctxOf("PRelu", [inT, slopeT], outT)), out, ([q, al]) => {
          const v = q! - sx.zp;
          return v >= 0 ? requantize(v, pos.m0, pos.shift, o.zp, lo, hi) : requantize((v * (al! - sa.zp)) | 0, neg.m0, neg.shift, o.zp, lo, hi);
        }, [xp, slope]);
      }
    });
  }
});
