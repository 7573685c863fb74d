/**
 * If (ONNX): runs `then_branch` or `else_branch` on a one-element condition; the branches read
 * outer-scope values directly. A condition unknown at compile time gives each output the type
 * both branches agree on: equal dims stay, differing dims become "?", differing ranks an
 * unknown shape.
 */
import { typeOf, type Dim, type Node, type TensorType } from "../graph.js";
import { need, opError, type OpDef } from "../op.js";
import { getNumber, shapeStr, type Tensor } from "../tensor.js";

function holds(cond: Tensor, ctx: { node: Node }): boolean {
  if (cond.data.length !== 1) throw opError(ctx, `cond must hold one element, got shape ${shapeStr(cond.shape)}`);
  return getNumber(cond, 0) !== 0;
}

function mergeShapes(a: readonly Dim[] | null, b: readonly Dim[] | null): Dim[] | null {
  if (!a || !b || a.length !== b.length) return null;
  return a.map((d, i) => (d === b[i] ? d : "?"));
}

export const If: OpDef = {
  op: "If",
  inferTypes(ctx) {
    const thenG = ctx.attrs.graph("then_branch");
    const elseG = ctx.attrs.graph("else_branch");
    const cond = ctx.consts[0];
    if (cond) return [...ctx.inferSubgraph(holds(cond, ctx) ? thenG : elseG)];
    const a = ctx.inferSubgraph(thenG);
    const b = ctx.inferSubgraph(elseG);
    if (a.length !== b.length) {
      throw opError(ctx, `then_branch has ${a.length} outputs but else_branch has ${b.length}`);
    }
    return a.map((t, i): TensorType => {
      const u = b[i]!;
      if (t.dtype !== u.dtype) {
        throw opError(ctx, `output ${i} is ${t.dtype} in then_branch but ${u.dtype} in else_branch`);
      }
      return typeOf(t.dtype, mergeShapes(t.shape, u.shape));
    });
  },
  run(inputs, ctx) {
    const branch = holds(need(inputs, 0, ctx), ctx) ? "then_branch" : "else_branch";
    return ctx.runSubgraph(ctx.attrs.graph(branch));
  },
};
