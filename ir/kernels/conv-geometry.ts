/**
 * Sliding-window arithmetic shared by Conv, ConvTranspose and the pooling ops (and by the quantized
 * convolutions and the accelerator backends): output sizes from kernel, strides, dilations and pads,
 * auto_pad, and pooling's ceil_mode. One place, so every consumer agrees on every edge case.
 *
 * A `Window` always describes a forward sliding window: output position `o` along axis `i` reads
 * input coordinates `o·strides[i] − padBegin[i] + k·dilations[i]` for `k < kernel[i]`. ConvTranspose is
 * the adjoint of such a window (its output is the window's input), so it is described by one too.
 */
import type { Attrs } from "../attrs.js";
import { HwacError } from "../errors.js";
import type { Dim, Node } from "../graph.js";
import { opError } from "../op.js";
import { numel } from "../tensor.js";

export type AutoPad = "NOTSET" | "SAME_UPPER" | "SAME_LOWER" | "VALID";

/** A window op's attributes, one entry per spatial axis; `pads` is ONNX's [begins…, ends…]. */
export interface WindowAttrs {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  readonly pads: readonly number[];
  readonly autoPad: AutoPad;
  readonly ceilMode: boolean;
}

/** ConvTranspose's extra attributes. */
export interface TransposeAttrs extends WindowAttrs {
  readonly outputPadding: readonly number[];
  /** Spatial output sizes when given explicitly; pads are then derived from them. */
  readonly outputShape: readonly number[] | undefined;
}

/** A window resolved against concrete spatial sizes: what the loops index with. */
export interface Window {
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  readonly padBegin: readonly number[];
  readonly padEnd: readonly number[];
}

interface AxisFit {
  readonly out: number;
  readonly padBegin: number;
  readonly padEnd: number;
}

interface AttrCtx {
  readonly node: Node;
  readonly attrs: Attrs;
}

const AUTO_PADS: readonly string[] = ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"];

/**
 * Reads strides, dilations, pads and auto_pad (ceil_mode is the caller's: only pooling has it) for
 * a window over `rank` spatial axes, checking their lengths and ranges.
 */
export function readWindowAttrs(ctx: AttrCtx, rank: number, kernel: readonly number[], opts: { ceilMode?: boolean } = {}): WindowAttrs {
  const a = ctx.attrs;
  // Older producers write "" for NOTSET.
  const autoPad = a.string("auto_pad", "NOTSET") || "NOTSET";
  if (!AUTO_PADS.includes(autoPad)) {
    throw opError(ctx, `auto_pad must be one of ${AUTO_PADS.join(", ")}, got '${autoPad}'`);
  }
  const ones = new Array<number>(rank).fill(1);
  const strides = a.ints("strides", ones);
  const dilations = a.ints("dilations", ones);
  const pads = a.ints("pads", new Array<number>(2 * rank).fill(0));
  checkLength(ctx, "kernel_shape", kernel, rank, 1);
  checkLength(ctx, "strides", strides, rank, 1);
  checkLength(ctx, "dilations", dilations, rank, 1);
  checkLength(ctx, "pads", pads, 2 * rank, 0);
  return {
    kernel: [...kernel],
    strides: [...strides],
    dilations: [...dilations],
    pads: [...pads],
    autoPad: autoPad as AutoPad,
    ceilMode: opts.ceilMode ?? false,
  };
}

/** The number of spatial axes of an [N, C, spatial…] input, which window ops need at least one of. */
export function spatialRank(ctx: { readonly node: Node }, xRank: number): number {
  if (xRank < 3) throw opError(ctx, `X must be [N, C, spatial…] with at least one spatial axis, got rank ${xRank}`);
  return xRank - 2;
}

/** A pooling op's window: kernel_shape (required), strides, dilations, pads, auto_pad and ceil_mode. */
export function readPoolAttrs(ctx: AttrCtx, xRank: number): WindowAttrs {
  const rank = spatialRank(ctx, xRank);
  return readWindowAttrs(ctx, rank, ctx.attrs.ints("kernel_shape"), { ceilMode: ctx.attrs.int("ceil_mode", 0) !== 0 });
}

/**
 * A convolution's kernel shape: the kernel_shape attribute, else W's spatial dims (W is
 * [out, in, k…] for Conv, [in, out, k…] for ConvTranspose). Undefined while W's dims are symbolic.
 */
export function convKernel(ctx: AttrCtx, wShape: readonly Dim[] | null, rank: number): number[] | undefined {
  if (wShape && wShape.length !== rank + 2) {
    throw opError(ctx, `W must have rank ${rank + 2} like X, got rank ${wShape.length}`);
  }
  const fromW = wShape?.slice(2);
  const attr = ctx.attrs.optInts("kernel_shape");
  if (attr) {
    if (fromW?.some((d, i) => typeof d === "number" && d !== attr[i])) {
      throw opError(ctx, `kernel_shape [${attr.join(", ")}] does not match W's spatial dims [${fromW.join(", ")}]`);
    }
    return [...attr];
  }
  return fromW?.every((d) => typeof d === "number") ? (fromW as number[]) : undefined;
}

/** ConvTranspose's attributes: the window's plus output_padding and output_shape. */
export function readTransposeAttrs(ctx: AttrCtx, rank: number, kernel: readonly number[]): TransposeAttrs {
  const base = readWindowAttrs(ctx, rank, kernel);
  const outputPadding = ctx.attrs.ints("output_padding", new Array<number>(rank).fill(0));
  checkLength(ctx, "output_padding", outputPadding, rank, 0);
  outputPadding.forEach((p, i) => {
    if (p >= Math.max(base.strides[i]!, base.dilations[i]!)) {
      throw opError(ctx, `output_padding[${i}] = ${p} must be smaller than the stride or the dilation of that axis`);
    }
  });
  let outputShape = ctx.attrs.optInts("output_shape");
  // Some exporters write the full [N, C, spatial…] shape.
  if (outputShape && outputShape.length === rank + 2) outputShape = outputShape.slice(2);
  if (outputShape) checkLength(ctx, "output_shape", outputShape, rank, 1);
  return { ...base, outputPadding: [...outputPadding], outputShape: outputShape && [...outputShape] };
}

function checkLength(ctx: AttrCtx, name: string, v: readonly number[], len: number, min: number): void {
  if (v.length !== len) throw opError(ctx, `${name} must have ${len} entries for this input's spatial axes, got ${v.length}`);
  if (v.some((x) => !Number.isInteger(x) || x < min)) {
    throw opError(ctx, `${name} entries must be integers ≥ ${min}, got [${v.join(", ")}]`);
  }
}

function span(a: WindowAttrs, i: number): number {
  return (a.kernel[i]! - 1) * a.dilations[i]! + 1;
}

/** Splits a total padding; SAME_UPPER puts the odd element at the end, the others at the beginning. */
function split(total: number, autoPad: AutoPad): [number, number] {
  const half = Math.floor(total / 2);
  return autoPad === "SAME_UPPER" ? [half, total - half] : [total - half, half];
}

/** Output size and effective pads of a forward window (Conv, pooling) along axis `i`. */
function forwardAxis(a: WindowAttrs, i: number, inSize: number): AxisFit {
  const s = a.strides[i]!;
  const extent = span(a, i);
  if (a.autoPad === "SAME_UPPER" || a.autoPad === "SAME_LOWER") {
    // ceil(in / stride) outputs whatever ceil_mode says; a negative total padding (stride larger
    // than the window) is no padding, as in ONNX's shape inference and TensorFlow.
    const out = Math.ceil(inSize / s);
    const [padBegin, padEnd] = split(Math.max(0, (out - 1) * s + extent - inSize), a.autoPad);
    return { out, padBegin, padEnd };
  }
  const rank = a.kernel.length;
  const padBegin = a.autoPad === "VALID" ? 0 : a.pads[i]!;
  const padEnd = a.autoPad === "VALID" ? 0 : a.pads[i + rank]!;
  const room = inSize + padBegin + padEnd - extent;
  if (room < 0) {
    throw new HwacError(
      "HW2020",
      `axis ${i}: a window spanning ${extent} does not fit an input of ${inSize} with pads ${padBegin}+${padEnd}`,
    );
  }
  if (!a.ceilMode) return { out: Math.floor(room / s) + 1, padBegin, padEnd };
  // ceil_mode keeps a last partial window, but never one that would start inside the end padding.
  const out = Math.min(Math.ceil(room / s) + 1, Math.ceil((inSize + padBegin) / s));
  return { out, padBegin, padEnd };
}

/** The window of a forward op over an input of spatial shape `inShape`. */
export function forwardWindow(a: WindowAttrs, inShape: readonly number[]): Window {
  const fits = inShape.map((n, i) => forwardAxis(a, i, n));
  return assemble(a, inShape, fits.map((f) => f.out), fits);
}

/** [N, channels, spatial…] of a forward op for a possibly symbolic X shape ("?" where unknown). */
export function forwardShape(a: WindowAttrs, xShape: readonly Dim[], channels: Dim): Dim[] {
  const spatial = xShape.slice(2).map((d, i) => (typeof d === "number" ? forwardAxis(a, i, d).out : "?"));
  return [xShape[0]!, channels, ...spatial];
}

/**
 * ConvTranspose along axis `i`: its output size and the pads of the forward window it is the adjoint
 * of. With output_shape (or SAME auto_pad, which asks for input·stride) the pads are derived from
 * the total padding; a negative total extends the output past the last window.
 */
function transposeAxis(a: TransposeAttrs, i: number, inSize: number): AxisFit {
  const full = a.strides[i]! * (inSize - 1) + a.outputPadding[i]! + span(a, i);
  const same = a.autoPad === "SAME_UPPER" || a.autoPad === "SAME_LOWER";
  if (a.outputShape || same) {
    const out = a.outputShape ? a.outputShape[i]! : inSize * a.strides[i]!;
    const [padBegin, padEnd] = split(full - out, a.autoPad);
    return { out, padBegin, padEnd };
  }
  const rank = a.kernel.length;
  const padBegin = a.autoPad === "VALID" ? 0 : a.pads[i]!;
  const padEnd = a.autoPad === "VALID" ? 0 : a.pads[i + rank]!;
  const out = full - padBegin - padEnd;
  if (out < 1) throw new HwacError("HW2020", `axis ${i}: pads ${padBegin}+${padEnd} leave no output`);
  return { out, padBegin, padEnd };
}

/**
 * ConvTranspose over an input of spatial shape `inShape`: returns the forward window whose input is
 * the ConvTranspose output and whose output grid is the ConvTranspose input.
 */
export function transposeWindow(a: TransposeAttrs, inShape: readonly number[]): Window {
  const fits = inShape.map((n, i) => transposeAxis(a, i, n));
  return assemble(a, fits.map((f) => f.out), inShape, fits);
}

/** [N, channels, spatial…] of ConvTranspose for a possibly symbolic X shape. */
export function transposeShape(a: TransposeAttrs, xShape: readonly Dim[], channels: Dim): Dim[] {
  const spatial = xShape.slice(2).map((d, i) => (typeof d === "number" ? transposeAxis(a, i, d).out : (a.outputShape?.[i] ?? "?")));
  return [xShape[0]!, channels, ...spatial];
}

function assemble(a: WindowAttrs, inShape: readonly number[], outShape: readonly number[], fits: readonly AxisFit[]): Window {
  return {
    inShape: [...inShape],
    outShape: [...outShape],
    kernel: a.kernel,
    strides: a.strides,
    dilations: a.dilations,
    padBegin: fits.map((f) => f.padBegin),
    padEnd: fits.map((f) => f.padEnd),
  };
}

/** [N, C, 1, …] : the output shape of the global pooling ops. */
export function globalShape<D extends Dim>(xShape: readonly D[]): (D | 1)[] {
  return xShape.map((d, i) => (i < 2 ? d : 1));
}

/** A window covering the whole input: the global pooling ops. */
export function globalWindow(inShape: readonly number[]): Window {
  const zeros = inShape.map(() => 0);
  const ones = inShape.map(() => 1);
  return {
    inShape: [...inShape],
    outShape: ones,
    kernel: [...inShape],
    strides: ones,
    dilations: ones,
    padBegin: zeros,
    padEnd: zeros,
  };
}

/** Number of output positions of a window. */
export function windowPositions(w: Window): number {
  return numel(w.outShape);
}
