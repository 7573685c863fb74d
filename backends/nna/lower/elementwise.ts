/**
 * The vector-unit lowering shared by the elementwise ops (docs/nna-isa.md "How the op families
 * map"). An op is a `Recipe`: lane operations over its operands, which this engine streams
 * through acc in tiles of whole vectors. The output is int8 codes in the layout of the op's
 * full-size activation operand (`ctx.activationLike`): the bytes are processed as they lie, so
 * the padding lanes of an nhwc buffer are computed too, and nothing reads them.
 *
 * Operands, relative to the output (its layout's byte order: dense row-major, or nhwc pixels
 * with channels innermost):
 * - full: an activation of the output's shape and layout, or a constant of any shape broadcast
 *   to it, laid out at compile time over the whole output;
 * - rows: an operand that repeats along the output's rows of L bytes, L a multiple of the vector
 *   width: a per-channel vector in nhwc, a vector of the trailing axes in dense layout, per image
 *   when an activation has the batch axis (the SE gate [N, C, 1, 1] of an [N, C, H, W] value).
 *   One row sits in acc and the lane operations read it with row stride 0.
 * Anything else is refused (HW5042): an activation repeated along the innermost axis (its codes
 * would need replicating across lanes), one whose rows are not whole vectors, or an output larger
 * than every activation operand. Ops whose output depends on one activation's code alone (the
 * other operands single-element constants) are tables instead (lut.ts).
 *
 * Constant operands are prepared at compile time (`Recipe.constant`: a rescaled term, a code
 * minus its zero point, per-element multipliers) and loaded as int32 lanes.
 */
import { VEC_MAX } from "../isa.js";
import { HwacError } from "../../../ir/errors.js";
import type { Node } from "../../../ir/graph.js";
import { broadcastStrides } from "../../../ir/kernels/broadcast.js";
import type { QType } from "../../../ir/kernels/int-elementwise.js";
import type { FixedMultiplier } from "../../../ir/numeric.js";
import { perTensor } from "../../../ir/quant-params.js";
import { numel, strides, type Tensor } from "../../../ir/tensor.js";
import type { Insn, VecFn } from "../isa.js";
import { featureMap, nhwcSteps, TRIAL_UNITS, type Buffer, type LowerCtx, type Step } from "./context.js";
import { fusedRelu } from "./Relu.js";

/** STORE's xSize field is 16 bits wide. */
const STORE_MAX = 65535;

/** A lane operation's operand: operand k's values, or the result region (the full activation's). */
export type Ref = number | "work";

/** One VEC instruction per tile, over the tile's rows and vectors. */
export interface LaneOp {
  readonly fn: VecFn;
  readonly src: Ref;
  /**
   * The second operand: an operand's values, a multiplier pair of `Recipe.pairs` (requant), or
   * the recipe's table (lut8); absent, the immediate.
   */
  readonly src2?: Ref | { readonly pair: number } | "table";
  /** The immediate (requant: the output zero point); 0 by default. */
  readonly imm?: number;
  readonly clamp?: readonly [number, number];
  /** "out": int8 codes of the output. */
  readonly dst: Ref | "out";
}

export interface Recipe {
  /** Per-tensor multipliers the lane operations name by index. */
  readonly pairs?: readonly FixedMultiplier[];
  /** 256 output codes by input code + 128, for `lut8`. */
  readonly table?: ArrayLike<number>;
  /** In-place lane operations turning activation operand k's codes into its values. */
  prepare(k: number): readonly LaneOp[];
  /** Constant operand k's values per element: one plane, or two (a requant's m0 and shift). */
  constant(k: number, c: Tensor): readonly Int32Array[];
  /** From the prepared operands to the output codes; the last one writes "out". */
  readonly combine: readonly LaneOp[];
}

export function unsupported(node: Node, message: string): HwacError {
  return new HwacError("HW5042", `${node.op} on the NNA: ${message}`, { node: node.name, op: node.op });
}

/** The per-tensor int8 type of value `name`, which the vector unit reads or writes as codes. */
export function codes(ctx: LowerCtx, node: Node, name: string): QType {
  const t = ctx.type(name);
  if (t.dtype !== "int8" || t.quant?.scale.length !== 1) {
    throw unsupported(node, `'${name}' must be int8 codes of one scale and zero point, got ${t.dtype}${t.quant ? ` with ${t.quant.scale.length} scales` : ""}`);
  }
  return perTensor(t, `'${name}'`);
}

/** How an operand lines up with the output's bytes: everywhere, or `groups` × `groupRows` repeats of a `period`-byte row. */
type Pattern = { readonly full: true } | { readonly full: false; readonly groups: number; readonly groupRows: number; readonly period: number };

/**
 * Byte strides of a value's axes in buffer `b` (nhwc: pixel-major, channels innermost, padded to
 * b.cols); undefined for an nhwc buffer that holds a flattened view of its feature map.
 */
function layoutStrides(shape: readonly number[], b: Buffer): number[] | undefined {
  if (b.layout === "dense") return strides(shape);
  return featureMap(b, shape) ? nhwcSteps(shape, b.cols) : undefined;
}

/**
 * The pattern of an operand (broadcast strides `bs`) over the output's axes in layout order: axes
 * it varies along (v), repeats along (b) or that have size 1 (n). Representable: v* b* v* (the
 * groups, the repeated rows, the period); undefined when it repeats along the innermost axis.
 */
function pattern(out: readonly number[], bs: readonly number[], y: Buffer): Pattern | undefined {
  const r = out.length;
  const nhwc = y.layout === "nhwc";
  const order = nhwc ? [0, ...Array.from({ length: r - 2 }, (_, k) => k + 2), 1] : Array.from({ length: r }, (_, k) => k);
  const cls = order.map((a) => (out[a] === 1 ? "n" : bs[a] !== 0 ? "v" : "b"));
  const j = cls.indexOf("b");
  if (j < 0) return { full: true };
  const k = cls.lastIndexOf("b") + 1;
  if (k === r || cls.slice(j, k).includes("v")) return undefined;
  const size = (from: number, to: number) => order.slice(from, to).reduce((p, a) => p * (nhwc && a === 1 ? y.cols : out[a]!), 1);
  return { full: false, groups: size(0, j), groupRows: size(j, k), period: size(k, r) };
}

/** For each output element in dense order: its byte in the layout (strides `ls`) and the element of the operand (strides `bs`) it reads. */
function correspondence(out: readonly number[], ls: readonly number[], bs: readonly number[]): { pos: Int32Array; elem: Int32Array } {
  const n = numel(out);
  const pos = new Int32Array(n);
  const elem = new Int32Array(n);
  const idx = new Int32Array(out.length);
  let p = 0;
  let e = 0;
  for (let i = 0; i < n; i++) {
    pos[i] = p;
    elem[i] = e;
    for (let a = out.length - 1; a >= 0; a--) {
      p += ls[a]!;
      e += bs[a]!;
      if (++idx[a]! < out[a]!) break;
      p -= ls[a]! * out[a]!;
      e -= bs[a]! * out[a]!;
      idx[a] = 0;
    }
  }
  return { pos, elem };
}

/**
 * Little-endian int32 lanes of a constant's planes at the output's byte positions below `limit`:
 * data vector v holds plane q in acc vector unit·v + q (a requant's m0 and shift side by side).
 * Padding lanes are 0 (a zero multiplier is valid).
 */
function layOut(planes: readonly Int32Array[], pos: Int32Array, elem: Int32Array, limit: number, lanes: number): Uint8Array {
  const unit = planes.length;
  const words = new Int32Array(Math.ceil(limit / lanes) * unit * lanes);
  for (let i = 0; i < pos.length; i++) {
    const p = pos[i]!;
    if (p >= limit) continue;
    const at = unit * (p - (p % lanes)) + (p % lanes);
    for (let q = 0; q < unit; q++) words[at + q * lanes] = planes[q]![elem[i]!]!;
  }
  return int32Bytes(words);
}

function int32Bytes(words: Int32Array): Uint8Array {
  const bytes = new Uint8Array(4 * words.length);
  const view = new DataView(bytes.buffer);
  words.forEach((w, i) => view.setInt32(4 * i, w, true));
  return bytes;
}

/** An operand as the steps move it: its DRAM source and the rows it spans. */
interface Operand {
  /** A constant's int32 lanes, or an activation's int8 codes. */
  readonly constant: boolean;
  /** Bytes of the output row it repeats along (one row in acc, read with row stride 0); 0: it spans the output. */
  readonly row: number;
  /** Consecutive groups of output rows that each read their own row (an activation's batch axis). */
  readonly groups: number;
  readonly addr: number;
  /** acc vectors per data vector: 2 for multiplier pairs. */
  readonly unit: number;
}

/** Where the output's bytes lie and how an operand broadcasts over them. */
interface Frame {
  readonly out: readonly number[];
  /** The full-size activation whose layout the output takes. */
  readonly like: Buffer;
  readonly total: number;
  /** Layout strides of the output's axes; undefined for a flattened view of a feature map. */
  readonly ls: readonly number[] | undefined;
  readonly lanes: number;
}

/** Operand k of `recipe`: `name` placed against the output frame `f`. */
function operand(node: Node, ctx: LowerCtx, f: Frame, recipe: Recipe, name: string, k: number): Operand {
  const c = ctx.graph.initializers.get(name);
  const shape = c?.shape ?? ctx.shape(name, node);
  const bs = broadcastStrides(shape, f.out);
  const b = c ? undefined : ctx.buffer(name, node);
  if (b) codes(ctx, node, name);
  if (b && numel(shape) === numel(f.out)) {
    const like = f.like;
    if (b.layout !== like.layout || b.rows !== like.rows || b.cols !== like.cols || b.channels !== like.channels) {
      throw unsupported(node, `'${name}' (${b.layout} ${b.rows}×${b.cols}) and the output (${like.layout} ${like.rows}×${like.cols}) lie in different layouts`);
    }
    return { constant: false, row: 0, groups: 1, addr: b.addr, unit: 1 };
  }
  if (!f.ls) throw unsupported(node, `the output is a flattened view of a feature map: only operands of its shape and single-element constants are supported`);
  const p = pattern(f.out, bs, f.like);
  if (c) {
    const planes = recipe.constant(k, c);
    const { pos, elem } = correspondence(f.out, f.ls, bs);
    const period = p && !p.full && p.groups === 1 ? lcm(p.period, f.lanes) : 0;
    const row = period > 0 && f.total % period === 0 ? period : 0;
    return { constant: true, row, groups: 1, addr: ctx.constant(layOut(planes, pos, elem, row || f.total, f.lanes)), unit: planes.length };
  }
  const own = layoutStrides(shape, b!);
  if (!p || p.full || !own || p.period % f.lanes !== 0) {
    throw unsupported(node, `'${name}' [${shape.join(", ")}] broadcasts to [${f.out.join(", ")}] in a way the vector unit cannot read (supported: the same shape; a row of whole vectors repeated over the output's rows, per group of rows; a single-element constant)`);
  }
  checkRows(node, name, b!, p, correspondence(f.out, f.ls, bs), correspondence(shape, own, strides(shape)).pos);
  return { constant: false, row: p.period, groups: p.groups, addr: b!.addr, unit: 1 };
}

/**
 * Lowers `node` over `operands` (value names; constants are initializers) by `recipe`; a Relu
 * that only reads the output is fused into the clamp of the operation writing it.
 */
export function lowerElementwise(node: Node, ctx: LowerCtx, operands: readonly string[], recipe: Recipe): void {
  const g = ctx.geo;
  const lanes = g.lanes;
  const out = ctx.shape(node.outputs[0]!, node);
  const o = codes(ctx, node, node.outputs[0]!);
  // The output takes the layout of its first activation operand of the output's shape.
  const w = operands.findIndex((n) => !ctx.graph.initializers.has(n) && numel(ctx.shape(n, node)) === numel(out));
  if (w < 0) throw unsupported(node, `the output [${out.join(", ")}] must have the shape of an activation operand`);
  const like = ctx.buffer(operands[w]!, node);
  const frame: Frame = { out, like, total: like.rows * like.cols, ls: layoutStrides(out, like), lanes };
  const ops = operands.map((name, k) => operand(node, ctx, frame, recipe, name, k));

  // The output's rows: those a repeating operand reads, else single vectors.
  const repeating = ops.filter((op) => op.row > 0);
  if (repeating.some((op) => op.row !== repeating[0]!.row)) throw unsupported(node, "operands repeat over rows of different lengths");
  const rowBytes = repeating[0]?.row ?? lanes;
  const groups = repeating.find((op) => !op.constant)?.groups ?? 1;
  const vecs = rowBytes / lanes;
  const groupRows = Math.ceil(frame.total / rowBytes) / groups;

  // acc: the multiplier pairs, the repeated rows, then a tile of rows of every other operand.
  const pairs = recipe.pairs ?? [];
  const fixed: number[] = [];
  let top = 2 * pairs.length;
  ops.forEach((op, k) => op.row > 0 && ((fixed[k] = top), (top += op.unit * vecs)));
  const perRow = ops.reduce((sum, op) => sum + (op.row > 0 ? 0 : op.unit * vecs), 0);
  /** Rows that fit `share` of acc past the constants and of out. */
  const fit = (share: number) => Math.min(Math.floor(((g.accVectors - top) * share) / perRow), Math.floor(Math.min(g.outBytes * share, STORE_MAX) / rowBytes), VEC_MAX);
  if (vecs > VEC_MAX || !(fit(1) >= 1)) throw unsupported(node, `rows of ${rowBytes} bytes do not fit the scratchpads`);
  const start = top;

  const relu = fusedRelu(ctx, node);
  const y = ctx.activationLike(relu ? relu.node.outputs[0]! : node.outputs[0]!, like);
  ctx.beginLayer(node);
  // Loaded in the first step and kept: nothing else in this layer writes their regions.
  const setup: Insn[] = [];
  if (pairs.length > 0) setup.push(ctx.load({ mem: "acc", mode: "i32", dram: ctx.constant(pairWords(pairs, lanes)), xSize: 2 * pairs.length, xStride: 4 * lanes }));
  if (recipe.table) setup.push(ctx.load({ mem: "lut", mode: "i8", dram: ctx.constant(Uint8Array.from(recipe.table, (v) => v & 255)), xSize: recipe.table.length, xStride: 1 }));
  ops.forEach((op, k) => op.constant && op.row > 0 && setup.push(ctx.load({ mem: "acc", mode: "i32", sram: fixed[k], dram: op.addr, xSize: op.unit * vecs, xStride: 4 * lanes })));

  // Several tiles may take half the room each, in alternate halves of acc and out, so that a tile
  // loads while the previous one computes and the one before drains (sync.ts); half tiles pay each
  // load's setup twice as often, so the cycle model decides on the first tiles of each plan.
  const plan = (banked: boolean) => {
    const tile = Math.min(groupRows, fit(banked ? 0.5 : 1));
    const banks = banked ? 2 : 1;
    const bases = [...fixed];
    let top = start;
    ops.forEach((op, k) => op.row === 0 && ((bases[k] = top), (top += op.unit * vecs * tile * banks)));
    /** Where operand `ref`'s rows of a tile in `bank` sit in acc (an operand read as a row: row stride 0). */
    const read = (ref: Ref, bank: number) => {
      const k = ref === "work" ? w : ref;
      const op = ops[k]!;
      const rowStride = op.row > 0 ? 0 : op.unit * vecs;
      return { base: bases[k]! + bank * rowStride * tile, single: op.row > 0, rowStride, colStride: op.unit };
    };
    const second = (src2: LaneOp["src2"], bank: number) => {
      if (src2 === undefined || src2 === "table") return { src2: 0 };
      if (typeof src2 === "object") return { src2: 2 * src2.pair };
      const r = read(src2, bank);
      return { src2: r.base, src2RowStride: r.rowStride, src2ColStride: r.colStride };
    };
    /** One lane operation over a tile of n rows. */
    const emit = (op: LaneOp, n: number, bank: number) => {
      const s = read(op.src, bank);
      const d = op.dst === "out" ? undefined : read(op.dst, bank);
      const clamp = op.dst === "out" && relu ? ([Math.max(op.clamp?.[0] ?? o.lo, relu.floor), op.clamp?.[1] ?? o.hi] as const) : op.clamp;
      return ctx.vec({
        fn: op.fn, rows: d?.single ? 1 : n, cols: vecs,
        src: s.base, srcRowStride: s.rowStride, srcColStride: s.colStride,
        ...second(op.src2, bank),
        useImm: op.src2 === undefined, imm: op.imm ?? 0,
        clamp: !!clamp, lo: clamp?.[0] ?? 0, hi: clamp?.[1] ?? 0,
        ...(d ? { dst: d.base, dstRowStride: d.rowStride, dstColStride: d.colStride } : { dstMem: "out", dtype: "i8", dst: bank * tile * rowBytes, dstRowStride: rowBytes, dstColStride: lanes }),
      });
    };
    const steps: Step[] = [];
    for (let gi = 0, t = 0; gi < groups; gi++) {
      for (let r0 = 0; r0 < groupRows; r0 += tile, t++) {
        const n = Math.min(tile, groupRows - r0);
        const bank = t % banks;
        const from = (gi * groupRows + r0) * rowBytes;
        const loads = t === 0 ? [...setup] : [];
        ops.forEach((op, k) => {
          const sram = op.row > 0 ? bases[k]! : bases[k]! + bank * op.unit * vecs * tile;
          if (op.row > 0 && !op.constant) loads.push(ctx.load({ mem: "acc", sram, dram: op.addr + gi * rowBytes, xSize: vecs, xStride: lanes }));
          else if (op.row === 0 && op.constant) loads.push(ctx.load({ mem: "acc", mode: "i32", sram, dram: op.addr + 4 * op.unit * from, xSize: op.unit * n * vecs, xStride: 4 * lanes }));
          else if (op.row === 0) loads.push(ctx.load({ mem: "acc", sram, dram: op.addr + from, xSize: n * vecs, xStride: lanes }));
        });
        const compute = [...ops.flatMap((op, k) => (op.constant ? [] : recipe.prepare(k))), ...recipe.combine].map((op) => emit(op, n, bank));
        steps.push({ stages: [{ loads, compute }], stores: [ctx.store({ sram: bank * tile * rowBytes, dram: y.addr + from, xSize: Math.min(frame.total - from, n * rowBytes) })] });
      }
    }
    return steps;
  };
  const serial = plan(false);
  const banked = groups * groupRows > fit(1) && fit(0.5) >= 1 ? plan(true) : undefined;
  const cost = (steps: Step[]) => ctx.projectCycles(steps.slice(0, TRIAL_UNITS), Math.min(steps.length, TRIAL_UNITS), steps.length);
  for (const st of banked && cost(banked) < cost(serial) ? banked : serial) ctx.stages(st.stages, st.stores);
}

/** Refuses an activation row operand whose buffer does not hold its rows as `groups` consecutive runs of `period` bytes. */
function checkRows(node: Node, name: string, b: Buffer, p: Pattern & { full: false }, out: { pos: Int32Array; elem: Int32Array }, own: Int32Array): void {
  const span = p.groupRows * p.period;
  for (let i = 0; i < out.pos.length; i++) {
    const q = out.pos[i]!;
    if (own[out.elem[i]!] !== Math.floor(q / span) * p.period + (q % p.period)) {
      throw unsupported(node, `'${name}' (${b.layout} ${b.rows}×${b.cols}) does not hold its rows as the output's layout reads them`);
    }
  }
}

/** Multiplier pairs as int32 vectors: m0 in every lane, then the shift. */
function pairWords(pairs: readonly FixedMultiplier[], lanes: number): Uint8Array {
  const words = new Int32Array(2 * pairs.length * lanes);
  pairs.forEach((m, i) => {
    words.fill(m.m0, 2 * i * lanes, (2 * i + 1) * lanes);
    words.fill(m.shift, (2 * i + 1) * lanes, (2 * i + 2) * lanes);
  });
  return int32Bytes(words);
}

function lcm(a: number, b: number): number {
  let [x, y] = [a, b];
  while (y) [x, y] = [y, x % y];
  return (a / x) * b;
}
