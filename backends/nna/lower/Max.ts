/**
 * Max (and Min) of two operands on the vector unit (ir/kernels/int-elementwise.ts
 * `extremumInt`): each operand rescaled to the output type — nothing when the rescale is the
 * identity (equal types), else `vec.sub imm=z` and `vec.requant` clamped to the output range; a
 * constant's rescaled codes come from the compiler — then one `vec.max` (`vec.min`) to the output.
 */
import type { Node } from "../../../ir/graph.js";
import { rescaleCode, rescaleParams } from "../../../ir/kernels/int-elementwise.js";
import type { LowerCtx } from "./context.js";
import { codes, lowerElementwise, unsupported, type LaneOp, type Recipe } from "./elementwise.js";
import { lowerPerCode } from "./lut.js";

function extremumRecipe(node: Node, ctx: LowerCtx, max: boolean): Recipe {
  const outT = ctx.type(node.outputs[0]!);
  const ps = node.inputs.map((n, k) => {
    codes(ctx, node, n);
    return rescaleParams(ctx.type(n), outT, `input ${k}`);
  });
  return {
    pairs: ps.map((p) => p.m),
    prepare: (k) => {
      const p = ps[k]!;
      // M = 1 exactly (m0 = 2^30, shift 1) and equal zero points: requantize(q − z, M, z) = q.
      if (p.m.m0 === 2 ** 30 && p.m.shift === 1 && p.zIn === p.zOut) return [];
      const sub: LaneOp[] = p.zIn !== 0 ? [{ fn: "sub", src: k, imm: p.zIn, dst: k }] : [];
      return [...sub, { fn: "requant", src: k, src2: { pair: k }, imm: p.zOut, clamp: [p.lo, p.hi], dst: k }];
    },
    constant: (k, c) => [Int32Array.from(c.data as Int8Array, (q) => rescaleCode(q, ps[k]!))],
    combine: [{ fn: max ? "max" : "min", src: 0, src2: 1, dst: "out" }],
  };
}

/** Max (max = true) or Min: a table when one activation's code decides the output, else two operands. */
export function lowerExtremum(node: Node, ctx: LowerCtx, max: boolean): void {
  if (lowerPerCode(node, ctx)) return;
  if (node.inputs.length !== 2) throw unsupported(node, `takes two operands (or one activation and single-element constants), got ${node.inputs.length}`);
  lowerElementwise(node, ctx, node.inputs, extremumRecipe(node, ctx, max));
}

export function lowerMax(node: Node, ctx: LowerCtx): void {
  lowerExtremum(node, ctx, true);
}
