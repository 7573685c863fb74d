/**
 * Mul on the vector unit (ir/kernels/int-elementwise.ts `mulInt`). Two quantized operands:
 * `vec.sub imm=z` on each activation (a constant's codes minus its zero point are computed at
 * compile time), `vec.mul`, and `vec.requant` by s_a·s_b/s_out to the output. A float constant
 * (which the quantizer leaves real) is `scaleInt`: one signed multiplier per element, so the
 * requantization reads per-lane multiplier pairs laid out like the output.
 */
import { isFloat } from "../../../ir/dtype.js";
import type { Node } from "../../../ir/graph.js";
import { multiplier, signedMultiplier } from "../../../ir/kernels/int-elementwise.js";
import { toFloat64 } from "../../../ir/tensor.js";
import type { LowerCtx } from "./context.js";
import { codes, lowerElementwise, unsupported, type LaneOp, type Recipe } from "./elementwise.js";
import { lowerPerCode } from "./lut.js";

/** q − z on activation operand k, in place (nothing when z = 0). */
function centre(k: number, z: number): LaneOp[] {
  return z !== 0 ? [{ fn: "sub", src: k, imm: z, dst: k }] : [];
}

/** Both operands quantized: y = requantize((a − z_a)(b − z_b), s_a·s_b/s_out). */
function productRecipe(node: Node, ctx: LowerCtx): Recipe {
  const q = node.inputs.map((n) => codes(ctx, node, n));
  const o = codes(ctx, node, node.outputs[0]!);
  return {
    pairs: [multiplier((q[0]!.scale * q[1]!.scale) / o.scale, "the product")],
    prepare: (k) => centre(k, q[k]!.zp),
    constant: (k, c) => [Int32Array.from(c.data as Int8Array, (v) => v - q[k]!.zp)],
    combine: [
      { fn: "mul", src: 0, src2: 1, dst: "work" },
      { fn: "requant", src: "work", src2: { pair: 0 }, imm: o.zp, clamp: [o.lo, o.hi], dst: "out" },
    ],
  };
}

/** Operand x quantized, operand 1 − x a float constant c: y = requantize(x − z_x, c·s_x/s_out) per element. */
function scaleRecipe(node: Node, ctx: LowerCtx, x: number): Recipe {
  const qx = codes(ctx, node, node.inputs[x]!);
  const o = codes(ctx, node, node.outputs[0]!);
  return {
    prepare: (k) => centre(k, qx.zp),
    constant: (_k, c) => {
      if (!isFloat(c.dtype)) throw unsupported(node, `a constant that is not quantized must be float, got ${c.dtype}`);
      const ms = Array.from(toFloat64(c), (v) => signedMultiplier((v * qx.scale) / o.scale, "the product"));
      return [Int32Array.from(ms, (m) => m.m0), Int32Array.from(ms, (m) => m.shift)];
    },
    combine: [{ fn: "requant", src: x, src2: 1 - x, imm: o.zp, clamp: [o.lo, o.hi], dst: "out" }],
  };
}

export function lowerMul(node: Node, ctx: LowerCtx): void {
  if (lowerPerCode(node, ctx)) return;
  const real = node.inputs.findIndex((n) => !ctx.graph.valueTypes.get(n)?.quant);
  lowerElementwise(node, ctx, node.inputs, real < 0 ? productRecipe(node, ctx) : scaleRecipe(node, ctx, 1 - real));
}
