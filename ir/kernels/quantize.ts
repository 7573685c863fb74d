/**
 * Linear quantization, element by element: `real = scale × (q − zero_point)`. Float → integer
 * rounds half to even, then saturates to the target type's range (ONNX QuantizeLinear-21). These
 * are the integer reference's defined arithmetic: the quantize/dequantize ops, the QLinear ops'
 * requantization and the quantizer's compile-time weight conversion all go through them.
 *
 * A scale / zero-point pair applies per tensor, per axis (one pair per index along `axis`) or per
 * block (opset 21: `block_size` consecutive indices along `axis` share a pair, independently for
 * every other index). A `ParamLayout` maps each element to the index of its pair.
 */
import { intRange, isInteger, ONNX_DTYPE, ONNX_DTYPE_UNSUPPORTED, roundBF16, roundF16, type DType } from "../dtype.js";
import { fail } from "../errors.js";
import { roundHalfEven } from "../numeric.js";
import { numel, shapeStr, tensor, toFloat64, type Tensor } from "../tensor.js";

/** Storage of the integer types quantization reads and writes (int4/uint4 are unpacked). */
export type IntArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array;

/** Integer types QuantizeLinear produces. float8, float4 and 2-bit types are not supported. */
export const QUANT_DTYPES: ReadonlySet<DType> = new Set<DType>(["int4", "uint4", "int8", "uint8", "int16", "uint16"]);

/** The element type an ONNX type-code attribute (`output_dtype`, `precision`) names; `what` names the attribute. */
export function dtypeFromCode(code: number, what: string): DType {
  const d = ONNX_DTYPE[code];
  if (d === undefined) fail("HW2020", `${what} ${ONNX_DTYPE_UNSUPPORTED[code] ?? code} is not a supported element type`);
  return d;
}


/**
 * saturate(round_half_even(v) + zeroPoint) into [lo, hi]. NaN has no integer image; it maps to
 * the zero point (real 0) so one bad value cannot turn into a range extreme.
 */
export function saturateRound(v: number, zeroPoint: number, lo: number, hi: number): number {
  const q = roundHalfEven(v) + zeroPoint;
  if (q < lo) return lo;
  if (q > hi) return hi;
  return q === q ? q : zeroPoint;
}

/** Rounds a number to the precision of a float type (float64 and integer types: unchanged). */
export function roundTo(d: DType): (v: number) => number {
  switch (d) {
    case "float32": return Math.fround;
    case "float16": return roundF16;
    case "bfloat16": return roundBF16;
    default: return (v) => v;
  }
}

/**
 * y = saturate(round_half_even(x / scale) + zeroPoint). `round` gives the division's precision
 * (the scale's type in ONNX): quotients one ulp from a tie round differently in float32 and float64.
 */
export function quantizeValue(
  x: number, scale: number, zeroPoint: number, lo: number, hi: number, round: (v: number) => number = Math.fround,
): number {
  return saturateRound(round(x / scale), zeroPoint, lo, hi);
}

/** (q − zeroPoint) · scale, computed in float32 as ONNX's reference and runtimes do. */
export function dequantizeValue(q: number, scale: number, zeroPoint: number): number {
  return Math.fround(Math.fround(q - zeroPoint) * scale);
}

/**
 * saturate(round_half_even(acc · multiplier) + zeroPoint): the float requantization of ONNX's
 * QLinear ops, with multiplier = s_in · s_w / s_out rounded as `requantMultiplier` does.
 */
export function requantizeValue(acc: number, multiplier: number, zeroPoint: number, lo: number, hi: number): number {
  return saturateRound(acc * multiplier, zeroPoint, lo, hi);
}

/**
 * s_in · s_w / s_out, each step rounded to the scales' type: ONNX's reference computes it on the
 * scale arrays, so float16 scales give a float16 multiplier (and different outputs than float32).
 */
export function requantMultiplier(sIn: number, sW: number, sOut: number, round: (v: number) => number): number {
  return round(round(sIn * sW) / sOut);
}

/**
 * Where each element's parameters are: elements are viewed as [outer, axisLen, inner] around the
 * quantization axis, and element (o, c, j) uses pair o·outerStride + ⌊c / block⌋·axisStride + j·innerStride.
 */
export interface ParamLayout {
  readonly outer: number;
  readonly axisLen: number;
  readonly inner: number;
  /** Consecutive indices along the axis that share a pair (1 unless blocked). */
  readonly block: number;
  readonly outerStride: number;
  readonly axisStride: number;
  readonly innerStride: number;
}

export function perTensorLayout(n: number): ParamLayout {
  return { outer: 1, axisLen: 1, inner: n, block: 1, outerStride: 0, axisStride: 0, innerStride: 0 };
}

/** One pair per index along `axis`. */
export function perAxisLayout(shape: readonly number[], axis: number): ParamLayout {
  const a = normAxis(axis, shape.length);
  return { ...split(shape, a), block: 1, outerStride: 0, axisStride: 1, innerStride: 0 };
}

/** One pair per `block` consecutive indices along `axis`, for every index of the other axes. */
export function blockedLayout(shape: readonly number[], axis: number, block: number): ParamLayout {
  const a = normAxis(axis, shape.length);
  const s = split(shape, a);
  const blocks = Math.ceil(s.axisLen / block);
  return { ...s, block, outerStride: blocks * s.inner, axisStride: s.inner, innerStride: 1 };
}

/**
 * The layout ONNX QuantizeLinear/DequantizeLinear give parameters of `paramShape` on a tensor of
 * `shape`: one element → per tensor; else `blockSize` 0 → per axis (1-D of the axis' length);
 * else blocked (same shape as the tensor except ceil(D/blockSize) along the axis).
 */
export function quantLayout(shape: readonly number[], paramShape: readonly number[], axis: number, blockSize: number): ParamLayout {
  if (numel(paramShape) === 1) return perTensorLayout(numel(shape));
  const a = normAxis(axis, shape.length);
  if (blockSize === 0) {
    if (paramShape.length !== 1 || paramShape[0] !== shape[a]) {
      fail("HW2020", `per-axis scale along axis ${a} of a ${shapeStr(shape)} tensor must have shape [${shape[a]}], got ${shapeStr(paramShape)}`);
    }
    return perAxisLayout(shape, a);
  }
  if (!Number.isInteger(blockSize) || blockSize < 0) fail("HW2020", `block_size must be a positive integer, got ${blockSize}`);
  const want = shape.map((d, i) => (i === a ? Math.ceil(d / blockSize) : d));
  if (!sameShape(paramShape, want)) {
    fail("HW2020", `blocked scale (block_size ${blockSize}, axis ${a}) of a ${shapeStr(shape)} tensor must have shape ${shapeStr(want)}, got ${shapeStr(paramShape)}`);
  }
  return blockedLayout(shape, a, blockSize);
}

/** Calls `run(start, length, p0, pStep)` per contiguous run of elements; the run's k-th element uses pair p0 + k·pStep. */
export function forEachRun(L: ParamLayout, run: (start: number, length: number, p0: number, pStep: number) => void): void {
  for (let o = 0; o < L.outer; o++) {
    for (let c = 0; c < L.axisLen; c++) {
      run((o * L.axisLen + c) * L.inner, L.inner, o * L.outerStride + Math.floor(c / L.block) * L.axisStride, L.innerStride);
    }
  }
}

export interface QuantizeOptions {
  readonly layout: ParamLayout;
  /** Target type: one of QUANT_DTYPES. */
  readonly dtype: DType;
  /** Float type whose precision the quotient x / scale is rounded to. */
  readonly precision: DType;
}

/** y = saturate(round_half_even(x / scale) + zero_point) over a whole tensor. */
export function quantizeTensor(x: Tensor, scale: Tensor, zeroPoint: Tensor | undefined, o: QuantizeOptions): Tensor {
  if (!QUANT_DTYPES.has(o.dtype)) fail("HW2020", `cannot quantize to ${o.dtype}: expected one of ${[...QUANT_DTYPES].join(", ")}`);
  const { s, z } = pairs(scale, zeroPoint);
  const xs = numbers(x);
  const out = tensor(o.dtype, x.shape);
  const y = out.data as IntArray;
  const [lo, hi] = intRange(o.dtype);
  const round = roundTo(o.precision);
  forEachRun(o.layout, (start, len, p, step) => {
    for (let i = start; i < start + len; i++, p += step) y[i] = quantizeValue(xs[i]!, s[p]!, z[p]!, lo, hi, round);
  });
  return out;
}

/** y = (x − zero_point) · scale over a whole tensor; `dtype` is the float output type. */
export function dequantizeTensor(x: Tensor, scale: Tensor, zeroPoint: Tensor | undefined, layout: ParamLayout, dtype: DType): Tensor {
  if (!isInteger(x.dtype)) fail("HW2020", `cannot dequantize ${x.dtype}: expected an integer type`);
  const { s, z } = pairs(scale, zeroPoint);
  const xs = numbers(x);
  const out = tensor(dtype, x.shape);
  const y = out.data as Float32Array | Float64Array;
  const round = roundTo(dtype);
  forEachRun(layout, (start, len, p, step) => {
    for (let i = start; i < start + len; i++, p += step) y[i] = round(dequantizeValue(xs[i]!, s[p]!, z[p]!));
  });
  return out;
}

/**
 * x − zero_point, exact. Float64 is the form the integer matmuls and convolutions consume: they
 * run the float GEMM paths on centered operands, which is exact for integer data (see MatMulInteger).
 */
export function centered(x: Tensor, zeroPoint: Tensor | undefined, layout: ParamLayout): Float64Array {
  const xs = numbers(x);
  const out = Float64Array.from(xs);
  if (!zeroPoint) return out;
  const z = numbers(zeroPoint);
  forEachRun(layout, (start, len, p, step) => {
    for (let i = start; i < start + len; i++, p += step) out[i] = xs[i]! - z[p]!;
  });
  return out;
}

/** Scale and zero point as flat arrays; a zero point must have the scale's shape (a missing one is 0). */
function pairs(scale: Tensor, zeroPoint: Tensor | undefined): { s: ArrayLike<number>; z: ArrayLike<number> } {
  const s = numbers(scale);
  if (!zeroPoint) return { s, z: new Int32Array(s.length) };
  if (numel(zeroPoint.shape) !== s.length || (s.length !== 1 && !sameShape(zeroPoint.shape, scale.shape))) {
    fail("HW2020", `zero point shape ${shapeStr(zeroPoint.shape)} must match scale shape ${shapeStr(scale.shape)}`);
  }
  return { s, z: numbers(zeroPoint) };
}

/** A tensor's elements as numbers without copying (64-bit integer tensors are converted). */
function numbers(t: Tensor): ArrayLike<number> {
  const d = t.data;
  return d instanceof BigInt64Array || d instanceof BigUint64Array || Array.isArray(d) ? toFloat64(t) : d;
}

function normAxis(axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) fail("HW2020", `axis ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

function split(shape: readonly number[], a: number): { outer: number; axisLen: number; inner: number } {
  return { outer: numel(shape.slice(0, a)), axisLen: shape[a]!, inner: numel(shape.slice(a + 1)) };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
