/**
 * The simulator's state: DRAM and the scratchpads as typed arrays, in the address units of
 * docs/nna-isa.md ("Memories"), and the range checks every instruction makes before it touches
 * them. Range errors say what was accessed; the simulator adds which instruction did it.
 */
import { HwacError } from "../../../ir/errors.js";
import { capacity, footprints, span, type Space } from "../access.js";
import { geometry, type Geometry, type NnaConfig } from "../config.js";
import type { Insn } from "../isa.js";

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

/** The scratchpads' address units, as errors name them. */
const UNIT: Readonly<Record<Exclude<Space, "dram">, string>> = { inp: "vectors", wgt: "blocks", acc: "vectors", out: "bytes", lut: "entries" };

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * Every range `insn` touches, before it runs: HW5031 when a scratchpad range runs past the end
 * (scratchpad overflow), HW5030 when a DRAM byte range leaves the program's DRAM.
 */
export function checkAccess(m: Machine, insn: Insn): void {
  for (const f of footprints(insn, m.geo)) {
    const range = span(f);
    if (!range) continue;
    const verb = f.write ? "writes" : "reads";
    if (f.space === "dram") {
      if (range[1] > m.dram.length) throw new HwacError("HW5030", `out of bounds: ${verb} DRAM bytes [${hex(range[0])}, ${hex(range[1])}) but the DRAM has ${hex(m.dram.length)} bytes`);
      continue;
    }
    const size = capacity(m.geo, f.space);
    if (range[1] > size) throw new HwacError("HW5031", `scratchpad overflow: ${verb} ${f.space} ${UNIT[f.space]} [${range[0]}, ${range[1]}) but ${f.space} holds ${size}`);
  }
}
