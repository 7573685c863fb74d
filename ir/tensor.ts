import { allocate, isBigInt, roundBF16, roundF16, type DType, type TensorData, type TypedArray } from "./dtype.js";

/** A dense, row-major tensor: the runtime value every interpreter works on. */
export interface Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of `shape`, in elements. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function tensor(dtype: DType, shape: readonly number[], data?: TensorData): Tensor {
  const n = numel(shape);
  const d = data ?? allocate(dtype, n);
  if (d.length !== n) throw new Error(`tensor of shape [${shape.join(",")}] needs ${n} elements, got ${d.length}`);
  return { dtype, shape: [...shape], data: d };
}

export function zeros(dtype: DType, shape: readonly number[]): Tensor {
  return tensor(dtype, shape);
}

/** A float32 tensor from plain numbers. */
export function f32(shape: readonly number[], values: ArrayLike<number>): Tensor {
  return tensor("float32", shape, Float32Array.from(values));
}

/** An int64 tensor from plain numbers. */
export function i64(shape: readonly number[], values: ArrayLike<number>): Tensor {
  const d = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) d[i] = BigInt(Math.trunc(values[i]!));
  return tensor("int64", shape, d);
}

export function scalar(dtype: DType, value: number): Tensor {
  const t = tensor(dtype, []);
  setNumber(t, 0, value);
  return t;
}

/** Element `i` as a JS number (int64 beyond 2^53 loses precision, which shape data never reaches). */
export function getNumber(t: Tensor, i: number): number {
  const v = t.data[i];
  return typeof v === "bigint" ? Number(v) : (v as number);
}

export function setNumber(t: Tensor, i: number, v: number): void {
  if (isBigInt(t.dtype)) (t.data as BigInt64Array)[i] = BigInt(Math.trunc(v));
  else (t.data as Float32Array)[i] = v;
}

/** All elements as JS numbers: for shape/index/axes inputs, which are small. */
export function toNumbers(t: Tensor): number[] {
  const out = new Array<number>(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = getNumber(t, i);
  return out;
}

/**
 * All elements in a Float64Array: the uniform numeric view elementwise ops compute on.
 * Exact for every type but int64 values beyond 2^53.
 */
export function toFloat64(t: Tensor): Float64Array {
  const d = t.data;
  if (d instanceof Float64Array) return d;
  const out = new Float64Array(d.length);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) {
    for (let i = 0; i < d.length; i++) out[i] = Number(d[i]!);
  } else if (Array.isArray(d)) {
    throw new Error("string tensors have no numeric view");
  } else {
    out.set(d as Exclude<TypedArray, BigInt64Array | BigUint64Array>);
  }
  return out;
}

/**
 * Builds a tensor of `dtype` from numbers, converting as a C cast would after the op
 * already produced in-range values (float16/bfloat16 are rounded to their precision).
 */
export function fromFloat64(dtype: DType, shape: readonly number[], values: ArrayLike<number>): Tensor {
  const t = tensor(dtype, shape);
  const d = t.data;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) {
    for (let i = 0; i < values.length; i++) d[i] = BigInt(Math.trunc(values[i]!));
  } else if (dtype === "float16" || dtype === "bfloat16") {
    for (let i = 0; i < values.length; i++) (d as Float32Array)[i] = roundFor(dtype, values[i]!);
  } else {
    (d as Float32Array).set(values);
  }
  return t;
}

function roundFor(dtype: DType, v: number): number {
  return dtype === "float16" ? roundF16(v) : roundBF16(v);
}

export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  if (numel(shape) !== t.data.length) {
    throw new Error(`cannot reshape ${t.data.length} elements to [${shape.join(",")}]`);
  }
  return { dtype: t.dtype, shape: [...shape], data: t.data };
}

export function shapeStr(shape: readonly (number | string)[]): string {
  return `[${shape.join(",")}]`;
}
