/**
 * Ops whose output code is a function of one int8 activation code, as 256-entry tables
 * (docs/nna-isa.md "Unary tables"): the unary table ops (Sigmoid, Tanh, GELU, … — every op whose
 * int8 `runInt` is `unaryTable`), Clip with constant bounds, and elementwise ops whose other
 * operands are single-element constants or the same activation again.
 *
 * The table is the op's own integer reference (`runInt`) evaluated at compile time on all 256
 * input codes, so it is exact by construction; one LOAD puts it in lut and each tile is one
 * `vec.lut8` (entry = int8 code + 128). A table that is a clamp of the codes (Clip between equal
 * types, Max with a constant) needs no table: it is one clamped copy.
 */
import type { Node } from "../../../ir/graph.js";
import { attrsOf } from "../../../ir/op.js";
import { findOp } from "../../../ir/ops/index.js";
import { tensor, type Tensor } from "../../../ir/tensor.js";
import type { LowerCtx } from "./context.js";
import { codes, lowerElementwise, unsupported, type LaneOp } from "./elementwise.js";

const CODES = 256;

/** The output code for every code of activation `x` (index code + 128), by the op's `runInt`; the other inputs are constants. */
function codeTable(node: Node, ctx: LowerCtx, x: string): Int32Array {
  const def = findOp(node.domain, node.op);
  if (!def?.runInt) throw unsupported(node, "the op has no integer semantics");
  const xT = { ...ctx.type(x), shape: [CODES] };
  const all = tensor("int8", [CODES], Int8Array.from({ length: CODES }, (_, i) => i - 128));
  const inputs = node.inputs.map((n): Tensor | undefined => {
    if (n === "" || n === x) return n === x ? all : undefined;
    const c = ctx.graph.initializers.get(n);
    if (!c) throw unsupported(node, `input '${n}' must be a constant when '${x}' is the activation`);
    return c;
  });
  const outT = ctx.type(node.outputs[0]!);
  const [y] = def.runInt(inputs, {
    node,
    attrs: attrsOf(node),
    opset: ctx.opset,
    runSubgraph: () => {
      throw unsupported(node, "subgraphs are not lowered");
    },
    inTypes: node.inputs.map((n) => (n === "" ? undefined : n === x ? xT : ctx.graph.valueTypes.get(n))),
    outTypes: [{ ...outT, shape: [CODES] }],
  });
  return Int32Array.from(y!.data as ArrayLike<number>);
}

/** [lo, hi] when table[q + 128] = min(max(q, lo), hi) for every code q. */
function clampOf(table: Int32Array): readonly [number, number] | undefined {
  const [lo, hi] = [table[0]!, table[CODES - 1]!];
  return table.every((v, i) => v === Math.min(Math.max(i - 128, lo), hi)) ? [lo, hi] : undefined;
}

/** Lowers `node` as the table of its codes in activation `x`. */
function lowerCodeMap(node: Node, ctx: LowerCtx, x: string): void {
  codes(ctx, node, x);
  const table = codeTable(node, ctx, x);
  const clamp = clampOf(table);
  const op: LaneOp = clamp ? { fn: "add", src: 0, clamp, dst: "out" } : { fn: "lut8", src: 0, src2: "table", dst: "out" };
  lowerElementwise(node, ctx, [x], {
    ...(clamp ? {} : { table }),
    prepare: () => [],
    constant: () => {
      throw new Error("a code map has no constant operand");
    },
    combine: [op],
  });
}

/**
 * Lowers `node` as a table when its output depends on one activation's code alone: its other
 * inputs are single-element constants (or omitted). Returns false, emitting nothing, otherwise.
 */
export function lowerPerCode(node: Node, ctx: LowerCtx): boolean {
  const acts = new Set(node.inputs.filter((n) => n !== "" && !ctx.graph.initializers.has(n)));
  const scalars = node.inputs.every((n) => (ctx.graph.initializers.get(n)?.data.length ?? 1) === 1);
  if (acts.size !== 1 || !scalars) return false;
  lowerCodeMap(node, ctx, [...acts][0]!);
  return true;
}

/** A unary op whose int8 semantics is a table (Sigmoid, Tanh, …): its first input is the activation. */
export function lowerUnaryTable(node: Node, ctx: LowerCtx): void {
  lowerCodeMap(node, ctx, node.inputs[0]!);
}
