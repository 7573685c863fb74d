/**
 * The simulator's state: DRAM and the scratchpads as typed arrays, in the address units of
 * docs/nna-isa.md ("Memories"), and the range checks every instruction makes before it touches
 * them. Range errors say what was accessed; the simulator adds which instruction did it.
 */
import { HwacError } from "../../../ir/errors.js";
import { geometry, type Geometry, type NnaConfig } from "../config.js";

export class Machine {
  readonly geo: Geometry;
  readonly dram: Uint8Array;
  /** The same bytes as int8, for sign-extending copies. */
  readonly dramI8: Int8Array;
  readonly dramView: DataView;
  /** Input vectors: `inp[v·vecBytes + k]`. */
  readonly inp: Int8Array;
  /** Weight blocks: `wgt[b·blockBytes + k·blockOut + n]` (int4 blocks: two weights per byte). */
  readonly wgt: Int8Array;
  /** Accumulator vectors: `acc[v·lanes + j]`. */
  readonly acc: Int32Array;
  /** Output bytes, as STORE sends them. */
  readonly out: Uint8Array;
  readonly outView: DataView;
  readonly lut: Int16Array;

  constructor(readonly config: NnaConfig, dramBytes: number) {
    const g = (this.geo = geometry(config));
    this.dram = new Uint8Array(dramBytes);
    this.dramI8 = new Int8Array(this.dram.buffer);
    this.dramView = new DataView(this.dram.buffer);
    this.inp = new Int8Array(g.inpVectors * g.vecBytes);
    this.wgt = new Int8Array(g.wgtBlocks * g.blockBytes);
    this.acc = new Int32Array(g.accVectors * g.lanes);
    this.out = new Uint8Array(g.outBytes);
    this.outView = new DataView(this.out.buffer);
    this.lut = new Int16Array(g.lutEntries);
  }
}

/** [first, end) touched by `rows × cols` steps of `unit` units at base + r·rowStride + c·colStride; undefined when empty. */
export function extent(base: number, rows: number, rowStride: number, cols: number, colStride: number, unit: number): [number, number] | undefined {
  if (rows === 0 || cols === 0 || unit === 0) return undefined;
  return [base, base + (rows - 1) * rowStride + (cols - 1) * colStride + unit];
}

/** The scratchpads and their address units, as errors name them. */
export type Space = "inp" | "wgt" | "acc" | "out" | "lut";
const UNIT: Readonly<Record<Space, string>> = { inp: "vectors", wgt: "blocks", acc: "vectors", out: "bytes", lut: "entries" };

export function capacity(g: Geometry, s: Space): number {
  return { inp: g.inpVectors, wgt: g.wgtBlocks, acc: g.accVectors, out: g.outBytes, lut: g.lutEntries }[s];
}

/** HW5031 when a scratchpad range runs past the end (scratchpad overflow). */
export function checkSpace(g: Geometry, s: Space, range: [number, number] | undefined, verb: "reads" | "writes"): void {
  const size = capacity(g, s);
  if (range && range[1] > size) {
    throw new HwacError("HW5031", `scratchpad overflow: ${verb} ${s} ${UNIT[s]} [${range[0]}, ${range[1]}) but ${s} holds ${size}`);
  }
}

/** HW5030 when a DRAM byte range leaves the program's DRAM. */
export function checkDram(m: Machine, range: [number, number] | undefined, verb: "reads" | "writes"): void {
  if (range && range[1] > m.dram.length) {
    const hex = (n: number) => `0x${n.toString(16)}`;
    throw new HwacError("HW5030", `out of bounds: ${verb} DRAM bytes [${hex(range[0])}, ${hex(range[1])}) but the DRAM has ${hex(m.dram.length)} bytes`);
  }
}
