/**
 * Relu on int8 codes whose input and output share one quantization (the quantizer gives a Relu
 * after a Conv/Gemm its producer's type): y = max(q, z). After a Gemm it is fused into the
 * requantization clamp (`lo = z`, docs/quantization.md) and costs nothing; elsewhere it is a
 * `vec.max` over the codes loaded into acc, in the input's layout. A Relu between two different
 * quantizations (on a graph input, say) is a table lookup like the other unary ops.
 */
import { VEC_MAX } from "../isa.js";
import { HwacError } from "../../../ir/errors.js";
import type { Node, TensorType } from "../../../ir/graph.js";
import { perTensor } from "../../../ir/quant-params.js";
import type { LowerCtx } from "./context.js";
import { lowerUnaryTable } from "./lut.js";


function sameQuant(a: TensorType, b: TensorType): boolean {
  const [p, q] = [a.quant, b.quant];
  return a.dtype === b.dtype && !!p && !!q && p.scale.length === 1 && q.scale.length === 1 && p.scale[0] === q.scale[0] && p.zeroPoint[0] === q.zeroPoint[0];
}

/** The zero point a code Relu clamps at, or an error naming the node when it would need a rescale. */
function reluFloor(ctx: LowerCtx, node: Node): number {
  const [x, y] = [ctx.type(node.inputs[0]!), ctx.type(node.outputs[0]!)];
  if (!sameQuant(x, y) || x.dtype !== "int8") {
    throw new HwacError("HW5043", "Relu on the NNA needs int8 input and output of one per-tensor quantization", { node: node.name, op: node.op });
  }
  return perTensor(y, "Relu's output").zp;
}

/**
 * The Relu fused into `producer`'s requantization: the only reader of its output, which is not a
 * graph output itself. The Relu is marked fused so that its own lowering emits nothing.
 */
export function fusedRelu(ctx: LowerCtx, producer: Node): { node: Node; floor: number } | undefined {
  const out = producer.outputs[0]!;
  const readers = ctx.consumers(out);
  const relu = readers[0];
  if (readers.length !== 1 || relu!.op !== "Relu" || ctx.graph.outputs.some((o) => o.name === out)) return undefined;
  if (!sameQuant(ctx.type(out), ctx.type(relu!.outputs[0]!))) return undefined;
  ctx.fused.add(relu!);
  return { node: relu!, floor: reluFloor(ctx, relu!) };
}

export function lowerRelu(node: Node, ctx: LowerCtx): void {
  if (ctx.fused.has(node)) return;
  // Between two quantizations a Relu is a function of the input code alone: an exact table.
  if (!sameQuant(ctx.type(node.inputs[0]!), ctx.type(node.outputs[0]!))) return lowerUnaryTable(node, ctx);
  const z = reluFloor(ctx, node);
  const x = ctx.buffer(node.inputs[0]!, node);
  const y = ctx.activationLike(node.outputs[0]!, x);
  const g = ctx.geo;
  const total = x.rows * x.cols;
  // Whole acc vectors of codes; the last one may run into the buffer's slack, whose lanes are not stored.
  const tile = Math.min(g.accVectors, Math.floor(g.outBytes / g.lanes), VEC_MAX);
  ctx.beginLayer(node);
  for (let v0 = 0; v0 * g.lanes < total; v0 += tile) {
    const at = v0 * g.lanes;
    const nv = Math.min(tile, Math.ceil((total - at) / g.lanes));
    ctx.step(
      [ctx.load({ mem: "acc", mode: "i8", dram: x.addr + at, xSize: nv, xStride: g.lanes })],
      [ctx.vec({ fn: "max", src: 0, srcColStride: 1, cols: nv, useImm: true, imm: z, dstMem: "out", dtype: "i8", dstColStride: g.lanes })],
      ctx.store({ dram: y.addr + at, xSize: Math.min(total - at, nv * g.lanes) }),
    );
  }
}
