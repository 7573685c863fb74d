/**
 * Builders for elementwise ops: an op file gives the function on one element and its type
 * constraint, and gets the type rule, broadcasting, dtype dispatch and fast loops from here.
 *
 * Numerics: elements are computed in float64 and stored into the output's typed array, so
 * - float32 results round to float32 on store, float16/bfloat16 results are rounded afterwards;
 * - integer results wrap like C on store (an Int8Array keeps the low 8 bits, truncating toward 0),
 *   which is ONNX's integer arithmetic as long as the float64 value is exact (an op whose integer
 *   semantics differ, like Div's truncation or a 32-bit product, gives an `int` variant);
 * - int64/uint64 elements are BigInts computed by the op's `big` variant, and wrap on store too;
 * - booleans returned by comparisons store as 1/0.
 */
import { isBigInt, isInteger, roundBF16, roundF16, type DType, type TensorData } from "../dtype.js";
import type { Dim, Node } from "../graph.js";
import { need, needType, opError, type EvalCtx, type OpDef } from "../op.js";
import { shapeStr, tensor, toFloat64, type Tensor } from "../tensor.js";
import { broadcastDims, broadcastPlan, broadcastShapes, broadcastsTo } from "./broadcast.js";

export const FLOAT_TYPES: readonly DType[] = ["float32", "float64", "float16", "bfloat16"];
export const SIGNED_TYPES: readonly DType[] = ["int8", "int16", "int32", "int64"];
export const UNSIGNED_TYPES: readonly DType[] = ["uint8", "uint16", "uint32", "uint64"];
export const NUMERIC_TYPES: readonly DType[] = [...FLOAT_TYPES, ...SIGNED_TYPES, ...UNSIGNED_TYPES];

type Inputs = readonly (Tensor | undefined)[];
type Ctx = { node: Node };

/** Parameters of one evaluation (attributes, constant inputs), passed to every element call. */
export type ParamsOf<P> = (ctx: EvalCtx, inputs: Inputs) => P;

export interface UnarySpec<P = undefined> {
  /** Element types the op accepts (its ONNX type constraint, within hwac's types). */
  readonly types: readonly DType[];
  /** The op on a float or ≤32-bit integer element. */
  readonly f: (x: number, p: P) => number;
  /** The op on an int64/uint64 element; required when `types` holds those. */
  readonly big?: (x: bigint, p: P) => bigint;
  readonly params?: ParamsOf<P>;
}

export interface BinarySpec<P = undefined> {
  readonly types: readonly DType[];
  /** Element types of the second input when they may differ from the first's (Pow's exponent). */
  readonly rhsTypes?: readonly DType[];
  readonly f: (a: number, b: number, p: P) => number | boolean;
  /** Integer semantics where they differ from `f` computed in float64 (Div truncates). */
  readonly int?: (a: number, b: number, p: P) => number;
  readonly big?: (a: bigint, b: bigint, p: P) => bigint | boolean;
  readonly str?: (a: string, b: string, p: P) => boolean;
  /** Comparisons produce bool; otherwise the output has the first input's type. */
  readonly bool?: boolean;
  /** The second input broadcasts to the first's shape, which the output keeps (PRelu). */
  readonly unidirectional?: boolean;
  readonly params?: ParamsOf<P>;
}

/** The loops every evaluation runs; `f` is the op's element function, `p` its parameters. */
interface Loops {
  map(f: unknown, p: unknown, x: TensorData, o: TensorData): void;
  /** The rows of a broadcast plan (offsets ia/ib, steps sa/sb) over operands a and b. */
  rows(
    f: unknown, p: unknown,
    a: TensorData, ia: Int32Array, sa: number,
    b: TensorData, ib: Int32Array, sb: number,
    o: TensorData, inner: number,
  ): void;
}

const LOOPS_SOURCE = `"use strict";
return {
  map(f, p, x, o) {
    for (let i = 0; i < o.length; i++) o[i] = f(x[i], p);
  },
  rows(f, p, a, ia, sa, b, ib, sb, o, inner) {
    for (let r = 0, k = 0; r < ia.length; r++) {
      const ao = ia[r], bo = ib[r];
      for (let j = 0; j < inner; j++, k++) o[k] = f(a[ao + j * sa], b[bo + j * sb], p);
    }
  },
};`;

/**
 * Each op runs its own copy of the loops, compiled from one source: V8 then sees a single element
 * function at each call site and inlines it, where loops shared by all ops would call every op's
 * function out of line (several times slower on float32 data). Float32 storage gets a copy of its own so
 * its element accesses stay monomorphic. The sourceURL names the op in profiles and stack traces.
 */
class OpLoops {
  private f32?: Loops;
  private other?: Loops;
  constructor(private readonly name: string) {}

  for(arrays: readonly TensorData[]): Loops {
    if (arrays.every((a) => a instanceof Float32Array)) return (this.f32 ??= compileLoops(`${this.name}.f32`));
    return (this.other ??= compileLoops(this.name));
  }
}

function compileLoops(name: string): Loops {
  return new Function(`${LOOPS_SOURCE}\n//# sourceURL=hwac/elementwise/${name}`)() as Loops;
}

/** Checks an element type against an op's type constraint. */
export function expectType(ctx: Ctx, dtype: DType, types: readonly DType[], what = "input"): void {
  if (!types.includes(dtype)) throw opError(ctx, `${what} must be one of ${types.join(", ")}; got ${dtype}`);
}

/** The type rule's broadcast of input shapes; throws when static sizes conflict. */
export function broadcastTypeShape(ctx: Ctx, shapes: readonly (readonly Dim[] | null)[]): Dim[] | null {
  const s = broadcastDims(shapes);
  if (s === undefined) throw opError(ctx, `cannot broadcast shapes ${shapes.map((d) => shapeStr(d ?? [])).join(", ")}`);
  return s;
}

/** The broadcast of runtime shapes; throws when they conflict. */
export function broadcastRunShape(ctx: Ctx, shapes: readonly (readonly number[])[]): number[] {
  const s = broadcastShapes(shapes);
  if (s === undefined) throw opError(ctx, `cannot broadcast shapes ${shapes.map(shapeStr).join(", ")}`, "HW3020");
  return s;
}

/** Input `i`'s type, which the op requires. */

/** An op applying `spec.f` to every element; the output has the input's type and shape. */
export function unaryOp<P = undefined>(op: string, spec: UnarySpec<P>): OpDef {
  checkSpec(op, spec.types, spec.big);
  const loops = new OpLoops(op);
  return {
    op,
    inferTypes(ctx) {
      const x = needType(ctx, 0);
      expectType(ctx, x.dtype, spec.types);
      return [{ dtype: x.dtype, shape: x.shape }];
    },
    run(inputs, ctx) {
      const x = need(inputs, 0, ctx);
      expectType(ctx, x.dtype, spec.types);
      const p = spec.params?.(ctx, inputs) as P;
      const out = tensor(x.dtype, x.shape);
      const f = isBigInt(x.dtype) ? spec.big : spec.f;
      loops.for([x.data]).map(f, p, x.data, out.data);
      return [roundResult(out)];
    },
  };
}

/** An op combining two broadcast inputs element by element. */
export function binaryOp<P = undefined>(op: string, spec: BinarySpec<P>): OpDef {
  checkSpec(op, spec.types, spec.big);
  const loops = new OpLoops(op);
  const outType = (d: DType): DType => (spec.bool ? "bool" : d);
  return {
    op,
    inferTypes(ctx) {
      const a = needType(ctx, 0);
      const b = needType(ctx, 1);
      checkBinaryTypes(ctx, spec, a.dtype, b.dtype);
      const s = broadcastTypeShape(ctx, [a.shape, b.shape]);
      if (!spec.unidirectional) return [{ dtype: outType(a.dtype), shape: s }];
      if (s !== null && a.shape !== null && enlarges(s, a.shape)) {
        throw opError(ctx, `input 1 of shape ${shapeStr(b.shape ?? [])} does not broadcast to ${shapeStr(a.shape)}`);
      }
      return [{ dtype: outType(a.dtype), shape: a.shape }];
    },
    run(inputs, ctx) {
      const a = need(inputs, 0, ctx);
      const b = need(inputs, 1, ctx);
      checkBinaryTypes(ctx, spec, a.dtype, b.dtype);
      if (spec.unidirectional && !broadcastsTo(b.shape, a.shape)) {
        const msg = `input 1 of shape ${shapeStr(b.shape)} does not broadcast to ${shapeStr(a.shape)}`;
        throw opError(ctx, msg, "HW3020");
      }
      const p = spec.params?.(ctx, inputs) as P;
      return [evalBinary(loops, spec, p, a, b, outType(a.dtype), broadcastRunShape(ctx, [a.shape, b.shape]))];
    },
  };
}

/**
 * An op folding any number (≥ 1) of broadcast inputs with a binary function, left to right, each
 * step rounded to the element type (Max, Min, Sum).
 */
export function variadicOp(op: string, spec: BinarySpec): OpDef {
  checkSpec(op, spec.types, spec.big);
  const loops = new OpLoops(op);
  return {
    op,
    inferTypes(ctx) {
      if (ctx.inputs.length === 0) throw opError(ctx, "expects at least one input");
      const types = ctx.inputs.map((_, i) => needType(ctx, i));
      for (const t of types) {
        expectType(ctx, t.dtype, spec.types);
        if (t.dtype !== types[0]!.dtype) {
          throw opError(ctx, `inputs must share one type; got ${types.map((x) => x.dtype).join(", ")}`);
        }
      }
      return [{ dtype: types[0]!.dtype, shape: broadcastTypeShape(ctx, types.map((t) => t.shape)) }];
    },
    run(inputs, ctx) {
      if (inputs.length === 0) throw opError(ctx, "expects at least one input", "HW3001");
      let acc = need(inputs, 0, ctx);
      expectType(ctx, acc.dtype, spec.types);
      for (let i = 1; i < inputs.length; i++) {
        const t = need(inputs, i, ctx);
        checkBinaryTypes(ctx, spec, acc.dtype, t.dtype);
        acc = evalBinary(loops, spec, undefined, acc, t, acc.dtype, broadcastRunShape(ctx, [acc.shape, t.shape]));
      }
      return [acc];
    },
  };
}

/** True when broadcasting made `shape` bigger: more axes, or a static size that changed. */
function enlarges(result: readonly Dim[], shape: readonly Dim[]): boolean {
  if (result.length > shape.length) return true;
  return result.some((d, k) => typeof d === "number" && typeof shape[k] === "number" && d !== shape[k]);
}

function checkSpec(op: string, types: readonly DType[], big: unknown): void {
  // A programming error in an op file, caught when the registry loads.
  if (types.some(isBigInt) && !big) throw new Error(`${op}: int64/uint64 need a bigint element function`);
}

function checkBinaryTypes(ctx: Ctx, spec: Pick<BinarySpec, "types" | "rhsTypes">, a: DType, b: DType): void {
  expectType(ctx, a, spec.types, "input 0");
  if (spec.rhsTypes) expectType(ctx, b, spec.rhsTypes, "input 1");
  else if (a !== b) throw opError(ctx, `inputs must share one type; got ${a} and ${b}`);
}

function evalBinary<P>(
  loops: OpLoops, spec: BinarySpec<P>, p: P, a: Tensor, b: Tensor, dtype: DType, shape: number[],
): Tensor {
  const out = tensor(dtype, shape);
  const x = a.data;
  let y = b.data;
  let f: unknown;
  if (a.dtype === "string") {
    f = spec.str;
  } else if (isBigInt(a.dtype)) {
    f = spec.big;
    if (!isBigInt(b.dtype)) y = toBigInts(b);
  } else {
    f = isInteger(a.dtype) && spec.int ? spec.int : spec.f;
    if (isBigInt(b.dtype)) y = toFloat64(b);
  }
  const { offsets, steps, inner } = broadcastPlan([a.shape, b.shape], shape);
  loops.for([x, y]).rows(f, p, x, offsets[0]!, steps[0]!, y, offsets[1]!, steps[1]!, out.data, inner);
  return roundResult(out);
}

/** Elements as BigInts (a float exponent of an int64 base truncates). */
function toBigInts(t: Tensor): BigInt64Array {
  return BigInt64Array.from(toFloat64(t), bigIntOf);
}

/** A number as an integer BigInt, truncated toward zero; NaN and ±∞ (undefined in C) give 0. */
export function bigIntOf(x: number): bigint {
  return Number.isFinite(x) ? BigInt(Math.trunc(x)) : 0n;
}

/** float16/bfloat16 results were stored at float32 precision; rounds them to their own. */
function roundResult(t: Tensor): Tensor {
  if (t.dtype !== "float16" && t.dtype !== "bfloat16") return t;
  const d = t.data as Float32Array;
  const round = t.dtype === "float16" ? roundF16 : roundBF16;
  for (let i = 0; i < d.length; i++) d[i] = round(d[i]!);
  return t;
}
