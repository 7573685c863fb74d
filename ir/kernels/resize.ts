/**
 * Resize sampling (ONNX Resize, opsets 10-19). Each resized axis maps output positions to source
 * coordinates, and an output element is a weighted sum of source neighbours (nearest, linear or
 * cubic, optionally antialiased). The weights are separable, so the float path resamples one axis
 * at a time, innermost first as ONNX's reference does; nearest is an index gather instead, which
 * copies any element type unchanged.
 */

export type ResizeMode = "nearest" | "linear" | "cubic";

export type CoordMode =
  | "half_pixel"
  | "half_pixel_symmetric"
  | "pytorch_half_pixel"
  | "align_corners"
  | "asymmetric"
  | "tf_half_pixel_for_nn"
  | "tf_crop_and_resize";

/** "simple" is opset 10's rule: floor when upsampling, ceil when downsampling. */
export type NearestMode = "round_prefer_floor" | "round_prefer_ceil" | "floor" | "ceil" | "simple";

export interface Sampling {
  readonly mode: ResizeMode;
  readonly coord: CoordMode;
  readonly nearest: NearestMode;
  readonly cubicA: number;
  readonly excludeOutside: boolean;
  readonly antialias: boolean;
  readonly extrapolation: number;
}

/** One axis to resample. */
export interface AxisResize {
  readonly inLen: number;
  readonly outLen: number;
  readonly scale: number;
  /** Crop window as fractions of the input (tf_crop_and_resize). */
  readonly roiStart: number;
  readonly roiEnd: number;
}

/** The neighbours and weights of every output position along one axis. */
export interface Taps {
  /** Neighbours per output position. */
  readonly n: number;
  /** Source index of each neighbour, clamped into the axis (edge padding). */
  readonly index: Int32Array;
  readonly weight: Float64Array;
  /** 1 where the position falls outside the crop window and takes the extrapolation value. */
  readonly outside: Uint8Array;
}

/** True when resampling the axis leaves it unchanged, so it can be skipped. */
export function isIdentity(a: AxisResize, s: Sampling): boolean {
  return a.inLen === a.outLen && a.scale === 1 && s.coord !== "tf_crop_and_resize";
}

/** Source coordinate of output position `x`, in input pixels; may lie outside the axis. */
function sourceCoord(x: number, a: AxisResize, coord: CoordMode): number {
  // ONNX's reference divides by the unrounded output length scale * inLen.
  const outF = a.scale * a.inLen;
  switch (coord) {
    case "half_pixel":
      return (x + 0.5) / a.scale - 0.5;
    case "half_pixel_symmetric":
      // Keeps the input's centre on the output's centre when outLen was rounded down.
      return (a.inLen / 2) * (1 - a.outLen / outF) + (x + 0.5) / a.scale - 0.5;
    case "pytorch_half_pixel":
      return outF === 1 ? -0.5 : (x + 0.5) / a.scale - 0.5;
    case "align_corners":
      return outF === 1 ? 0 : (x * (a.inLen - 1)) / (outF - 1);
    case "asymmetric":
      return x / a.scale;
    case "tf_half_pixel_for_nn":
      return (x + 0.5) / a.scale;
    case "tf_crop_and_resize": {
      const span = (a.roiEnd - a.roiStart) * (a.inLen - 1);
      return (outF === 1 ? span / 2 : (x * span) / (outF - 1)) + a.roiStart * (a.inLen - 1);
    }
  }
}

/**
 * The neighbour left of `xo` and the distance to it, in (0, 1]: an integral coordinate counts as
 * a full step right of its left neighbour, which is how ONNX's reference breaks the tie.
 */
function leftOf(xo: number): [number, number] {
  const base = Number.isInteger(xo) ? xo - 1 : Math.floor(xo);
  return [base, xo - base];
}

function isOutside(xo: number, a: AxisResize, s: Sampling): boolean {
  return s.coord === "tf_crop_and_resize" && (xo < 0 || xo > a.inLen - 1);
}

/** Source index of each output position for nearest sampling; -1 outside the crop window. */
export function nearestIndices(a: AxisResize, s: Sampling): Int32Array {
  const out = new Int32Array(a.outLen);
  for (let x = 0; x < a.outLen; x++) {
    const xo = sourceCoord(x, a, s.coord);
    if (isOutside(xo, a, s)) {
      out[x] = -1;
      continue;
    }
    const [base, ratio] = leftOf(xo);
    let right: boolean;
    if (ratio === 1) right = true;
    else if (s.nearest === "round_prefer_floor") right = ratio > 0.5;
    else if (s.nearest === "round_prefer_ceil") right = ratio >= 0.5;
    else if (s.nearest === "simple") right = a.scale < 1;
    else right = s.nearest === "ceil";
    out[x] = Math.min(a.inLen - 1, Math.max(0, base + (right ? 1 : 0)));
  }
  return out;
}

function linearKernel(d: number): number {
  return Math.max(0, 1 - Math.abs(d));
}

/** Keys' cubic convolution kernel with coefficient `A`. */
function cubicKernel(A: number): (d: number) => number {
  return (d) => {
    const x = Math.abs(d);
    if (x <= 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
    if (x < 2) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    return 0;
  };
}

/** Neighbours and weights for linear or cubic sampling along one axis. */
export function interpolationTaps(a: AxisResize, s: Sampling): Taps {
  const support = s.mode === "cubic" ? 2 : 1;
  const kernel = s.mode === "cubic" ? cubicKernel(s.cubicA) : linearKernel;
  // Antialiasing widens the kernel by 1/scale when downsampling, so more inputs contribute.
  const ks = s.antialias ? Math.min(a.scale, 1) : 1;
  const first = Math.floor(-support / ks) + 1;
  const n = 2 - 2 * first;
  const normalize = s.antialias || s.excludeOutside;
  const index = new Int32Array(a.outLen * n);
  const weight = new Float64Array(a.outLen * n);
  const outside = new Uint8Array(a.outLen);
  for (let x = 0; x < a.outLen; x++) {
    const xo = sourceCoord(x, a, s.coord);
    if (isOutside(xo, a, s)) {
      outside[x] = 1;
      continue;
    }
    const [base, ratio] = leftOf(xo);
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const idx = base + first + j;
      const w = s.excludeOutside && (idx < 0 || idx >= a.inLen) ? 0 : kernel((first + j - ratio) * ks);
      index[x * n + j] = Math.min(a.inLen - 1, Math.max(0, idx));
      weight[x * n + j] = w;
      sum += w;
    }
    if (normalize) for (let j = 0; j < n; j++) weight[x * n + j]! /= sum;
  }
  return { n, index, weight, outside };
}

/** Resamples `axis` of a row-major `shape` tensor with `taps` (outLen = taps.outside.length). */
export function resampleAxis(
  src: Float64Array,
  shape: readonly number[],
  axis: number,
  taps: Taps,
  extrapolation: number,
): Float64Array {
  let outer = 1;
  let inner = 1;
  for (let k = 0; k < axis; k++) outer *= shape[k]!;
  for (let k = axis + 1; k < shape.length; k++) inner *= shape[k]!;
  const inLen = shape[axis]!;
  const outLen = taps.outside.length;
  const { n, index, weight, outside } = taps;
  const out = new Float64Array(outer * outLen * inner);
  for (let o = 0; o < outer; o++) {
    for (let x = 0; x < outLen; x++) {
      const dst = (o * outLen + x) * inner;
      if (outside[x]) {
        out.fill(extrapolation, dst, dst + inner);
        continue;
      }
      for (let j = 0; j < n; j++) {
        const w = weight[x * n + j]!;
        if (w === 0) continue;
        const from = (o * inLen + index[x * n + j]!) * inner;
        for (let i = 0; i < inner; i++) out[dst + i]! += w * src[from + i]!;
      }
    }
  }
  return out;
}
