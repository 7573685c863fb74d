import type { Dim } from "../graph.js";
import { gatherAxes, identityTables, intsArg, knownInts, moved, normAxes, rangeTable } from "../kernels/layout.js";
import { need, needType, opError, type EvalCtx, type OpDef, type TypeCtx } from "../op.js";
import { strides } from "../tensor.js";

interface Args {
  starts: readonly number[];
  ends: readonly number[];
  axes: readonly number[] | undefined;
  steps: readonly number[] | undefined;
}

interface AxisSlice {
  axis: number;
  start: number;
  step: number;
  len: Dim;
}

/** Producers write INT32_MAX or INT64_MAX for "to the end". */
const TO_END = 2 ** 31 - 1;

/**
 * Clamps start/end into the dim as ONNX specifies (negative values count from the end; a negative
 * step walks down from at most dim-1 to at least -1); returns the first index and the count.
 */
function clampRange(start: number, end: number, step: number, dim: number): [number, number] {
  const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clamp(s, 0, dim);
    e = clamp(e, 0, dim);
    return [s, Math.max(0, Math.ceil((e - s) / step))];
  }
  s = clamp(s, 0, dim - 1);
  e = clamp(e, -1, dim - 1);
  return [s, Math.max(0, Math.ceil((s - e) / -step))];
}

function plan(dims: readonly Dim[], a: Args, ctx: TypeCtx | EvalCtx): AxisSlice[] {
  const n = a.starts.length;
  const axes = normAxes(a.axes ?? Array.from({ length: n }, (_, k) => k), dims.length, ctx);
  const steps = a.steps ?? new Array<number>(n).fill(1);
  if (a.ends.length !== n || axes.length !== n || steps.length !== n) {
    throw opError(ctx, "starts, ends, axes and steps must have the same length");
  }
  return axes.map((axis, k) => {
    const [start, end, step] = [a.starts[k]!, a.ends[k]!, steps[k]!];
    if (step === 0) throw opError(ctx, `step of axis ${axis} is 0`);
    const dim = dims[axis]!;
    if (typeof dim !== "number") return { axis, start, step, len: start === 0 && step === 1 && end >= TO_END ? dim : "?" };
    const [first, len] = clampRange(start, end, step, dim);
    return { axis, start: first, step, len };
  });
}

export const Slice: OpDef = {
  op: "Slice",
  quantTransparent: true,
  inferTypes(ctx) {
    const x = needType(ctx, 0);
    // Opsets before 10 give starts, ends and axes as attributes, and have no steps.
    const starts = knownInts(ctx, 1, "starts");
    const ends = knownInts(ctx, 2, "ends");
    const axes = knownInts(ctx, 3, "axes");
    const steps = knownInts(ctx, 4);
    if (!starts || !ends) throw opError(ctx, "expected starts and ends");
    if (!x.shape) return [moved(x, null)];
    if (starts === "dynamic" || ends === "dynamic" || axes === "dynamic" || steps === "dynamic") {
      // Which axes are sliced is unknown too when axes are.
      const known = Array.isArray(axes) ? normAxes(axes, x.shape.length, ctx) : undefined;
      return [moved(x, x.shape.map((d, k) => (known && !known.includes(k) ? d : "?")))];
    }
    const shape = [...x.shape];
    for (const s of plan(shape, { starts, ends, axes, steps }, ctx)) shape[s.axis] = s.len;
    return [moved(x, shape)];
  },
  run(inputs, ctx) {
    const x = need(inputs, 0, ctx);
    const starts = intsArg(inputs, 1, ctx.attrs, "starts");
    const ends = intsArg(inputs, 2, ctx.attrs, "ends");
    if (!starts || !ends) throw opError(ctx, "expected starts and ends");
    const args: Args = { starts, ends, axes: intsArg(inputs, 3, ctx.attrs, "axes"), steps: intsArg(inputs, 4, ctx.attrs) };
    const st = strides(x.shape);
    const shape = [...x.shape];
    const tables = identityTables(x.shape);
    for (const s of plan(x.shape, args, ctx)) {
      shape[s.axis] = s.len as number;
      tables[s.axis] = rangeTable(s.len as number, s.start, s.step, st[s.axis]!);
    }
    return [gatherAxes(x, shape, tables)];
  },
};
