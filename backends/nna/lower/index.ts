/**
 * Lowering of a quantized model (docs/quantization.md) to an NNA program (docs/nna-isa.md).
 *
 * The graph boundary runs on the host: each graph input's QuantizeLinear and each graph output's
 * DequantizeLinear stay outside the program, whose I/O tensors are the int8 codes between them.
 * A program tensor takes the float value's name (`x`, `logits`) and the codes' scale and zero
 * point, so it stands for exactly that value. Every other node, in graph order, goes to the
 * lowering registered under its op name in `LOWERINGS`; an op without one is HW5040.
 */
import { HwacError } from "../../../ir/errors.js";
import type { Model, Node } from "../../../ir/graph.js";
import { perTensor } from "../../../ir/quant-params.js";
import { configHash, DEFAULT_CONFIG, type NnaConfig } from "../config.js";
import type { IoDType, IoTensor, Program } from "../program.js";
import { LowerCtx } from "./context.js";
import { lowerGemm } from "./Gemm.js";
import { lowerRelu } from "./Relu.js";

export { LowerCtx, type Buffer } from "./context.js";

/** Emits a node's instructions, reading its inputs from and writing its outputs to `ctx.buffers`. */
export type Lowering = (node: Node, ctx: LowerCtx) => void;

/** Each op's lowering, under the op's name. */
export const LOWERINGS: Readonly<Record<string, Lowering>> = {
  Gemm: lowerGemm,
  Relu: lowerRelu,
};

export interface LowerOptions {
  /** The machine to build for (default: SPEC.md §3's). */
  config?: NnaConfig;
  /** Values of the symbolic dimensions (`{ batch: 16 }`): a program has static shapes. */
  dims?: Readonly<Record<string, number>>;
}

/** The code types the lowerings read and write so far. */
const CODE_DTYPES: ReadonlySet<string> = new Set<IoDType>(["int8"]);

function ioTensor(ctx: LowerCtx, node: Node, codes: string, name: string, kind: IoTensor["kind"]): IoTensor {
  const t = ctx.type(codes);
  if (!CODE_DTYPES.has(t.dtype)) {
    throw new HwacError("HW5045", `the program's ${kind} '${name}' must be int8 codes, got ${t.dtype}`, { node: node.name, op: node.op });
  }
  const q = perTensor(t, `the program's ${kind} '${name}'`);
  const shape = ctx.shape(codes, node);
  const [rows, cols] = [shape.slice(0, -1).reduce((a, b) => a * b, 1), shape.at(-1) ?? 1];
  const addr = kind === "input" ? ctx.activation(codes, rows, cols).addr : ctx.buffer(codes, node).addr;
  return { name, kind, dtype: t.dtype as IoDType, shape, addr, scale: q.scale, zeroPoint: q.zp };
}

/** Whether `node` is host work at the graph boundary: a graph input's quantization or a graph output's dequantization. */
function boundary(model: Model, node: Node): "input" | "output" | undefined {
  const g = model.graph;
  if (node.op === "QuantizeLinear" && g.inputs.some((i) => i.name === node.inputs[0])) return "input";
  if (node.op === "DequantizeLinear" && g.outputs.some((o) => o.name === node.outputs[0])) return "output";
  return undefined;
}

export function lowerModel(q: Model, opts: LowerOptions = {}): Program {
  const config = opts.config ?? DEFAULT_CONFIG;
  const ctx = new LowerCtx(q.graph, config, opts.dims ?? {});
  const inputs: IoTensor[] = [];
  const outputs: IoTensor[] = [];
  for (const node of q.graph.nodes) {
    const side = boundary(q, node);
    if (side === "input") inputs.push(ioTensor(ctx, node, node.outputs[0]!, node.inputs[0]!, "input"));
    else if (side === "output") outputs.push(ioTensor(ctx, node, node.inputs[0]!, node.outputs[0]!, "output"));
    else {
      const lower = LOWERINGS[node.op];
      if (!lower) throw new HwacError("HW5040", `the NNA has no lowering for ${node.op} yet`, { node: node.name, op: node.op });
      lower(node, ctx);
    }
  }
  ctx.finish();
  return {
    configHash: configHash(config),
    dramBytes: ctx.dramBytes,
    tensors: [...inputs, ...outputs],
    layers: ctx.layers,
    segments: ctx.segments,
    insns: ctx.insns,
  };
}
