/**
 * The bit-accurate NNA simulator: places the program's constants and inputs in DRAM, runs every
 * instruction through the queues (schedule.ts) with the semantics of isa.ts, and reads the
 * outputs back. Its `switch (insn.op)` mirrors the ISA; errors name the instruction by index and
 * assembly text.
 */
import { HwacError } from "../../../ir/errors.js";
import { tensor, type Tensor } from "../../../ir/tensor.js";
import { formatInsn } from "../asm/print.js";
import { checkInsn, checkShape } from "../check.js";
import { configHash, DEFAULT_CONFIG, type NnaConfig } from "../config.js";
import { cycleStats, latency, type CycleStats } from "../cycles.js";
import type { Insn } from "../isa.js";
import { checkTables, elementBits, nhwcPitch, type IoTensor, type Program } from "../program.js";
import { load, store } from "./dma.js";
import { gemm } from "./gemm.js";
import { checkAccess, Machine } from "./machine.js";
import { schedule, type Timing } from "./schedule.js";
import { vec } from "./vector.js";

export { Machine } from "./machine.js";
export { checkTokens, schedule, type Timing } from "./schedule.js";

export interface SimOptions {
  config?: NnaConfig;
  /** Codes of every input tensor, by name (int4/uint4 unpacked one per element, as ir/ tensors hold them). */
  inputs?: Readonly<Record<string, Tensor>>;
}

export interface SimResult {
  outputs: Map<string, Tensor>;
  stats: CycleStats;
  timings: Timing[];
  /** The memories after the run. */
  machine: Machine;
}

function located(e: unknown, index: number, insn: Insn): unknown {
  if (!(e instanceof HwacError)) return e;
  return new HwacError(e.code, `instruction #${index} \`${formatInsn(insn)}\`: ${e.message}`, e.where);
}

function execute(m: Machine, insn: Insn): void {
  checkAccess(m, insn);
  switch (insn.op) {
    case "load":
      return load(m, insn);
    case "store":
      return store(m, insn);
    case "gemm":
      return gemm(m, insn);
    case "vec":
      return vec(m, insn);
    case "nop":
    case "finish":
      return;
  }
}

/**
 * The DRAM byte of element i (row-major over the shape) of an nhwc tensor (program.ts
 * TensorLayout): [N, C, spatial…] element (n, c, p) sits at pixel n·spatial + p, channel byte c.
 */
function nhwcAddress(t: IoTensor): (i: number) => number {
  const c = t.shape[1]!;
  const pixels = t.shape.slice(2).reduce((a, b) => a * b, 1);
  const pitch = nhwcPitch(c);
  return (i) => {
    const nc = Math.floor(i / pixels);
    return t.addr + (Math.floor(nc / c) * pixels + (i % pixels)) * pitch + (nc % c);
  };
}

/** Writes codes into DRAM as the tensor table lays them out (dense, little-endian, int4 low nibble first; or nhwc). */
function writeTensor(m: Machine, t: IoTensor, codes: ArrayLike<number>): void {
  const bits = elementBits(t.dtype);
  if (t.layout === "nhwc") {
    const at = nhwcAddress(t);
    for (let i = 0; i < codes.length; i++) m.dram[at(i)] = codes[i]! & 255;
    return;
  }
  for (let i = 0; i < codes.length; i++) {
    const v = codes[i]!;
    if (bits === 4) {
      const a = t.addr + (i >> 1);
      m.dram[a] = i & 1 ? (m.dram[a]! & 0x0f) | ((v & 15) << 4) : (m.dram[a]! & 0xf0) | (v & 15);
    } else if (bits === 8) m.dram[t.addr + i] = v & 255;
    else if (bits === 16) m.dramView.setInt16(t.addr + 2 * i, v, true);
    else m.dramView.setInt32(t.addr + 4 * i, v, true);
  }
}

function readTensor(m: Machine, t: IoTensor): Tensor {
  const out = tensor(t.dtype, t.shape);
  const data = out.data as Int8Array | Uint8Array | Int16Array | Int32Array;
  const signed = t.dtype !== "uint4" && t.dtype !== "uint8";
  if (t.layout === "nhwc") {
    const at = nhwcAddress(t);
    for (let i = 0; i < data.length; i++) data[i] = signed ? m.dramI8[at(i)]! : m.dram[at(i)]!;
    return out;
  }
  for (let i = 0; i < data.length; i++) {
    switch (elementBits(t.dtype)) {
      case 4: {
        const nib = (m.dram[t.addr + (i >> 1)]! >> (4 * (i & 1))) & 15;
        data[i] = signed ? (nib << 28) >> 28 : nib;
        break;
      }
      case 8:
        data[i] = signed ? m.dramI8[t.addr + i]! : m.dram[t.addr + i]!;
        break;
      case 16:
        data[i] = m.dramView.getInt16(t.addr + 2 * i, true);
        break;
      default:
        data[i] = m.dramView.getInt32(t.addr + 4 * i, true);
    }
  }
  return out;
}

function placeInputs(m: Machine, p: Program, inputs: Readonly<Record<string, Tensor>>): void {
  for (const t of p.tensors) {
    if (t.kind !== "input") continue;
    const x = inputs[t.name];
    if (!x) throw new HwacError("HW5035", `input "${t.name}" is not given`);
    if (x.dtype !== t.dtype || x.shape.join(",") !== t.shape.join(",")) {
      throw new HwacError("HW5035", `input "${t.name}" must be ${t.dtype}[${t.shape.join(", ")}], got ${x.dtype}[${x.shape.join(", ")}]`);
    }
    writeTensor(m, t, x.data as ArrayLike<number>);
  }
}

export function simulate(p: Program, opts: SimOptions = {}): SimResult {
  const config = opts.config ?? DEFAULT_CONFIG;
  const hash = configHash(config);
  if (p.configHash !== hash) {
    throw new HwacError("HW5002", `the program was built for config ${p.configHash}, but the machine's config is ${hash} ("${config.name}")`);
  }
  if (p.dramBytes > config.dramMaxBytes) {
    throw new HwacError("HW5030", `the program needs ${p.dramBytes} bytes of DRAM; the machine has at most ${config.dramMaxBytes}`);
  }
  const table = checkTables(p);
  if (table) throw new HwacError("HW5010", table.message);
  const shape = checkShape(p.insns);
  if (shape) throw new HwacError("HW5034", shape);
  p.insns.forEach((insn, i) => {
    const bad = checkInsn(insn);
    if (bad) throw located(new HwacError("HW5033", bad), i, insn);
  });
  const m = new Machine(config, p.dramBytes);
  for (const s of p.segments) m.dram.set(s.data, s.addr);
  placeInputs(m, p, opts.inputs ?? {});
  const timings = schedule(p.insns, {
    latency: (insn) => latency(insn, config),
    execute: (insn, i) => {
      try {
        execute(m, insn);
      } catch (e) {
        throw located(e, i, insn);
      }
    },
  });
  const outputs = new Map(p.tensors.filter((t) => t.kind === "output").map((t) => [t.name, readTensor(m, t)]));
  return { outputs, stats: cycleStats(p, timings, config), timings, machine: m };
}
