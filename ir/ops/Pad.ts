import type { Attrs } from "../attrs.js";
import { allocate } from "../dtype.js";
import type { Dim } from "../graph.js";
import { quantizeReal, retype } from "../kernels/int-elementwise.js";
import { elementOf, gatherAxes, intsArg, knownInts, mappedTable, moved, normAxes, type Scalar } from "../kernels/layout.js";
import { need, needType, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { perTensor } from "../quant-params.js";
import { strides, type Tensor } from "../tensor.js";

type Mode = "constant" | "reflect" | "edge" | "wrap";

/** Source index read by output position `j` (already shifted by the begin pad), or -1 for the pad value. */
const SOURCE: Record<Mode, (j: number, d: number) => number> = {
  constant: (j, d) => (j >= 0 && j < d ? j : -1),
  edge: (j, d) => Math.min(d - 1, Math.max(0, j)),
  wrap: (j, d) => ((j % d) + d) % d,
  // Mirrors about the first and last elements without repeating them, periodically for wide pads.
  reflect: (j, d) => {
    if (d === 1) return 0;
    const p = 2 * (d - 1);
    const m = ((j % p) + p) % p;
    return m < d ? m : p - m;
  },
};

function modeOf(ctx: TypeCtx | EvalCtx): Mode {
  const mode = ctx.attrs.string("mode", "constant");
  if (!(mode in SOURCE)) throw opError(ctx, `mode '${mode}' is not one of constant, reflect, edge, wrap`);
  return mode as Mode;
}

/** Opset 1 names the pads attribute "paddings", opsets 2-10 "pads"; opset 11 makes it an input. */
function padsAttr(attrs: Attrs): string {
  return attrs.has("paddings") ? "paddings" : "pads";
}

/**
 * Begin and end pads per axis. `pads` is [begins…, ends…] over `axes` (opset 18), all axes by
 * default; negative pads crop.
 */
function padsPerAxis(
  rank: number,
  pads: readonly number[],
  axes: readonly number[] | undefined,
  ctx: TypeCtx | EvalCtx,
): [number[], number[]] {
  const ax = axes ? normAxes(axes, rank, ctx) : Array.from({ length: rank }, (_, k) => k);
  if (pads.length !== 2 * ax.length) {
    throw opError(ctx, `pads [${pads.join(",")}] must have ${2 * ax.length} entries (a begin and an end per axis)`);
  }
  const begin = new Array<number>(rank).fill(0);
  const end = new Array<number>(rank).fill(0);
  ax.forEach((a, i) => {
    begin[a] = pads[i]!;
    end[a] = pads[i + ax.length]!;
  });
  return [begin, end];
}

function outDims(dims: readonly Dim[], begin: readonly number[], end: readonly number[], ctx: TypeCtx | EvalCtx): Dim[] {
  return dims.map((d, k) => {
    if (typeof d !== "number") return begin[k] === 0 && end[k] === 0 ? d : "?";
    const n = d + begin[k]! + end[k]!;
    if (n < 0) throw opError(ctx, `pads crop axis ${k} of size ${d} below zero`);
    return n;
  });
}

/** The constant pad value: input 2 (opset 11), else attribute `value` (earlier opsets), else zero. */
function padValue(x: Tensor, inputs: readonly (Tensor | undefined)[], attrs: Attrs): Scalar {
  const v = inputs[2];
  if (v && v.data.length > 0) return v.data[0]!;
  const attr = attrs.optFloat("value");
  return attr === undefined ? (allocate(x.dtype, 1)[0] as Scalar) : elementOf(x.dtype, attr);
}

/** The constant pad value as a real number, for padding quantized codes (the quantizer leaves it float). */
function realPadValue(inputs: readonly (Tensor | undefined)[], attrs: Attrs): number {
  const v = inputs[2];
  if (v && v.data.length > 0) return Number(v.data[0]);
  return attrs.optFloat("value") ?? 0;
}

export const Pad: OpDef = {
  op: "Pad",
  quantTransparent: true,
  inferTypes(ctx) {
    const x = needType(ctx, 0);
    modeOf(ctx);
    const pads = knownInts(ctx, 1, padsAttr(ctx.attrs));
    const axes = knownInts(ctx, 3);
    if (!pads) throw opError(ctx, "expected pads");
    if (!x.shape) return [moved(x, null)];
    if (pads === "dynamic" || axes === "dynamic") return [moved(x, x.shape.map(() => "?"))];
    const [begin, end] = padsPerAxis(x.shape.length, pads, axes, ctx);
    return [moved(x, outDims(x.shape, begin, end, ctx))];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    return [pad(x, inputs, ctx, padValue(x, inputs, ctx.attrs))];
  },
  /** Constant mode pads with the pad value's code in the input type (0 gives z); the other modes copy codes. */
  runInt(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    const value = quantizeReal(realPadValue(inputs, ctx.attrs), perTensor(ctx.inTypes[0], "the input"));
    return [retype(pad(x, inputs, ctx, value), ctx.inTypes[0], ctx.outTypes[0]!)];
  },
};

/** `x` padded as the node says, constant positions holding `value`. */
function pad(x: Tensor, inputs: readonly (Tensor | undefined)[], ctx: EvalCtx, value: Scalar): Tensor {
  const mode = modeOf(ctx);
  const pads = intsArg(inputs, 1, ctx.attrs, padsAttr(ctx.attrs));
  if (!pads) throw opError(ctx, "expected pads");
  const [begin, end] = padsPerAxis(x.shape.length, pads, intsArg(inputs, 3, ctx.attrs), ctx);
  const shape = outDims(x.shape, begin, end, ctx) as number[];
  const st = strides(x.shape);
  const source = SOURCE[mode];
  const tables = shape.map((n, k) => {
    const d = x.shape[k]!;
    if (d === 0 && n > 0 && mode !== "constant") throw opError(ctx, `cannot ${mode}-pad the empty axis ${k}`);
    return mappedTable(n, st[k]!, (i) => source(i - begin[k]!, d));
  });
  return gatherAxes(x, shape, tables, value);
}
