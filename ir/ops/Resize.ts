import type { Dim } from "../graph.js";
import { quantizeReal, retype } from "../kernels/int-elementwise.js";
import { resampleInt } from "../kernels/int-resize.js";
import { elementOf, gatherAxes, identityTables, mappedTable, moved, normAxes, type Scalar } from "../kernels/layout.js";
import {
  interpolationTaps,
  isIdentity,
  nearestIndices,
  resampleAxis,
  type AxisResize,
  type CoordMode,
  type NearestMode,
  type ResizeMode,
  type Sampling,
} from "../kernels/resize.js";
import { need, needType, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { perTensor } from "../quant-params.js";
import { fromFloat64, strides, toFloat64, toNumbers, type Tensor } from "../tensor.js";

type Ctx = TypeCtx | EvalCtx;

const MODES: readonly ResizeMode[] = ["nearest", "linear", "cubic"];
const COORD_MODES: readonly CoordMode[] = [
  "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric",
  "tf_half_pixel_for_nn", "tf_crop_and_resize",
];
const NEAREST_MODES: readonly NearestMode[] = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"];

function oneOf<T extends string>(ctx: Ctx, name: string, dflt: T, allowed: readonly T[]): T {
  const v = ctx.attrs.string(name, dflt);
  if (!allowed.includes(v as T)) throw opError(ctx, `${name} '${v}' is not one of ${allowed.join(", ")}`);
  return v as T;
}

/** The sampling attributes; opset 10 had none of them and sampled asymmetrically. */
function sampling(ctx: Ctx): Sampling {
  const mode = oneOf(ctx, "mode", "nearest", MODES);
  const old = ctx.opset < 11;
  return {
    mode,
    coord: old ? "asymmetric" : oneOf(ctx, "coordinate_transformation_mode", "half_pixel", COORD_MODES),
    nearest: old ? "simple" : oneOf(ctx, "nearest_mode", "round_prefer_floor", NEAREST_MODES),
    cubicA: ctx.attrs.float("cubic_coeff_a", -0.75),
    excludeOutside: ctx.attrs.int("exclude_outside", 0) !== 0,
    antialias: mode !== "nearest" && ctx.attrs.int("antialias", 0) !== 0,
    extrapolation: ctx.attrs.float("extrapolation_value", 0),
  };
}

/** roi, scales and sizes; an empty tensor stands for an omitted one. */
interface Operands {
  roi?: readonly number[];
  scales?: readonly number[];
  sizes?: readonly number[];
}

/** Opset 10 takes (X, scales); later opsets (X, roi, scales, sizes). */
function positions(opset: number): { roi?: number; scales: number; sizes?: number } {
  return opset < 11 ? { scales: 1 } : { roi: 1, scales: 2, sizes: 3 };
}

interface Plan {
  shape: Dim[];
  /** Per axis of the input: how it is resampled (scale 1, roi [0,1] for untouched axes). */
  scale: number[];
  roi: [number, number][];
}

/** Output dims and per-axis scales; sizes win over scales, and keep_aspect_ratio_policy may shrink them. */
function plan(dims: readonly Dim[], o: Operands, ctx: Ctx): Plan {
  const rank = dims.length;
  const attrAxes = ctx.attrs.optInts("axes");
  const axes = attrAxes ? normAxes(attrAxes, rank, ctx) : Array.from({ length: rank }, (_, k) => k);
  const p: Plan = { shape: [...dims], scale: new Array<number>(rank).fill(1), roi: dims.map(() => [0, 1]) };
  const expectLength = (what: string, v: readonly number[], n: number): void => {
    if (v.length !== n) throw opError(ctx, `${what} has ${v.length} entries, expected ${n}`);
  };
  if (o.roi) {
    expectLength("roi", o.roi, 2 * axes.length);
    axes.forEach((a, i) => (p.roi[a] = [o.roi![i]!, o.roi![i + axes.length]!]));
  }
  if (o.sizes) {
    const sizes = o.sizes;
    expectLength("sizes", sizes, axes.length);
    const policy = ctx.attrs.string("keep_aspect_ratio_policy", "stretch");
    if (policy === "stretch") {
      axes.forEach((a, i) => {
        const d = dims[a]!;
        p.shape[a] = sizes[i]!;
        // A symbolic dim leaves the scale unknown; only type inference sees one.
        p.scale[a] = typeof d === "number" ? sizes[i]! / d : NaN;
      });
      return p;
    }
    if (policy !== "not_larger" && policy !== "not_smaller") {
      throw opError(ctx, `keep_aspect_ratio_policy '${policy}' is not one of stretch, not_larger, not_smaller`);
    }
    // One scale for all axes: the largest that fits inside (or smallest that covers) the sizes.
    const ratios = axes.map((a, i) => sizes[i]! / (dims[a] as number));
    const s = policy === "not_larger" ? Math.min(...ratios) : Math.max(...ratios);
    for (const a of axes) {
      const d = dims[a]!;
      p.scale[a] = s;
      p.shape[a] = typeof d === "number" ? Math.floor(s * d + 0.5) : "?";
    }
    return p;
  }
  if (!o.scales) throw opError(ctx, "expected scales or sizes");
  const scales = o.scales;
  expectLength("scales", scales, axes.length);
  axes.forEach((a, i) => {
    const d = dims[a]!;
    const s = scales[i]!;
    if (!(s > 0)) throw opError(ctx, `scale ${s} of axis ${a} must be positive`);
    p.scale[a] = s;
    p.shape[a] = typeof d === "number" ? Math.floor(d * s) : s === 1 ? d : "?";
  });
  return p;
}

function operandValues(t: Tensor | undefined): readonly number[] | undefined {
  return t && t.data.length > 0 ? toNumbers(t) : undefined;
}

export const Resize: OpDef = {
  op: "Resize",
  // Interpolation stays within the input's range, so the quantizer gives the output the input's type.
  quantTransparent: true,
  inferTypes(ctx) {
    const x = needType(ctx, 0);
    sampling(ctx);
    if (!x.shape) return [moved(x, null)];
    const pos = positions(ctx.opset);
    const known = (i: number | undefined): readonly number[] | "dynamic" | undefined => {
      if (i === undefined || !ctx.inputs[i] || ctx.inputs[i]!.shape?.[0] === 0) return undefined;
      return ctx.consts[i] ? operandValues(ctx.consts[i]) : "dynamic";
    };
    const scales = known(pos.scales);
    const sizes = known(pos.sizes);
    if (scales === "dynamic" || sizes === "dynamic") {
      const attrAxes = ctx.attrs.optInts("axes");
      const axes = attrAxes ? normAxes(attrAxes, x.shape.length, ctx) : undefined;
      return [moved(x, x.shape.map((d, k) => (axes && !axes.includes(k) ? d : "?")))];
    }
    return [moved(x, plan(x.shape, { scales, sizes }, ctx).shape)];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    const { s, shape, axes } = geometry(x, inputs, ctx);
    if (s.mode === "nearest") return [nearest(x, shape, axes, s, elementOf(x.dtype, s.extrapolation))];
    if (x.dtype === "string" || x.dtype === "bool") throw opError(ctx, `${s.mode} resizing needs numbers, got ${x.dtype}`);
    let values = toFloat64(x);
    const cur = [...x.shape];
    for (let k = axes.length - 1; k >= 0; k--) {
      const a = axes[k]!;
      if (isIdentity(a, s)) continue;
      values = resampleAxis(values, cur, k, interpolationTaps(a, s), s.extrapolation);
      cur[k] = a.outLen;
    }
    return [fromFloat64(x.dtype, shape, values)];
  },
  /** Nearest copies codes; linear and cubic interpolate with integer weights (docs/numerics-elementwise.md). */
  runInt(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    const { s, shape, axes } = geometry(x, inputs, ctx);
    const inT = ctx.inTypes[0];
    const outT = ctx.outTypes[0]!;
    if (s.mode !== "nearest") return [resampleInt(x, inT, outT, axes, s)];
    const fill = quantizeReal(s.extrapolation, perTensor(inT, "the input"));
    return [retype(nearest(x, shape, axes, s, fill), inT, outT)];
  },
};

/** The sampling, the output shape and each input axis's resize, from the node and its operands. */
function geometry(x: Tensor, inputs: readonly (Tensor | undefined)[], ctx: EvalCtx): { s: Sampling; shape: number[]; axes: AxisResize[] } {
  const s = sampling(ctx);
  const pos = positions(ctx.opset);
  const o: Operands = {
    // Only tf_crop_and_resize reads roi; exporters pass placeholders otherwise.
    roi: pos.roi === undefined || s.coord !== "tf_crop_and_resize" ? undefined : operandValues(inputs[pos.roi]),
    scales: operandValues(inputs[pos.scales]),
    sizes: pos.sizes === undefined ? undefined : operandValues(inputs[pos.sizes]),
  };
  const p = plan(x.shape, o, ctx);
  const shape = p.shape as number[];
  const axes: AxisResize[] = x.shape.map((inLen, k) => ({
    inLen,
    outLen: shape[k]!,
    scale: p.scale[k]!,
    roiStart: p.roi[k]![0],
    roiEnd: p.roi[k]![1],
  }));
  return { s, shape, axes };
}

/** Nearest sampling: an index gather, so any element type (and quantized codes) copy unchanged. */
function nearest(x: Tensor, shape: readonly number[], axes: readonly AxisResize[], s: Sampling, fill: Scalar): Tensor {
  const st = strides(x.shape);
  const tables = identityTables(x.shape);
  axes.forEach((a, k) => {
    if (isIdentity(a, s)) return;
    const src = nearestIndices(a, s);
    tables[k] = mappedTable(a.outLen, st[k]!, (i) => src[i]!);
  });
  return gatherAxes(x, shape, tables, fill);
}
