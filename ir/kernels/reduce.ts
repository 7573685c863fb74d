/**
 * The reduction driver: folds a tensor over any set of axes. The Reduce* ops and the
 * normalizations' statistics (mean, variance, mean square) all walk their input through it.
 *
 * A reduction is planned once per call: the input's dims are folded into alternating runs of
 * reduced and kept dims, and the input is read as rows of the innermost run. Each row knows the
 * output element it starts at and whether the output advances along the row (kept run) or
 * stays (reduced run), so the hot loops are flat passes over typed arrays.
 */
import { intRange, isFloat } from "../dtype.js";
import type { Dim, Node } from "../graph.js";
import { quantizeMultiplier, requantize } from "../numeric.js";
import { attrsOf, need, opError, type IntCtx, type OpDef } from "../op.js";
import { perTensor } from "../quant-params.js";
import { fromFloat64, numel, tensor, toFloat64, toNumbers, type Tensor } from "../tensor.js";
import { normAxes } from "./layout.js";
import type { IntArray } from "./quantize.js";

/** Numeric element storage read directly by the hot loops. */
export type Values = ArrayLike<number>;

/** The elements of a numeric tensor as numbers: its own storage unless it holds BigInts. */
export function valuesOf(t: Tensor): Values {
  const d = t.data;
  return d instanceof BigInt64Array || d instanceof BigUint64Array || Array.isArray(d) ? toFloat64(t) : d;
}

export interface Reduction {
  /** Number of outputs: the product of the kept dims. */
  readonly outSize: number;
  /** Inputs folded into each output: the product of the reduced dims. */
  readonly count: number;
  /** Length of a row: the innermost run of dims. */
  readonly inner: number;
  /** How far the output index moves per element along a row: 1 for a kept run, 0 for a reduced one. */
  readonly step: 0 | 1;
  /** Output index where each row starts. */
  readonly rowOut: Int32Array;
}

/** Plans the reduction of a tensor of `shape` over `axes` (resolved: in range, no repeats). */
export function planReduction(shape: readonly number[], axes: readonly number[]): Reduction {
  const reduced = new Set(axes);
  let count = 1;
  for (const a of axes) count *= shape[a]!;
  // Size-1 dims move no index, so they join whichever run they sit in.
  const runs: { size: number; reduced: boolean; outStride: number }[] = [];
  shape.forEach((size, a) => {
    if (size === 1) return;
    const last = runs[runs.length - 1];
    if (last && last.reduced === reduced.has(a)) last.size *= size;
    else runs.push({ size, reduced: reduced.has(a), outStride: 0 });
  });
  const outSize = numel(shape.filter((_, a) => !reduced.has(a)));
  const innerRun = runs.pop() ?? { size: 1, reduced: true, outStride: 0 };
  const rows = numel(shape) === 0 ? 0 : numel(shape) / innerRun.size;
  const rowOut = new Int32Array(rows);
  // The outer runs advance the output like an odometer: kept runs by their output strides, reduced runs not at all.
  let stride = innerRun.reduced ? 1 : innerRun.size;
  for (let k = runs.length - 1; k >= 0; k--) {
    const run = runs[k]!;
    if (run.reduced) continue;
    run.outStride = stride;
    stride *= run.size;
  }
  const idx = new Int32Array(runs.length);
  let o = 0;
  for (let r = 0; r < rows; r++) {
    rowOut[r] = o;
    for (let k = runs.length - 1; k >= 0; k--) {
      const run = runs[k]!;
      o += run.outStride;
      if (++idx[k]! < run.size) break;
      idx[k] = 0;
      o -= run.outStride * run.size;
    }
  }
  return { outSize, count, inner: innerRun.size, step: innerRun.reduced ? 0 : 1, rowOut };
}

/** A `rows` × `cols` view reduced along its rows: the statistics of normalizations over trailing dims. */
export function planRows(rows: number, cols: number): Reduction {
  return planReduction([rows, cols], [1]);
}

export type ReduceKind = "sum" | "mean" | "max" | "min";

/**
 * Folds `x` as planned; one float64 per output. Max and min propagate NaN, as numpy does; an empty
 * fold gives the kind's identity (0, -inf, +inf) and the mean of nothing is NaN.
 */
export function reduceValues(x: Values, p: Reduction, kind: ReduceKind): Float64Array {
  const { rowOut, inner, step } = p;
  const init = kind === "max" ? -Infinity : kind === "min" ? Infinity : 0;
  const acc = new Float64Array(p.outSize).fill(init);
  let i = 0;
  for (let r = 0; r < rowOut.length; r++) {
    let o = rowOut[r]!;
    if (kind === "max") {
      for (let j = 0; j < inner; j++, i++, o += step) {
        const v = x[i]!;
        if (v > acc[o]! || v !== v) acc[o] = v;
      }
    } else if (kind === "min") {
      for (let j = 0; j < inner; j++, i++, o += step) {
        const v = x[i]!;
        if (v < acc[o]! || v !== v) acc[o] = v;
      }
    } else {
      for (let j = 0; j < inner; j++, i++, o += step) acc[o] += x[i]!;
    }
  }
  if (kind === "mean") for (let k = 0; k < acc.length; k++) acc[k]! /= p.count;
  return acc;
}

/**
 * Mean of `(x - center)^2` per output; `center` null means 0 (the mean square). With the mean as
 * center this is the population variance, computed in a second pass so large means do not cancel.
 */
export function meanSquareDeviation(x: Values, p: Reduction, center: Float64Array | null): Float64Array {
  const { rowOut, inner, step } = p;
  const acc = new Float64Array(p.outSize);
  let i = 0;
  for (let r = 0; r < rowOut.length; r++) {
    let o = rowOut[r]!;
    for (let j = 0; j < inner; j++, i++, o += step) {
      const d = x[i]! - (center ? center[o]! : 0);
      acc[o] += d * d;
    }
  }
  for (let k = 0; k < acc.length; k++) acc[k]! /= p.count;
  return acc;
}

/** Mean and population variance per output. */
export function moments(x: Values, p: Reduction): { mean: Float64Array; variance: Float64Array } {
  const mean = reduceValues(x, p, "mean");
  return { mean, variance: meanSquareDeviation(x, p, mean) };
}

/** `1 / sqrt(v + epsilon)` for each v, in place. */
export function invStdDev(variance: Float64Array, epsilon: number): Float64Array {
  for (let k = 0; k < variance.length; k++) variance[k] = 1 / Math.sqrt(variance[k]! + epsilon);
  return variance;
}

/** The shape left after reducing `axes`: reduced dims become 1 (keepdims) or disappear. */
export function reducedShape<D extends Dim>(shape: readonly D[], axes: readonly number[], keepdims: boolean): (D | 1)[] {
  const out: (D | 1)[] = [];
  shape.forEach((d, a) => {
    if (!axes.includes(a)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

// ---- The Reduce* op family ----

/** What a Reduce* node reduces: the given axes, every axis, or none (identity). */
type AxesSpec = readonly number[] | "all" | "none";

/**
 * Axes come from the `axes` attribute (ReduceSum before opset 13, the others before 18) or from
 * the optional second input after; an empty or absent axes input means all axes, or none when
 * noop_with_empty_axes is set.
 */
function axesSpec(node: Node, input: Tensor | undefined): AxesSpec {
  const attrs = attrsOf(node);
  const attr = attrs.optInts("axes");
  if (attr) return attr.length ? attr : "all";
  const axes = input ? toNumbers(input) : [];
  if (axes.length) return axes;
  return attrs.int("noop_with_empty_axes", 0) ? "none" : "all";
}

function resolve(spec: readonly number[] | "all", rank: number, ctx: { node: Node }): number[] {
  return spec === "all" ? [...Array(rank).keys()] : normAxes(spec, rank, ctx);
}

/**
 * Integer semantics of Reduce<kind> (docs/numerics-norm.md): an int32 fold of the codes, then
 * one requantization. Sum and mean fold q − z_in, requantized by s_in/s_out and
 * s_in/(count·s_out). Max and min fold the codes themselves (exact: requantization is monotonic)
 * and requantize q − z_in by s_in/s_out, which is the identity when input and output share a type.
 */
function reduceInt(kind: ReduceKind, inputs: readonly (Tensor | undefined)[], ctx: IntCtx): Tensor {
  const x = need(inputs, 0, ctx);
  const a = perTensor(ctx.inTypes[0], "the input");
  const b = perTensor(ctx.outTypes[0], "the output");
  const spec = axesSpec(ctx.node, inputs[1]);
  const axes = spec === "none" ? [] : resolve(spec, x.shape.length, ctx);
  const p = planReduction(x.shape, axes);
  const folded = reduceValues(valuesOf(x), p, kind === "mean" ? "sum" : kind);
  if (p.count === 0 && (kind === "max" || kind === "min")) folded.fill(kind === "max" ? a.lo : a.hi);
  const additive = kind === "sum" || kind === "mean";
  const real = kind === "mean" ? (p.count === 0 ? 0 : a.scale / (p.count * b.scale)) : a.scale / b.scale;
  const { m0, shift } = quantizeMultiplier(real);
  const shape = spec === "none" ? x.shape : reducedShape(x.shape, axes, ctx.attrs.int("keepdims", 1) !== 0);
  const out = tensor(b.dtype, shape);
  const y = out.data as IntArray;
  const zFold = additive ? p.count * a.zp : a.zp;
  // Sums of codes are exact in float64; `| 0` is the int32 accumulator's wrap-around.
  for (let o = 0; o < y.length; o++) y[o] = requantize((folded[o]! - zFold) | 0, m0, shift, b.zp, b.lo, b.hi);
  return out;
}

/** Defines Reduce<kind>: keepdims (default 1), axes as attribute or input, ONNX's empty-set values. */
export function reduceOp(op: string, kind: ReduceKind): OpDef {
  return {
    op,
    // Max and min of codes are the codes of the max and min: the quantizer gives the output the input's type.
    quantTransparent: kind === "max" || kind === "min",
    runInt: (inputs, ctx) => [reduceInt(kind, inputs, ctx)],
    inferTypes(ctx) {
      const x = ctx.inputs[0];
      if (!x) throw opError(ctx, "input 0 (data) is required");
      const keepdims = ctx.attrs.int("keepdims", 1) !== 0;
      const axesInput = ctx.inputs[1];
      if (axesInput && !ctx.consts[1] && !ctx.attrs.has("axes")) {
        // Axes known only at run time: the rank is known when dims are kept or the axes count is static.
        if (!x.shape) return [{ dtype: x.dtype, shape: null }];
        const n = keepdims ? 0 : axesInput.shape?.length === 1 ? axesInput.shape[0] : undefined;
        return [{ dtype: x.dtype, shape: typeof n === "number" ? new Array<Dim>(x.shape.length - n).fill("?") : null }];
      }
      const spec = axesSpec(ctx.node, ctx.consts[1]);
      if (spec === "none" || !x.shape) return [{ dtype: x.dtype, shape: spec === "none" ? x.shape : null }];
      return [{ dtype: x.dtype, shape: reducedShape(x.shape, resolve(spec, x.shape.length, ctx), keepdims) }];
    },
    run(inputs, ctx) {
      const x = need(inputs, 0, ctx);
      const spec = axesSpec(ctx.node, inputs[1]);
      if (spec === "none") return [x];
      const axes = resolve(spec, x.shape.length, ctx);
      const p = planReduction(x.shape, axes);
      const acc = reduceValues(valuesOf(x), p, kind);
      if (p.count === 0 && !isFloat(x.dtype)) {
        // Integer types have no infinities or NaN: an empty max is the type's minimum, and so on.
        const [lo, hi] = intRange(x.dtype);
        acc.fill(kind === "max" ? lo : kind === "min" ? hi : 0);
      }
      return [fromFloat64(x.dtype, reducedShape(x.shape, axes, ctx.attrs.int("keepdims", 1) !== 0), acc)];
    },
  };
}
