/**
 * Div on the NNA, bit for bit ir/kernels/int-elementwise.ts `divInt`: y = requantize(a − z_a, M_d)
 * with M_d = sign(d)·reciprocal(|d|)·s_a/(s_b·s_out) for the divisor's code difference d = b − z_b
 * (`divMultiplier`); d = 0 saturates by the sign of a − z_a, and a quotient too small to show
 * (shift t > 62) is z_out.
 *
 * - One activation and single-element constants (x / 6 in a hard-swish, 1 / x): a table of codes
 *   (lut.ts).
 * - A constant divisor, which the quantizer keeps real (`scaleInt`): s_a/(c·s_out) per element is
 *   a per-lane requant pair (elementwise.ts), as Mul's float constants are.
 * - Two activations of one shape and layout: the divisor is an int8 code, so its multiplier is a
 *   function of 256 codes, which the reference itself tabulates. The tables go to lut as int16
 *   entries: m0's high and low halves and the shift, read by three `vec.lut8`; m0 = (hi << 16) + lo
 *   is exact in wrapping int32 arithmetic (hi is stored modulo 2^16, lo signed). A zero divisor
 *   takes m0 = 2^31 − 1, shift 30: (a − z_a)·M is then ≥ 2^30 in size for a ≠ z_a and saturates by
 *   its sign, and is 0 for a = z_a, exactly the reference's three cases. Per tile: `vec.sub`
 *   a − z_a, three lookups, `vec.shl` and `vec.add` into the pairs, and `vec.requant` to out.
 */
import { VEC_MAX } from "../isa.js";
import { isFloat } from "../../../ir/dtype.js";
import type { Node } from "../../../ir/graph.js";
import { divBase, divMultiplier, signedMultiplier, type QType } from "../../../ir/kernels/int-elementwise.js";
import type { FixedMultiplier } from "../../../ir/numeric.js";
import { numel, toFloat64 } from "../../../ir/tensor.js";
import type { Insn } from "../isa.js";
import type { LowerCtx } from "./context.js";
import { codes, lowerElementwise, unsupported, type Recipe } from "./elementwise.js";
import { lowerPerCode } from "./lut.js";
import { fusedRelu } from "./Relu.js";

/** m0 and shift of the quotient by code difference d, as a requant pair (see the header for d = 0). */
function divPair(d: number, base: FixedMultiplier): [number, number] {
  if (d === 0) return [2 ** 31 - 1, 30];
  const m = divMultiplier(Math.abs(d), base);
  if (m.m0 === 0 || 31 - m.shift > 62) return [0, 0];
  return [d < 0 ? -m.m0 : m.m0, m.shift];
}

/** A constant divisor c, which the quantizer keeps real (`scaleInt`): y = requantize(a − z_a, s_a/(c·s_out)) per element. */
function constantDivisor(node: Node, ctx: LowerCtx): Recipe {
  const [aName, bName, yName] = [node.inputs[0]!, node.inputs[1]!, node.outputs[0]!];
  const qa = codes(ctx, node, aName);
  const o = codes(ctx, node, yName);
  if (ctx.graph.valueTypes.get(bName)?.quant) throw unsupported(node, `a quantized constant divisor ('${bName}') is not supported (the quantizer keeps constant divisors real)`);
  return {
    prepare: (k) => (k === 0 && qa.zp !== 0 ? [{ fn: "sub", src: 0, imm: qa.zp, dst: 0 }] : []),
    constant: (_k, c) => {
      if (!isFloat(c.dtype)) throw unsupported(node, `a divisor that is not quantized must be float, got ${c.dtype}`);
      const ms = Array.from(toFloat64(c), (v) => signedMultiplier(qa.scale / (v * o.scale), "the quotient"));
      return [Int32Array.from(ms, (m) => m.m0), Int32Array.from(ms, (m) => m.shift)];
    },
    combine: [{ fn: "requant", src: 0, src2: 1, imm: o.zp, clamp: [o.lo, o.hi], dst: "out" }],
  };
}

/** The lut image of the divisor tables: m0's high half, its low half, the shift, 256 int16 entries each by code + 128. */
function divisorTables(qb: QType, base: FixedMultiplier): Uint8Array {
  const bytes = new Uint8Array(3 * 256 * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 256; i++) {
    const [m0, shift] = divPair(i - 128 - qb.zp, base);
    const lo = (m0 << 16) >> 16;
    view.setInt16(2 * i, (m0 - lo) / 65536, true);
    view.setInt16(2 * (256 + i), lo, true);
    view.setInt16(2 * (512 + i), shift, true);
  }
  return bytes;
}

/** The quotient of two activations of one shape and layout (see the header). */
function lowerQuotient(node: Node, ctx: LowerCtx): void {
  const [aName, bName, yName] = [node.inputs[0]!, node.inputs[1]!, node.outputs[0]!];
  const [qa, qb, o] = [codes(ctx, node, aName), codes(ctx, node, bName), codes(ctx, node, yName)];
  const [xa, xb] = [ctx.buffer(aName, node), ctx.buffer(bName, node)];
  const size = numel(ctx.shape(yName, node));
  if (numel(ctx.shape(aName, node)) !== size || numel(ctx.shape(bName, node)) !== size) {
    throw unsupported(node, "two activations must have the output's shape (broadcasting an activation divisor is not supported)");
  }
  if (xa.layout !== xb.layout || xa.rows !== xb.rows || xa.cols !== xb.cols || xa.channels !== xb.channels) {
    throw unsupported(node, `'${aName}' (${xa.layout} ${xa.rows}×${xa.cols}) and '${bName}' (${xb.layout} ${xb.rows}×${xb.cols}) lie in different layouts`);
  }
  const tables = ctx.constant(divisorTables(qb, divBase(ctx.type(aName), ctx.type(bName), ctx.type(yName))));
  const relu = fusedRelu(ctx, node);
  const y = ctx.activationLike(relu ? relu.node.outputs[0]! : yName, xa);
  const lo = relu ? Math.max(o.lo, relu.floor) : o.lo;

  const g = ctx.geo;
  const lanes = g.lanes;
  const total = xa.rows * xa.cols;
  // acc: a tile of dividends, of divisors, and of (m0, shift) pairs.
  const tile = Math.min(Math.floor(g.accVectors / 4), Math.floor(g.outBytes / lanes), VEC_MAX);
  const [a, b, pair] = [0, tile, 2 * tile];
  ctx.beginLayer(node);
  const setup: Insn[] = [ctx.load({ mem: "lut", mode: "i16", dram: tables, xSize: 3 * 256, xStride: 2 })];
  for (let v0 = 0; v0 * lanes < total; v0 += tile) {
    const at = v0 * lanes;
    const nv = Math.min(tile, Math.ceil((total - at) / lanes));
    const span = { cols: nv, srcColStride: 1 };
    const pairs = { cols: nv, dstColStride: 2 };
    const compute: Insn[] = [
      ctx.vec({ fn: "lut8", dst: pair, src: b, src2: 0, ...span, ...pairs }),
      ctx.vec({ fn: "shl", dst: pair, src: pair, useImm: true, imm: 16, ...pairs, srcColStride: 2 }),
      ctx.vec({ fn: "lut8", dst: pair + 1, src: b, src2: 512, ...span, ...pairs }),
      ctx.vec({ fn: "lut8", dst: b, src: b, src2: 256, ...span, dstColStride: 1 }),
      ctx.vec({ fn: "add", dst: pair, src: pair, src2: b, ...pairs, srcColStride: 2, src2ColStride: 1 }),
    ];
    if (qa.zp !== 0) compute.push(ctx.vec({ fn: "sub", dst: a, src: a, useImm: true, imm: qa.zp, ...span, dstColStride: 1 }));
    compute.push(ctx.vec({
      fn: "requant", src: a, src2: pair, src2ColStride: 2, imm: o.zp, clamp: true, lo, hi: o.hi,
      ...span, dstMem: "out", dtype: "i8", dstColStride: lanes,
    }));
    ctx.step(
      [
        ...setup.splice(0),
        ctx.load({ mem: "acc", sram: a, dram: xa.addr + at, xSize: nv, xStride: lanes }),
        ctx.load({ mem: "acc", sram: b, dram: xb.addr + at, xSize: nv, xStride: lanes }),
      ],
      compute,
      ctx.store({ dram: y.addr + at, xSize: Math.min(total - at, nv * lanes) }),
    );
  }
}

export function lowerDiv(node: Node, ctx: LowerCtx): void {
  if (lowerPerCode(node, ctx)) return;
  if (ctx.graph.initializers.has(node.inputs[1]!)) return lowerElementwise(node, ctx, node.inputs, constantDivisor(node, ctx));
  if (ctx.graph.initializers.has(node.inputs[0]!)) throw unsupported(node, "a constant dividend of more than one element over an activation divisor is not supported");
  lowerQuotient(node, ctx);
}
