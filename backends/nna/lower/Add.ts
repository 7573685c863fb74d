/**
 * Add (and Sub) on the vector unit: TFLite's rescaled ADD (ir/kernels/int-elementwise.ts
 * `addInt`). Per activation operand, in place: `vec.sub imm=z`, then `vec.requant` by M_k with
 * the left shift L folded into its shift: ((q − z)·2^L·m0 + 2^(t−1)) >> t equals
 * ((q − z)·m0 + 2^(t−L−1)) >> (t − L) exactly while t − L ≥ 1, and M_k ≤ 1/2 gives t ≥ 31. Then
 * `vec.add` (`vec.sub`) of the two terms and `vec.requant` to the output. A constant operand's
 * terms are computed at compile time.
 */
import type { Node } from "../../../ir/graph.js";
import { addParams } from "../../../ir/kernels/int-elementwise.js";
import { mulShiftRound } from "../../../ir/numeric.js";
import type { LowerCtx } from "./context.js";
import { codes, lowerElementwise, type LaneOp, type Recipe } from "./elementwise.js";
import { lowerPerCode } from "./lut.js";

/** The recipe of Add (sign 1) or Sub (sign −1) over the node's two inputs. */
function addRecipe(node: Node, ctx: LowerCtx, sign: 1 | -1): Recipe {
  const p = addParams(node.inputs.map((n) => ctx.type(n)), [1, sign], ctx.type(node.outputs[0]!));
  const up = 2 ** p.leftShift;
  return {
    pairs: [...p.inputs.map(({ m }) => ({ m0: m.m0, shift: m.shift + p.leftShift })), p.out],
    prepare: (k) => {
      const z = p.inputs[k]!.zp;
      const sub: LaneOp[] = z !== 0 ? [{ fn: "sub", src: k, imm: z, dst: k }] : [];
      return [...sub, { fn: "requant", src: k, src2: { pair: k }, dst: k }];
    },
    constant: (k, c) => {
      const { m, zp } = p.inputs[k]!;
      return [Int32Array.from(c.data as Int8Array, (q) => mulShiftRound((q - zp) * up, m.m0, m.shift))];
    },
    combine: [
      { fn: sign > 0 ? "add" : "sub", src: 0, src2: 1, dst: "work" },
      { fn: "requant", src: "work", src2: { pair: 2 }, imm: p.zOut, clamp: [p.lo, p.hi], dst: "out" },
    ],
  };
}

/** Add or Sub: a table when one activation's code decides the output, else the rescaled sum. */
export function lowerAddSub(node: Node, ctx: LowerCtx, sign: 1 | -1): void {
  if (lowerPerCode(node, ctx)) return;
  node.inputs.forEach((n) => codes(ctx, node, n));
  lowerElementwise(node, ctx, node.inputs, addRecipe(node, ctx, sign));
}

export function lowerAdd(node: Node, ctx: LowerCtx): void {
  lowerAddSub(node, ctx, 1);
}
