/**
 * Clip on int8 codes (ir/ops/Clip.ts `runInt`): y = min(max(R(x), lo), hi), R the rescale from the
 * input's type to the output's, lo and hi codes of the output type.
 *
 * With constant bounds (or none) it is a function of the code: a table (lut.ts), one clamped copy
 * between equal types. A bound computed in the program (melspectrogram's max(x) − 80 dB floor) is
 * one scalar code per run, either the quantized bound itself or the codes a DequantizeLinear turns
 * into the float bound (DequantizeLinear.ts leaves those to this lowering). Its output code is then
 * a function of that code, tabulated at compile time by the reference itself: Clip's `runInt` on
 * an input of the output's type (R the identity) gives max(q, lo) at q = −128 and min(q, hi) at
 * q = 127, i.e. the bound's code, for each of the 256 codes.
 *
 * On the vector unit, once per layer: the bound's code is broadcast to every lane by a GEMM of its
 * input vector with a weight block whose first row is all ones (the other lanes meet zero rows),
 * and looked up in its table (vec.lut8). Then per tile of codes: R with a constant lo folded in
 * (a table, unless the identity), vec.max with the lo vector, vec.min with the hi vector, and a
 * constant hi as the clamp of the last instruction writing out; a constant lo is applied first,
 * so the order is the reference's and lo > hi collapses onto hi as ONNX's Clip does.
 */
import { VEC_MAX } from "../isa.js";
import type { Node, TensorType } from "../../../ir/graph.js";
import { attrsOf, type IntCtx } from "../../../ir/op.js";
import { findOp } from "../../../ir/ops/index.js";
import { numel, tensor, type Tensor } from "../../../ir/tensor.js";
import type { Insn, VecFn } from "../isa.js";
import type { LowerCtx } from "./context.js";
import { codes, unsupported } from "./elementwise.js";
import { lowerUnaryTable } from "./lut.js";

const CODES = 256;
/** The int8 codes, entry i = i − 128 (lut8's index order). */
const ALL_CODES = Int8Array.from({ length: CODES }, (_, i) => i - 128);

/** A bound computed in the program: the code it comes from (a program value of one element) and its output code per code. */
interface Computed {
  readonly code: string;
  readonly table: Int32Array;
}

/** Clip's `runInt` on codes `x` of type `xType` with the bounds given (undefined: omitted). */
function clipInt(ctx: LowerCtx, node: Node, x: Tensor, xType: TensorType, lo?: [Tensor, TensorType | undefined], hi?: [Tensor, TensorType | undefined]): Int32Array {
  const outT = ctx.type(node.outputs[0]!);
  const ictx: IntCtx = {
    node,
    attrs: attrsOf(node),
    opset: ctx.opset,
    runSubgraph: () => {
      throw unsupported(node, "subgraphs are not lowered");
    },
    inTypes: [{ ...xType, shape: x.shape }, lo?.[1], hi?.[1]],
    outTypes: [{ ...outT, shape: x.shape }],
  };
  const [y] = findOp("", "Clip")!.runInt!([x, lo?.[0], hi?.[0]], ictx);
  return Int32Array.from(y!.data as ArrayLike<number>);
}

/**
 * The scalar bound tensors a computed bound takes, one per code of its source: the quantized
 * codes themselves, or a DequantizeLinear's float values of them (its own float semantics).
 */
function boundValues(ctx: LowerCtx, node: Node, name: string): { code: string; values: Tensor[]; type: TensorType | undefined } {
  const producer = ctx.graph.nodes.find((n) => n.outputs.includes(name));
  const dq = producer?.op === "DequantizeLinear" ? producer : undefined;
  const code = dq ? dq.inputs[0]! : name;
  codes(ctx, node, code);
  if (numel(ctx.shape(code, node)) !== 1) throw unsupported(node, `a computed bound must be a single value, got '${code}' of shape [${ctx.shape(code, node).join(", ")}]`);
  const all = tensor("int8", [CODES], ALL_CODES);
  if (!dq) return { code, type: ctx.type(code), values: Array.from(ALL_CODES, (q) => tensor("int8", [], Int8Array.of(q))) };
  const consts = dq.inputs.slice(1).map((n) => (n === "" ? undefined : ctx.graph.initializers.get(n)));
  if (consts.some((c, i) => c === undefined && dq.inputs[i + 1] !== "")) throw unsupported(node, `the scale and zero point of '${dq.name}' must be constants`);
  const [floats] = findOp("", "DequantizeLinear")!.run([all, ...consts], {
    node: dq,
    attrs: attrsOf(dq),
    opset: ctx.opset,
    runSubgraph: () => {
      throw unsupported(node, "subgraphs are not lowered");
    },
  });
  const f = floats!;
  return { code, type: undefined, values: Array.from(ALL_CODES, (_, i) => tensor(f.dtype, [], (f.data as Float32Array).slice(i, i + 1))) };
}

/** Bound `i` (1: min, 2: max) computed in the program, as its table of output codes; undefined when constant or absent. */
function computedBound(ctx: LowerCtx, node: Node, i: 1 | 2): Computed | undefined {
  const name = node.inputs[i];
  if (!name || ctx.graph.initializers.has(name)) return undefined;
  const { code, values, type } = boundValues(ctx, node, name);
  // On an input of the output's type R is the identity: the result at the far end is the bound's code.
  const outT = ctx.type(node.outputs[0]!);
  const q = tensor("int8", [1], Int8Array.of(i === 1 ? -128 : 127));
  return { code, table: Int32Array.from(values, (v) => clipInt(ctx, node, q, outT, i === 1 ? [v, type] : undefined, i === 2 ? [v, type] : undefined)[0]!) };
}

/** A constant bound input as its tensor and type, for `clipInt`. */
function constantBound(ctx: LowerCtx, node: Node, i: 1 | 2): [Tensor, TensorType | undefined] | undefined {
  const name = node.inputs[i];
  const c = name ? ctx.graph.initializers.get(name) : undefined;
  return c && [c, ctx.graph.valueTypes.get(name!)];
}

export function lowerClip(node: Node, ctx: LowerCtx): void {
  const [lo, hi] = [computedBound(ctx, node, 1), computedBound(ctx, node, 2)];
  if (!lo && !hi) return lowerUnaryTable(node, ctx);
  const [xName, yName] = [node.inputs[0]!, node.outputs[0]!];
  codes(ctx, node, xName);
  const yq = codes(ctx, node, yName);
  // R with a constant lo folded in (it applies first), from the reference on every code.
  const all = tensor("int8", [CODES], ALL_CODES);
  const base = clipInt(ctx, node, all, ctx.type(xName), lo ? undefined : constantBound(ctx, node, 1));
  const identity = base.every((v, i) => v === i - 128);
  // A constant hi applies last: the clamp of the instruction writing out.
  const hiCode = hi ? yq.hi : clipInt(ctx, node, tensor("int8", [1], Int8Array.of(yq.hi)), ctx.type(yName), undefined, constantBound(ctx, node, 2))[0]!;
  const computed = [lo, hi].filter((b): b is Computed => b !== undefined);

  const g = ctx.geo;
  const x = ctx.buffer(xName, node);
  const y = ctx.activationLike(yName, x);
  ctx.beginLayer(node);
  // lut: the bounds' tables, then R's; acc: the bound vectors, then a tile of codes.
  const tables = [...computed.map((b) => b.table), ...(identity ? [] : [base])];
  const lut = new Uint8Array(CODES * tables.length);
  tables.forEach((t, k) => lut.set(Uint8Array.from(t, (v) => v & 255), k * CODES));
  const ones = new Uint8Array(g.blockBytes).fill(1, 0, g.lanes);
  const nb = computed.length;
  const setup: Insn[] = [
    ctx.load({ mem: "lut", mode: "i8", dram: ctx.constant(lut), xSize: lut.length, xStride: 1 }),
    ctx.load({ mem: "wgt", dram: ctx.constant(ones), xSize: 1, xStride: g.blockBytes }),
    ...computed.map((b, k) => ctx.load({ mem: "inp", sram: k, dram: ctx.buffer(b.code, node).addr, xSize: 1, xStride: g.vecBytes })),
  ];
  // Lane 0 of the bound's input vector is its code; the weight block's first row copies it to every lane.
  const broadcast: Insn[] = [ctx.vec({ fn: "mul", dst: 0, src: 0, cols: nb, dstColStride: 1, srcColStride: 1, useImm: true, imm: 0 })];
  computed.forEach((_, k) => broadcast.push(
    ctx.gemm({ acc: k, inp: k, wgt: 0 }),
    ctx.vec({ fn: "lut8", dst: k, src: k, src2: k * CODES }),
  ));

  const total = x.rows * x.cols;
  const tile = Math.min(g.accVectors - nb, Math.floor(g.outBytes / g.lanes), VEC_MAX);
  // The lane operations after loading the codes: R, max with lo, min with hi (the last one to out).
  const steps: { fn: VecFn; src2: number }[] = [
    ...(identity ? [] : [{ fn: "lut8" as const, src2: nb * CODES }]),
    ...(lo ? [{ fn: "max" as const, src2: 0 }] : []),
    ...(hi ? [{ fn: "min" as const, src2: nb - 1 }] : []),
  ];
  for (let v0 = 0; v0 * g.lanes < total; v0 += tile) {
    const at = v0 * g.lanes;
    const nv = Math.min(tile, Math.ceil((total - at) / g.lanes));
    const compute: Insn[] = v0 === 0 ? [...broadcast] : [];
    steps.forEach((s, k) => {
      const last = k === steps.length - 1;
      // Every column reads the same bound vector (src2 strides 0).
      compute.push(ctx.vec({
        fn: s.fn, src: nb, srcColStride: 1, src2: s.src2, cols: nv,
        ...(last ? { dstMem: "out" as const, dtype: "i8" as const, dstColStride: g.lanes, clamp: true, lo: yq.lo, hi: hiCode } : { dst: nb, dstColStride: 1 }),
      }));
    });
    ctx.step(
      [...setup.splice(0), ctx.load({ mem: "acc", mode: "i8", sram: nb, dram: x.addr + at, xSize: nv, xStride: g.lanes })],
      compute,
      ctx.store({ dram: y.addr + at, xSize: Math.min(total - at, nv * g.lanes) }),
    );
  }
}
