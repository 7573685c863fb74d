/**
 * The state one lowering shares across nodes: DRAM allocation (constants, activations, program
 * I/O), the activations' DRAM buffers by value name, layer ids, and the instruction stream.
 *
 * Synchronisation is deliberately serial for this first slice: every `step` is a group of loads,
 * the compute instructions that use them, and one store, chained by tokens so that a step's loads
 * start only after the previous step's store has written DRAM (load → compute → store → compute
 * → load). Reusing the same scratchpad regions in every step is then race-free; overlapping
 * steps (double buffering) is a later refinement of this function alone.
 */
import { HwacError } from "../../../ir/errors.js";
import type { Dim, Graph, Node, TensorType } from "../../../ir/graph.js";
import { geometry, type Geometry, type NnaConfig } from "../config.js";
import { NO_DEPS, type Deps, type Gemm, type Insn, type Load, type Store, type Vec } from "../isa.js";
import type { IoTensor, LayerName, Segment } from "../program.js";

/** DRAM placement unit: every buffer starts on a 64-byte boundary (one DMA burst of an acc vector). */
const ALIGN = 64;
/**
 * Bytes past each activation buffer: a GEMM input row is read in whole blockIn-byte vectors, so a
 * row whose length is not a multiple of blockIn reads into the next row or past the last one.
 * Those lanes meet all-zero weight rows and contribute nothing, but they must be in DRAM.
 */
const SLACK = 64;

/** An activation in DRAM: dense row-major int8 codes of [rows, cols]. */
export interface Buffer {
  readonly addr: number;
  readonly rows: number;
  readonly cols: number;
}

type Fields<T> = Partial<Omit<T, "op" | "deps" | "layer">>;

export class LowerCtx {
  readonly geo: Geometry;
  readonly insns: Insn[] = [];
  readonly segments: Segment[] = [];
  readonly tensors: IoTensor[] = [];
  readonly layers: LayerName[] = [];
  readonly buffers = new Map<string, Buffer>();
  /** Nodes another node's lowering has absorbed (a Relu fused into its Gemm's requantization). */
  readonly fused = new Set<Node>();
  private dramTop = 0;
  private layer = 0;
  private steps = 0;

  constructor(readonly graph: Graph, readonly config: NnaConfig, private readonly dims: Readonly<Record<string, number>>) {
    this.geo = geometry(config);
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

  /** A DRAM buffer for activation `name` of [rows, cols] int8 codes. */
  activation(name: string, rows: number, cols: number): Buffer {
    const b = { addr: this.alloc(rows * cols + SLACK), rows, cols };
    this.buffers.set(name, b);
    return b;
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
   * One serial step: `loads` (at least one), then `compute`, then `store`, token-chained to the
   * step before (see the header).
   */
  step(loads: Insn[], compute: Insn[], store: Store): void {
    if (loads.length === 0 || compute.length === 0) throw new Error("a step needs loads and compute instructions");
    if (this.steps++ > 0) this.push({ op: "nop", queue: "compute", layer: this.layer, deps: { ...NO_DEPS, popNext: true, pushPrev: true } });
    loads.forEach((l, i) => this.push(l, { popNext: i === 0 && this.steps > 1, pushNext: i === loads.length - 1 }));
    compute.forEach((c, i) => this.push(c, { popPrev: i === 0, pushNext: i === compute.length - 1 }));
    this.push(store, { popPrev: true, pushPrev: true });
  }

  /** FINISH, after the last store's token. */
  finish(): void {
    this.insns.push({ op: "finish", layer: 0, deps: { ...NO_DEPS, popNext: this.steps > 0 } });
  }

  private push(insn: Insn, deps: Partial<Deps> = {}): void {
    this.insns.push({ ...insn, deps: { ...insn.deps, ...deps } });
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
