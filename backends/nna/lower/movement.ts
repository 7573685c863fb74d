/**
 * Data movement on codes — Gather with constant indices, Slice, Pad and Concat: every output
 * element is a copy of one input element (rescaled when the input's quantization differs from
 * the output's) or a pad code.
 *
 * Which element: the op's own float semantics (`OpDef.run`) evaluated at compile time on tensors
 * of element numbers — input k's elements numbered on from the earlier inputs' counts, a constant
 * Pad's value replaced by −1 — so the plan is the reference's by construction, as lut.ts's tables
 * are. The pad code is the op's `runInt` output at a padded position.
 *
 * How: the output's bytes, in its layout's order, fall into *runs* (consecutive output elements
 * read from one input at one constant byte stride, or pad elements), and runs of one length and
 * stride at constant distances form 2-D *blocks*: one LOAD brings a block's rows into acc (rows at
 * the source's distance, vectors along the run), one VEC writes them to `out`, one STORE writes
 * the rows at the output's distance. A contiguous run moves a vector of bytes per lane group. A
 * strided run (Slice steps, a Gather along the innermost axis, a dense input written into an nhwc
 * output) loads one vector per element, the element in its first lane(s), and the VEC writes those
 * vectors one element apart: each write covers the last one's other lanes, so `out` ends up
 * holding the elements side by side. Pad elements are a padded LOAD's vector of the pad code
 * (no DRAM read), copied out. An input of another quantization is rescaled as the reference's
 * `retype` does, lanes being elements then: `vec.sub` of its zero point and `vec.requant` with
 * its multiplier pair.
 *
 * Layouts: each input is read where it lies (dense, or an nhwc feature map: its axes' byte
 * strides say where an element is; an nhwc buffer holding a flattened view is copied to dense
 * first). The output is nhwc when the first input is an nhwc map of the output's rank (the map
 * stays a map for the convolutions after it), else dense. An output whose every byte is at one
 * fixed distance from its input's (a Gather of one time step of a dense sequence, a Slice of
 * whole images) aliases those bytes and costs nothing.
 */
import { VEC_MAX } from "../isa.js";
import { bitWidth, isInteger } from "../../../ir/dtype.js";
import type { Node, TensorType } from "../../../ir/graph.js";
import { rescaleParams, type Rescale } from "../../../ir/kernels/int-elementwise.js";
import { attrsOf, type EvalCtx } from "../../../ir/op.js";
import { findOp } from "../../../ir/ops/index.js";
import { numel, strides, tensor, type Tensor } from "../../../ir/tensor.js";
import type { Insn, LoadMode, VecDType } from "../isa.js";
import { nhwcPitch } from "../program.js";
import { featureMap, nhwcLanes, nhwcSteps, type Buffer, type LowerCtx } from "./context.js";
import { packParams } from "./pack.js";
import { denseCopy, unsupported } from "./Reshape.js";

/** LOAD's and STORE's sizes and STORE's source stride are 16 bits wide. */
const DMA_MAX = 65535;
/** Zero bytes after a constant input: vectors read past a run's last element. */
const SLACK = 64;

/** Element sizes the DMA and the vector unit move, with the matching acc load mode and out type. */
const WIDTHS: Readonly<Record<number, { mode: LoadMode; dtype: VecDType }>> = { 1: { mode: "i8", dtype: "i8" }, 2: { mode: "i16", dtype: "i16" }, 4: { mode: "i32", dtype: "i32" } };
const SIGNED: ReadonlySet<string> = new Set(["int8", "int16", "int32"]);

/** One data input: where its elements lie and how they become output codes. */
interface Source {
  /** The number of its first element in the element map. */
  readonly first: number;
  readonly shape: readonly number[];
  readonly addr: number;
  /** Byte distance between neighbours along each axis, in its buffer's layout. */
  readonly steps: readonly number[];
  readonly bytes: number;
  /** Requantization to the output type; undefined when the codes carry over unchanged. */
  readonly rescale: Rescale | undefined;
}

/** Consecutive output elements from source `k` (−1: pad) `stride` bytes apart in it. */
interface Run {
  /** Which run of its output row (innermost axis in layout order) it starts as: runs of one column of rows form blocks. */
  col: number;
  k: number;
  n: number;
  dst: number;
  src: number;
  stride: number;
}

/** `rows` runs of one source, length and stride, `dstStep` and `srcStep` bytes apart. */
interface Block extends Run {
  rows: number;
  dstStep: number;
  srcStep: number;
}

export interface MovementOptions {
  /** The input holding a constant Pad's value (it becomes −1 in the element map). */
  readonly padValue?: number;
}

/** Lowers `node`, whose inputs at positions `data` are moved and whose other inputs are constants. */
export function lowerMovement(node: Node, ctx: LowerCtx, data: readonly number[], opts: MovementOptions = {}): void {
  const yName = node.outputs[0]!;
  const yT = ctx.type(yName);
  const shape = ctx.shape(yName, node);
  const bytes = elementBytes(node, yName, yT);
  let begun = false;
  const begin = () => begun || (ctx.beginLayer(node), (begun = true));
  let first = 0;
  const sources = data.map((i): Source => {
    const s = source(node, ctx, node.inputs[i]!, yT, first, begin);
    first += numel(s.shape);
    return s;
  });
  const map = elementMap(node, ctx, data, sources, opts);

  const x0 = ctx.buffers.get(node.inputs[data[0]!]!);
  const x0Shape = sources[0]!.shape;
  const nhwc = bytes === 1 && nhwcLanes(ctx.geo) !== undefined && !!x0 && shape.length === x0Shape.length && featureMap(x0, x0Shape) !== undefined;
  const out = nhwc ? nhwcFrame(shape) : denseFrame(shape, bytes);

  const runs: Run[] = [];
  const rowLength = shape.length === 0 ? 1 : shape[out.order.at(-1)!]!;
  let [k, t, rowStart] = [0, 0, 0];
  walk(shape, out.order, out.steps, (f, d) => {
    if (t++ % rowLength === 0) rowStart = runs.length;
    const g = map[f]!;
    if (g < 0) return extendRuns(runs, rowStart, -1, d, 0, bytes, bytes);
    while (g < sources[k]!.first) k--;
    while (k + 1 < sources.length && g >= sources[k + 1]!.first) k++;
    extendRuns(runs, rowStart, k, d, address(sources[k]!, g), sources[k]!.bytes, bytes);
  });

  const shift = translation(runs, sources);
  if (shift !== undefined) return ctx.alias(yName, { ...out.buffer, addr: shift });
  const y: Buffer = nhwc ? ctx.featureBuffer(yName, out.buffer.rows, shape[1]!) : ctx.activation(yName, out.buffer.rows, out.buffer.cols);
  if (runs.length === 0) return;
  begin();
  const fill = runs.some((r) => r.k < 0) ? padCode(node, ctx, data, sources, map) : 0;
  emit(ctx, node, blocks(runs), sources, y.addr, bytes, fill);
}

/** The distance from every output byte to its source byte, when the output is its single input's bytes moved as they are (no pads); else undefined. */
function translation(runs: readonly Run[], sources: readonly Source[]): number | undefined {
  const s = sources[0]!;
  if (sources.length !== 1 || s.rescale || runs.length === 0) return undefined;
  const shift = runs[0]!.src - runs[0]!.dst;
  return runs.every((r) => r.k === 0 && r.stride === s.bytes && r.src - r.dst === shift) ? shift : undefined;
}

function elementBytes(node: Node, name: string, t: TensorType): number {
  const bytes = bitWidth(t.dtype) / 8;
  if (!t.quant || !isInteger(t.dtype) || !WIDTHS[bytes]) throw unsupported(node, `'${name}' must be quantized codes of 8, 16 or 32 bits, got ${t.dtype}`);
  return bytes;
}

/** Data input `name` as a source: its buffer (an nhwc view that is not a feature map copied to dense first) or its constant codes. */
function source(node: Node, ctx: LowerCtx, name: string, yT: TensorType, first: number, begin: () => void): Source {
  const t = ctx.type(name);
  const bytes = elementBytes(node, name, t);
  const p = rescaleParams(t, yT, `input '${name}'`);
  const same = t.dtype === yT.dtype && p.m.m0 === 2 ** 30 && p.m.shift === 1 && p.zIn === p.zOut;
  if (!same && (!SIGNED.has(t.dtype) || !SIGNED.has(yT.dtype))) throw unsupported(node, `rescaling '${name}' (${t.dtype}) to ${yT.dtype} needs signed codes`);
  const rescale = same ? undefined : p;
  const c = ctx.graph.initializers.get(name);
  if (c) {
    const raw = new Uint8Array(c.data.length * bytes + SLACK);
    raw.set(new Uint8Array((c.data as Int8Array).buffer, (c.data as Int8Array).byteOffset, c.data.length * bytes));
    return { first, shape: c.shape, addr: ctx.constant(raw), steps: strides(c.shape).map((s) => s * bytes), bytes, rescale };
  }
  const shape = ctx.shape(name, node);
  let b = ctx.buffer(name, node);
  if (b.layout === "nhwc" && !featureMap(b, shape)) {
    begin();
    b = denseCopy(ctx, node, name);
  }
  const steps = b.layout === "nhwc" ? nhwcSteps(shape, b.cols) : strides(shape).map((s) => s * bytes);
  return { first, shape, addr: b.addr, steps, bytes, rescale };
}

/** The output's layout: axes from outer to inner in byte order, their byte strides, and its buffer's rows and cols. */
interface Frame {
  readonly order: readonly number[];
  readonly steps: readonly number[];
  readonly buffer: Omit<Buffer, "addr">;
}

function denseFrame(shape: readonly number[], bytes: number): Frame {
  const last = shape.at(-1) ?? 1;
  return {
    order: shape.map((_, a) => a),
    steps: strides(shape).map((s) => s * bytes),
    buffer: { rows: last === 0 ? 0 : numel(shape) / last, cols: last * bytes, layout: "dense" },
  };
}

function nhwcFrame(shape: readonly number[]): Frame {
  const [c, pitch] = [shape[1]!, nhwcPitch(shape[1]!)];
  return {
    order: [0, ...shape.slice(2).map((_, a) => a + 2), 1],
    steps: nhwcSteps(shape, pitch),
    buffer: { rows: c === 0 ? 0 : numel(shape) / c, cols: pitch, layout: "nhwc", channels: c },
  };
}

/** The EvalCtx of `node` at compile time: the data-movement ops read their form from inputs and attributes, not the opset. */
function evalCtx(node: Node): EvalCtx {
  return {
    node,
    attrs: attrsOf(node),
    opset: 0,
    runSubgraph: () => {
      throw unsupported(node, "subgraphs are not lowered");
    },
  };
}

/** The element number each output element (row-major) copies, −1 for a pad element. */
function elementMap(node: Node, ctx: LowerCtx, data: readonly number[], sources: readonly Source[], opts: MovementOptions): Int32Array {
  const inputs = node.inputs.map((n, i): Tensor | undefined => {
    const k = data.indexOf(i);
    if (k >= 0) {
      const s = sources[k]!;
      return tensor("int32", s.shape, Int32Array.from({ length: numel(s.shape) }, (_, j) => s.first + j));
    }
    if (n === "") return undefined;
    const c = ctx.graph.initializers.get(n);
    if (!c) throw unsupported(node, `input ${i} ('${n}') must be a constant`);
    return c;
  });
  if (opts.padValue !== undefined) inputs[opts.padValue] = tensor("int32", [], Int32Array.of(-1));
  const [y] = findOp(node.domain, node.op)!.run(inputs, evalCtx(node));
  return y!.data as Int32Array;
}

/** The code the reference writes at pad positions: its `runInt` on codes of zeros, read where the map has −1. */
function padCode(node: Node, ctx: LowerCtx, data: readonly number[], sources: readonly Source[], map: Int32Array): number {
  const def = findOp(node.domain, node.op)!;
  if (!def.runInt) throw unsupported(node, "pad elements need the op's integer semantics");
  const inputs = node.inputs.map((n, i) => {
    const k = data.indexOf(i);
    return k >= 0 ? tensor(ctx.type(n).dtype, sources[k]!.shape) : n === "" ? undefined : ctx.graph.initializers.get(n)!;
  });
  const [y] = def.runInt(inputs, {
    ...evalCtx(node),
    inTypes: node.inputs.map((n) => (n === "" ? undefined : ctx.graph.valueTypes.get(n))),
    outTypes: node.outputs.map((n) => ctx.type(n)),
  });
  return Number(y!.data[map.indexOf(-1)]);
}

/** Byte address of element number `g` of source `s`. */
function address(s: Source, g: number): number {
  let local = g - s.first;
  let a = s.addr;
  for (let ax = s.shape.length - 1; ax >= 0; ax--) {
    const d = s.shape[ax]!;
    a += (local % d) * s.steps[ax]!;
    local = Math.floor(local / d);
  }
  return a;
}

/** Calls `visit(f, d)` for every element of `shape` in the order of axes `order` (outer first): f its row-major number, d its byte offset by `steps`. */
function walk(shape: readonly number[], order: readonly number[], steps: readonly number[], visit: (f: number, d: number) => void): void {
  const dense = strides(shape);
  const idx = new Int32Array(order.length);
  let f = 0;
  let d = 0;
  for (let i = numel(shape); i > 0; i--) {
    visit(f, d);
    for (let j = order.length - 1; j >= 0; j--) {
      const a = order[j]!;
      f += dense[a]!;
      d += steps[a]!;
      if (++idx[j]! < shape[a]!) break;
      f -= dense[a]! * shape[a]!;
      d -= steps[a]! * shape[a]!;
      idx[j] = 0;
    }
  }
}

/** Appends output element (source k, dst, src) to the last run when it continues it, else starts a run; `rowStart` is the first run of the element's row. */
function extendRuns(runs: Run[], rowStart: number, k: number, dst: number, src: number, srcBytes: number, dstBytes: number): void {
  const r = runs[runs.length - 1];
  if (r && r.k === k && dst === r.dst + r.n * dstBytes) {
    if (k < 0 || (r.n > 1 && src === r.src + r.n * r.stride)) return void r.n++;
    // A second element fixes the stride: contiguous, or any distance DMA strides can walk forward.
    if (r.n === 1 && src >= r.src) {
      r.stride = src - r.src;
      return void r.n++;
    }
  }
  runs.push({ col: runs.length - rowStart, k, n: 1, dst, src, stride: srcBytes });
}

/**
 * Groups runs into blocks: equal source, length and stride, at constant forward distances. Runs
 * of several kinds alternate along a row (one pixel's channels from two inputs, a row's pads and
 * interior, reflected elements one by one), so each column of the rows keeps its own open block.
 */
function blocks(runs: readonly Run[]): Block[] {
  const out: Block[] = [];
  const open = new Map<string, { b: Block; last: Run }>();
  for (const r of runs) {
    const key = `${r.col} ${r.k} ${r.n} ${r.stride}`;
    const o = open.get(key);
    if (o) {
      const [dStep, sStep] = [r.dst - o.last.dst, r.k < 0 ? 0 : r.src - o.last.src];
      const second = o.b.rows === 1 && sStep >= 0;
      if (second || (dStep === o.b.dstStep && sStep === o.b.srcStep)) {
        if (second) [o.b.dstStep, o.b.srcStep] = [dStep, sStep];
        o.b.rows++;
        o.last = r;
        continue;
      }
    }
    const b = { ...r, rows: 1, dstStep: 0, srcStep: 0 };
    out.push(b);
    open.set(key, { b, last: r });
  }
  return out;
}

/**
 * The blocks' instructions, one step per piece that fits the scratchpads. acc holds each rescaled
 * source's parameters (3 vectors: packParams' bias, then the multiplier pair) from the first step
 * on, then the pad vector, then the data.
 */
function emit(ctx: LowerCtx, node: Node, all: readonly Block[], sources: readonly Source[], yAddr: number, bytes: number, fill: number): void {
  const g = ctx.geo;
  const lanes = g.lanes;
  const rescaled = sources.filter((s) => s.rescale);
  const params = rescaled.length > 0 ? ctx.constant(concat(rescaled.map((s) => packParams(g, 1, undefined, { m0: Int32Array.of(s.rescale!.m.m0), shift: Int8Array.of(s.rescale!.m.shift) })))) : undefined;
  const padVec = 3 * rescaled.length;
  const base = padVec + 1;
  const capacity = g.accVectors - base;
  const setup: Insn[] = params === undefined ? [] : [ctx.load({ mem: "acc", mode: "i32", dram: params, xSize: 3 * rescaled.length, xStride: 4 * lanes })];
  const outType = WIDTHS[bytes]!.dtype;

  for (const b of all) {
    const s = b.k < 0 ? undefined : sources[b.k]!;
    const move = !!s && !s.rescale;
    const strided = !!s && b.stride !== s.bytes;
    // A vector holds `perVec` units: bytes when codes move as they are, elements when rescaled or
    // padded (lanes are elements then), one element when strided. Units lie `srcUnit` bytes apart
    // in the source and take `dstUnit` bytes in the output.
    const perVec = strided ? 1 : lanes;
    const [count, srcUnit, dstUnit] = move && !strided ? [b.n * bytes, 1, 1] : [b.n, strided ? b.stride : s?.bytes ?? 0, bytes];
    const laneBytes = move ? 1 : bytes;
    const dstCol = perVec * dstUnit;
    // Each vector writes all its lanes; a strided row's vectors overlap, and its last one reaches past the row.
    const tail = lanes * laneBytes - dstCol;
    const room = Math.floor((Math.min(g.outBytes, DMA_MAX) - tail) / dstCol);
    const vecs = Math.min(Math.ceil(count / perVec), capacity, VEC_MAX, room);
    const rowsMax = Math.min(Math.floor(capacity / vecs), Math.floor(room / vecs), VEC_MAX);
    if (!(vecs >= 1 && rowsMax >= 1)) throw unsupported(node, "the scratchpads are too small to move one vector");
    for (let r0 = 0; r0 < b.rows; r0 += rowsMax) {
      const rows = Math.min(rowsMax, b.rows - r0);
      for (let u0 = 0; u0 < count; u0 += vecs * perVec) {
        const units = Math.min(vecs * perVec, count - u0);
        const cols = Math.ceil(units / perVec);
        const loads = setup.splice(0);
        const compute: Insn[] = [];
        const toOut = { rows, cols, dstMem: "out" as const, dtype: move ? ("i8" as const) : outType, dst: 0, dstRowStride: cols * dstCol, dstColStride: dstCol };
        if (!s) {
          loads.push(ctx.load({ mem: "acc", sram: padVec, xSize: 0, padLeft: 1, padValue: fill }));
          compute.push(ctx.vec({ fn: "add", useImm: true, src: padVec, ...toOut }));
        } else {
          const data = { src: base, srcRowStride: cols, srcColStride: 1 };
          loads.push(ctx.load({
            mem: "acc", mode: move ? "i8" : WIDTHS[s.bytes]!.mode, sram: base, dram: b.src + r0 * b.srcStep + u0 * srcUnit,
            ySize: rows, xSize: cols, yStride: b.srcStep, xStride: perVec * srcUnit,
          }));
          if (s.rescale) {
            const p = s.rescale;
            compute.push(
              ctx.vec({ fn: "sub", useImm: true, imm: p.zIn, ...data, rows, cols, dst: base, dstRowStride: cols, dstColStride: 1 }),
              ctx.vec({ fn: "requant", src2: 3 * rescaled.indexOf(s) + 1, imm: p.zOut, clamp: true, lo: p.lo, hi: p.hi, ...data, ...toOut }),
            );
          } else compute.push(ctx.vec({ fn: "add", useImm: true, ...data, ...toOut }));
        }
        ctx.step(loads, compute, ctx.store({ dram: yAddr + b.dst + r0 * b.dstStep + u0 * dstUnit, ySize: rows, xSize: units * dstUnit, yStride: b.dstStep, srcStride: cols * dstCol }));
      }
    }
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
