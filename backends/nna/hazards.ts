/**
 * The race check. A program means what its instructions do one after another in program order;
 * the queues may run them in any order their tokens allow. So every two instructions of different
 * queues that touch the same memory unit, at least one of them writing, must be ordered by a chain
 * of queue order and tokens (happens-before) in the direction of program order — otherwise some
 * timing of the hardware gives another result than the simulator's (which runs each instruction
 * atomically at its modelled start, and so does not see races by itself).
 *
 * Happens-before is tracked with vector clocks over the three queues, replayed in an order the
 * tokens allow (schedule.ts); memory with a shadow per unit: its last writer and, per queue, its
 * last reader since. Work is proportional to the units the program touches, like a simulation.
 */
import { HwacError } from "../../ir/errors.js";
import { formatInsn } from "./asm/print.js";
import { capacity, footprints, type Space } from "./access.js";
import { geometry, type NnaConfig } from "./config.js";
import { neighbour, QUEUES, queueOf, type Insn, type Queue } from "./isa.js";
import type { Program } from "./program.js";
import { schedule } from "./sim/schedule.js";

/** Vector clocks: clock[3·i + q] = how many instructions of queue q happen before or at instruction i. */
function happensBefore(insns: readonly Insn[]): { clock: Int32Array; queue: Uint8Array; seq: Int32Array } {
  const order: number[] = [];
  schedule(insns, { latency: () => 1, execute: (_insn, i) => order.push(i) });
  const n = insns.length;
  const clock = new Int32Array(3 * n);
  const queue = new Uint8Array(n);
  const seq = new Int32Array(n);
  const count = [0, 0, 0];
  const last = [-1, -1, -1];
  /** Pushers of the tokens of each channel (`from>to`), consumed in order. */
  const channels = new Map<string, { pushers: number[]; next: number }>();
  const channel = (from: Queue, to: Queue) => {
    const key = `${from}>${to}`;
    let c = channels.get(key);
    if (!c) channels.set(key, (c = { pushers: [], next: 0 }));
    return c;
  };
  for (const i of order) {
    const insn = insns[i]!;
    const name = queueOf(insn);
    const q = QUEUES.indexOf(name);
    queue[i] = q;
    if (last[q]! >= 0) clock.copyWithin(3 * i, 3 * last[q]!, 3 * last[q]! + 3);
    const { popPrev, popNext, pushPrev, pushNext } = insn.deps;
    const [prev, next] = [neighbour(name, "prev"), neighbour(name, "next")];
    for (const from of [popPrev ? prev : undefined, popNext ? next : undefined]) {
      if (!from) continue;
      const c = channel(from, name);
      const p = c.pushers[c.next++]!;
      for (let k = 0; k < 3; k++) clock[3 * i + k] = Math.max(clock[3 * i + k]!, clock[3 * p + k]!);
    }
    seq[i] = ++count[q]!;
    clock[3 * i + q] = seq[i]!;
    for (const to of [pushPrev ? prev : undefined, pushNext ? next : undefined]) if (to) channel(name, to).pushers.push(i);
    last[q] = i;
  }
  return { clock, queue, seq };
}

/** Per unit of one memory: the last writer (index + 1, 0 for none) and each queue's last reader since. */
class Shadow {
  readonly writer: Int32Array;
  readonly readers: Int32Array;
  constructor(size: number) {
    this.writer = new Int32Array(size);
    this.readers = new Int32Array(3 * size);
  }
}

/** The first race in the program, described, or undefined when every conflicting pair is ordered. */
export function findRace(p: Program, config: NnaConfig): string | undefined {
  const g = geometry(config);
  const { clock, queue, seq } = happensBefore(p.insns);
  const shadows = new Map<Space, Shadow>();
  const shadow = (s: Space) => {
    let sh = shadows.get(s);
    if (!sh) shadows.set(s, (sh = new Shadow(s === "dram" ? p.dramBytes : capacity(g, s))));
    return sh;
  };
  /** Whether instruction a (index + 1; 0 for none) happens before instruction b. */
  const ordered = (a1: number, b: number) => a1 === 0 || queue[a1 - 1] === queue[b] || clock[3 * b + queue[a1 - 1]!]! >= seq[a1 - 1]!;
  const describe = (b: number, verb: string, space: Space, unit: number, a: number, theirs: string) => {
    const at = (i: number) => `#${i} \`${formatInsn(p.insns[i]!)}\` (${QUEUES[queue[i]!]} queue)`;
    return `${at(b)} ${verb} ${space} unit ${unit}, which ${at(a)} ${theirs} before it in program order, and no chain of tokens orders the two`;
  };

  for (let b = 0; b < p.insns.length; b++) {
    const qb = queue[b]!;
    for (const f of footprints(p.insns[b]!, g)) {
      const sh = shadow(f.space);
      for (let r = 0; r < f.rows; r++) {
        for (let c = 0; c < f.cols; c++) {
          const base = f.base + r * f.rowStride + c * f.colStride;
          for (let u = base; u < base + f.unit; u++) {
            const w = sh.writer[u]!;
            if (!ordered(w, b)) return describe(b, f.write ? "writes" : "reads", f.space, u, w - 1, "wrote");
            if (!f.write) {
              sh.readers[3 * u + qb] = b + 1;
              continue;
            }
            for (let q = 0; q < 3; q++) {
              const reader = sh.readers[3 * u + q]!;
              if (!ordered(reader, b)) return describe(b, "writes", f.space, u, reader - 1, "read");
              sh.readers[3 * u + q] = 0;
            }
            sh.writer[u] = b + 1;
          }
        }
      }
    }
  }
  return undefined;
}

/** HW5036 naming both instructions of the first race (findRace). */
export function checkRaces(p: Program, config: NnaConfig): void {
  const race = findRace(p, config);
  if (race) throw new HwacError("HW5036", `race: ${race}`);
}
