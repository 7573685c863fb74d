/**
 * The state one lowering shares across nodes: DRAM allocation (constants, activations, program
 * I/O), the activations' DRAM buffers by value name and their layouts, layer ids, and the
 * instruction stream. A node's work is emitted as steps (`step`, `stages`), sequential in program
 * order; sync.ts chooses the tokens that let the queues overlap them where their memory ranges
 * allow (double buffering).
 */
import { HwacError } from "../../../ir/errors.js";
import type { Dim, Graph, Node, TensorType } from "../../../ir/graph.js";
import type { Window } from "../../../ir/kernels/conv-geometry.js";
import { geometry, type Geometry, type NnaConfig } from "../config.js";
import { NO_DEPS, type Gemm, type Insn, type Load, type Store, type Vec } from "../isa.js";
import { latency } from "../cycles.js";
import { schedule } from "../sim/schedule.js";
import { StepSync } from "./sync.js";
import { NHWC_ALIGN, nhwcPitch, type IoTensor, type LayerName, type Segment, type TensorLayout } from "../program.js";

/** DRAM placement unit: every buffer starts on a 64-byte boundary (one DMA burst of an acc vector). */
const ALIGN = 64;
/**
 * Bytes past each activation buffer: a GEMM input row is read in whole blockIn-byte vectors, so a
 * row whose length is not a multiple of blockIn reads into the next row or past the last one.
 * Those lanes meet all-zero weight rows and contribute nothing, but they must be in DRAM.
 */
const SLACK = 64;

/**
 * How an activation's codes sit in DRAM: `dense` is the value's own row-major order; `nhwc` holds
 * an N×C×spatial value pixel by pixel, each pixel's channels padded to a multiple of 16 bytes
 * (rows = N·spatial pixels, cols = padded channels), the layout convolutions read by DMA. The
 * padding lanes hold anything: every consumer ignores them (zero weights, stores that skip them).
 * Program I/O tensors use the same two layouts (program.ts TensorLayout).
 */
export type Layout = TensorLayout;

/** An activation in DRAM: int8 codes of [rows, cols], row-major, in `layout`. */
export interface Buffer {
  readonly addr: number;
  readonly rows: number;
  readonly cols: number;
  readonly layout: Layout;
  /**
   * nhwc: the real channels of each pixel. The buffer may stand for its feature map (a value of
   * shape [N, channels, spatial…]) or for a Flatten of it ([N, channels·spatial], channel-major
   * as ONNX flattens, while the bytes stay pixel-major): `featureMap` tells which.
   */
  readonly channels?: number;
}

/**
 * The vector width nhwc buffers are processed in: input vectors, weight-block rows and acc lanes
 * all one 16-byte pixel slice or a fraction of it (blockIn = blockOut dividing 16); undefined on
 * other arrays, which keep every activation dense.
 */
export function nhwcLanes(g: Geometry): number | undefined {
  return g.vecBytes === g.lanes && NHWC_ALIGN % g.lanes === 0 ? g.lanes : undefined;
}

/** Byte strides of an [N, C, spatial…] map stored nhwc with `pitch` bytes per pixel. */
export function nhwcSteps(shape: readonly number[], pitch: number): number[] {
  const st = new Array<number>(shape.length);
  let s = pitch;
  for (let a = shape.length - 1; a >= 2; a--) {
    st[a] = s;
    s *= shape[a]!;
  }
  st[0] = s;
  st[1] = 1;
  return st;
}

/** An nhwc buffer seen as the feature map of a value: N images of `pixels` pixels of `channels` channels. */
export interface FeatureMap {
  readonly n: number;
  readonly channels: number;
  readonly pixels: number;
  /** Bytes per pixel. */
  readonly pitch: number;
}

/**
 * How an nhwc buffer holds a value of `shape`: as its feature map when `shape` is [N, C, spatial…]
 * with C the buffer's channels and N·spatial its pixels; undefined otherwise (a flattened view).
 */
export function featureMap(b: Buffer, shape: readonly number[]): FeatureMap | undefined {
  if (b.layout !== "nhwc" || shape.length < 2 || shape[1] !== b.channels) return undefined;
  const n = shape[0]!;
  const pixels = shape.slice(2).reduce((a, d) => a * d, 1);
  return n * pixels === b.rows ? { n, channels: b.channels, pixels, pitch: b.cols } : undefined;
}

/**
 * A 1-D or 2-D sliding window as a 2-D one (a 1-D window is a single row: H = 1), the form the
 * convolution and pooling lowerings address DRAM and scratchpads with.
 */
export interface Plane {
  readonly h: number;
  readonly w: number;
  readonly oh: number;
  readonly ow: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly dh: number;
  readonly dw: number;
  /** Pads before the first row and column. */
  readonly pt: number;
  readonly pl: number;
}

/** The plane of a window over one or two spatial axes; undefined for more. */
export function plane(win: Window): Plane | undefined {
  const rank = win.inShape.length;
  if (rank < 1 || rank > 2) return undefined;
  const at = (a: readonly number[], i: number, none: number) => (rank === 1 ? (i === 0 ? none : a[0]!) : a[i]!);
  return {
    h: at(win.inShape, 0, 1), w: at(win.inShape, 1, 1), oh: at(win.outShape, 0, 1), ow: at(win.outShape, 1, 1),
    kh: at(win.kernel, 0, 1), kw: at(win.kernel, 1, 1), sh: at(win.strides, 0, 1), sw: at(win.strides, 1, 1),
    dh: at(win.dilations, 0, 1), dw: at(win.dilations, 1, 1), pt: at(win.padBegin, 0, 0), pl: at(win.padBegin, 1, 0),
  };
}

/** A rectangle of output pixels of one image: `rows` rows from oy0, `cols` columns from ox0. */
export interface Tile {
  readonly img: number;
  readonly oy0: number;
  readonly ox0: number;
  readonly rows: number;
  readonly cols: number;
}

/** Tiles of at most `rows` × `cols` output pixels covering the plane's output in `n` images, in DRAM order. */
export function tiles(n: number, pl: Plane, rows: number, cols: number): Tile[] {
  const out: Tile[] = [];
  for (let img = 0; img < n; img++) {
    for (let oy0 = 0; oy0 < pl.oh; oy0 += rows) {
      for (let ox0 = 0; ox0 < pl.ow; ox0 += cols) out.push({ img, oy0, ox0, rows: Math.min(rows, pl.oh - oy0), cols: Math.min(cols, pl.ow - ox0) });
    }
  }
  return out;
}

/** The opset of a context built without a model: Softmax along one axis (13), Clip bounds as inputs (11). */
const CURRENT_OPSET = 13;

type Fields<T> = Partial<Omit<T, "op" | "deps" | "layer">>;

/** Loads and the compute instructions that wait for them (`LowerCtx.stages`). */
export interface Stage {
  readonly loads: Insn[];
  readonly compute: Insn[];
}

/** Tiles of a plan that `LowerCtx.projectCycles` needs to see to cost the plan. */
export const TRIAL_UNITS = 16;

/** One step as `LowerCtx.stages` takes it. */
export interface Step {
  readonly stages: readonly Stage[];
  readonly stores: Store[];
}

export class LowerCtx {
  readonly geo: Geometry;
  readonly insns: Insn[] = [];
  readonly segments: Segment[] = [];
  readonly tensors: IoTensor[] = [];
  readonly layers: LayerName[] = [];
  readonly buffers = new Map<string, Buffer>();
  /** Nodes another node's lowering has absorbed (a Relu fused into its Gemm's requantization). */
  readonly fused = new Set<Node>();
  /** Layout conversions already made, by value name, so that every consumer shares one copy. */
  readonly copies = new Map<string, Buffer>();
  private dramTop = 0;
  private layer = 0;
  private readonly sync: StepSync;

  /**
   * `opset` is the model's default-domain opset (ir/graph.ts `defaultOpset`), which some ops'
   * semantics read (Softmax's axis, Clip's bounds); a context built for single routines, without a
   * model, takes CURRENT_OPSET.
   */
  constructor(
    readonly graph: Graph,
    readonly config: NnaConfig,
    private readonly dims: Readonly<Record<string, number>>,
    readonly opset: number = CURRENT_OPSET,
  ) {
    this.geo = geometry(config);
    this.sync = new StepSync(this.geo, (insn) => this.insns.push(insn));
  }

  get dramBytes(): number {
    return Math.max(this.dramTop, ALIGN);
  }

  /** `bytes` of DRAM, aligned; the same bytes are never handed out twice. */
  alloc(bytes: number): number {
    const addr = this.dramTop;
    this.dramTop = Math.ceil((addr + bytes) / ALIGN) * ALIGN;
    return addr;
  }

  /** Constant bytes placed in DRAM before the run. */
  constant(data: Uint8Array): number {
    const addr = this.alloc(data.length);
    this.segments.push({ addr, data });
    return addr;
  }

  /** A DRAM buffer for activation `name` of [rows, cols] int8 codes (registered under the name unless undefined). */
  activation(name: string | undefined, rows: number, cols: number, layout: Layout = "dense"): Buffer {
    const b = { addr: this.alloc(rows * cols + SLACK), rows, cols, layout };
    if (name !== undefined) this.buffers.set(name, b);
    return b;
  }

  /** A buffer for `name` laid out like `like` (an elementwise op's output): same rows, cols, layout and channels. */
  activationLike(name: string, like: Buffer): Buffer {
    const b = { ...like, addr: this.alloc(like.rows * like.cols + SLACK) };
    this.buffers.set(name, b);
    return b;
  }

  /** An nhwc buffer of `pixels` pixels (all images) of `channels` channels; registered under `name` unless undefined. */
  featureBuffer(name: string | undefined, pixels: number, channels: number): Buffer {
    const cols = nhwcPitch(channels);
    const b: Buffer = { addr: this.alloc(pixels * cols + SLACK), rows: pixels, cols, layout: "nhwc", channels };
    if (name !== undefined) this.buffers.set(name, b);
    return b;
  }

  /** `name` stands for the same bytes as another value (a reshape that moves nothing). */
  alias(name: string, b: Buffer): void {
    this.buffers.set(name, b);
  }

  /** The DRAM buffer of an activation a previous lowering produced. */
  buffer(name: string, node: Node): Buffer {
    const b = this.buffers.get(name);
    if (!b) throw new HwacError("HW5041", `'${name}' is not computed on the NNA (it is not a program input or a lowered node's output)`, { node: node.name, op: node.op });
    return b;
  }

  type(name: string): TensorType {
    const t = this.graph.valueTypes.get(name);
    if (!t) throw new HwacError("HW5041", `value '${name}' has no type`);
    return t;
  }

  /** A value's static shape, with symbolic dimensions bound by the lowering's `dims`. */
  shape(name: string, node: Node): number[] {
    const s = this.type(name).shape;
    if (!s) throw new HwacError("HW5044", `'${name}' has no known shape`, { node: node.name, op: node.op });
    return s.map((d: Dim) => {
      const v = typeof d === "number" ? d : this.dims[d];
      if (v === undefined) throw new HwacError("HW5044", `dimension '${d}' of '${name}' must be bound (dims: { ${d}: … })`, { node: node.name, op: node.op });
      return v;
    });
  }

  /** The nodes reading `value`. */
  consumers(value: string): Node[] {
    return this.graph.nodes.filter((n) => n.inputs.includes(value));
  }

  /** Starts a new layer (per-layer statistics) named after the node. */
  beginLayer(node: Node): void {
    this.layer = this.layers.length + 1;
    this.layers.push({ id: this.layer, name: node.name });
  }

  /**
   * One step: `loads` (at least one), then `compute`, then `stores` (none when the step's results
   * stay in the scratchpads for the next step). Its tokens are chosen by sync.ts: the loads wait
   * for earlier compute that touches what they overwrite, the compute for its loads and for stores
   * still draining the `out` bytes it writes, the stores for the compute.
   */
  step(loads: Insn[], compute: Insn[], stores: Store | Store[] = []): void {
    this.stages([{ loads, compute }], stores);
  }

  /**
   * A step whose loads and compute overlap: each stage's compute waits for that stage's loads
   * only, so the load queue runs ahead while earlier stages compute (their loads must write
   * scratchpad regions that earlier stages do not read). Then `stores`, as in `step`.
   */
  stages(stages: readonly Stage[], stores: Store | Store[] = []): void {
    if (stages.some((s) => s.loads.length === 0 || s.compute.length === 0)) throw new Error("a stage needs loads and compute instructions");
    this.sync.step(stages, Array.isArray(stores) ? stores : [stores], this.layer);
  }

  /** The cycles `steps` take on their own, tokens chosen as `stages` would choose them, by the cycle model. */
  private trialCycles(steps: readonly Step[]): number {
    const insns: Insn[] = [];
    const sync = new StepSync(this.geo, (insn) => insns.push(insn));
    for (const s of steps) sync.step(s.stages, s.stores, this.layer);
    insns.push({ op: "finish", layer: 0, deps: NO_DEPS });
    const timings = schedule(insns, { latency: (insn) => latency(insn, this.config) });
    return timings.at(-1)!.end;
  }

  /**
   * The cycles of a plan of `count` like units (tiles) from the steps of its first `sampled` ones
   * (at most TRIAL_UNITS are worth running): how a lowering weighs one tiling against another.
   */
  projectCycles(first: readonly Step[], sampled: number, count: number): number {
    return (this.trialCycles(first) * count) / sampled;
  }

  /** FINISH: it starts when every queue has drained. */
  finish(): void {
    if (!this.sync.endsWithStore) throw new Error("the last step must store its results");
    this.insns.push({ op: "finish", layer: 0, deps: NO_DEPS });
  }

  load(f: Fields<Load> & Pick<Load, "mem">): Load {
    return {
      op: "load", deps: NO_DEPS, layer: this.layer, mode: "i8", sram: 0, dram: 0, ySize: 1, xSize: 1, yStride: 0, xStride: 0,
      padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, padValue: 0, table: 0, tableStride: 0, ...f,
    };
  }

  gemm(f: Fields<Gemm>): Gemm {
    const kBlocks = f.kBlocks ?? 1;
    return {
      op: "gemm", deps: NO_DEPS, layer: this.layer, mode: "i8", acc: 0, inp: 0, wgt: 0, rows: 1, kBlocks,
      mask: kBlocks === 32 ? 0xffffffff : 2 ** kBlocks - 1, inpStride: 1, inpKStride: 1, accStride: 1, izp: 0, wzp: 0, ...f,
    };
  }

  vec(f: Fields<Vec> & Pick<Vec, "fn">): Vec {
    return {
      op: "vec", deps: NO_DEPS, layer: this.layer, dstMem: "acc", dtype: "i32", useImm: false, clamp: false, dst: 0, src: 0, src2: 0,
      imm: 0, lo: 0, hi: 0, rows: 1, cols: 1, dstRowStride: 0, dstColStride: 0, srcRowStride: 0, srcColStride: 0,
      src2RowStride: 0, src2ColStride: 0, ...f,
    };
  }

  store(f: Fields<Store>): Store {
    return { op: "store", deps: NO_DEPS, layer: this.layer, mode: "bytes", sram: 0, dram: 0, ySize: 1, xSize: 1, yStride: 0, srcStride: 0, ...f };
  }
}
