/**
 * The three queues and their dependency tokens (VTA's scheme), as one event loop shared by the
 * simulator and the cycle model. Each queue runs its instructions in program order, one at a time;
 * an instruction starts when its queue is free and every token it pops has been pushed (a token
 * exists from the end of the instruction that pushed it). Instructions run in the order of their
 * start times (ties: program order), which is an order the hardware could have run them in: a
 * token is never pushed before its producer starts. When no queue can start its next instruction
 * and some are left, the program deadlocks; the error names every waiting instruction.
 */
import { HwacError } from "../../../ir/errors.js";
import { formatInsn } from "../asm/print.js";
import { neighbour, QUEUES, queueOf, type Insn, type Queue } from "../isa.js";

export interface Timing {
  start: number;
  end: number;
  /** Cycles the instruction waited for tokens (or, for finish, for the queues to drain) after its queue was free. */
  stall: number;
}

export interface ScheduleHooks {
  latency(insn: Insn): number;
  /** Runs the instruction's effect at its start. */
  execute?(insn: Insn, index: number): void;
}

/** Push times of the tokens sent from one queue to another, consumed in order. */
class Channel {
  readonly times: number[] = [];
  next = 0;
  constructor(readonly from: Queue) {}
  get available(): boolean {
    return this.next < this.times.length;
  }
}

export function schedule(insns: readonly Insn[], hooks: ScheduleHooks): Timing[] {
  const channels = new Map<string, Channel>();
  const channel = (from: Queue, to: Queue) => {
    const key = `${from}>${to}`;
    let c = channels.get(key);
    if (!c) channels.set(key, (c = new Channel(from)));
    return c;
  };
  /** The channels an instruction pops from and pushes to. */
  const links = (insn: Insn) => {
    const q = queueOf(insn);
    const prev = neighbour(q, "prev");
    const next = neighbour(q, "next");
    const { popPrev, popNext, pushPrev, pushNext } = insn.deps;
    const pops: Channel[] = [];
    const pushes: Channel[] = [];
    if (popPrev && prev) pops.push(channel(prev, q));
    if (popNext && next) pops.push(channel(next, q));
    if (pushPrev && prev) pushes.push(channel(q, prev));
    if (pushNext && next) pushes.push(channel(q, next));
    return { pops, pushes };
  };

  const linksOf = insns.map(links);
  const order = QUEUES.map((q) => insns.flatMap((insn, i) => (queueOf(insn) === q ? [i] : [])));
  const head = [0, 0, 0];
  const free = [0, 0, 0];
  const timings: Timing[] = new Array(insns.length);
  const drained = (except: number) => order.every((o, q) => q === except || head[q] === o.length);

  /** When the head of queue q can start, or undefined while a token (or a drain) is missing. */
  const readyAt = (q: number): number | undefined => {
    const insn = insns[order[q]![head[q]!]!]!;
    let t = free[q]!;
    if (insn.op === "finish") {
      if (!drained(q)) return undefined;
      t = Math.max(...free);
    }
    for (const c of linksOf[order[q]![head[q]!]!]!.pops) {
      if (!c.available) return undefined;
      t = Math.max(t, c.times[c.next]!);
    }
    return t;
  };

  for (;;) {
    let best: { q: number; start: number; index: number } | undefined;
    for (let q = 0; q < 3; q++) {
      if (head[q] === order[q]!.length) continue;
      const start = readyAt(q);
      const index = order[q]![head[q]!]!;
      if (start !== undefined && (!best || start < best.start || (start === best.start && index < best.index))) best = { q, start, index };
    }
    if (!best) {
      if (drained(-1)) return timings;
      throw deadlock(insns, order, head, linksOf);
    }
    const insn = insns[best.index]!;
    hooks.execute?.(insn, best.index);
    const end = best.start + hooks.latency(insn);
    const { pops, pushes } = linksOf[best.index]!;
    for (const c of pops) c.next++;
    for (const c of pushes) c.times.push(end);
    timings[best.index] = { start: best.start, end, stall: best.start - free[best.q]! };
    free[best.q] = end;
    head[best.q]!++;
  }
}

function deadlock(insns: readonly Insn[], order: number[][], head: number[], linksOf: { pops: Channel[] }[]): HwacError {
  const waits: string[] = [];
  order.forEach((o, q) => {
    if (head[q] === o.length) return;
    const index = o[head[q]!]!;
    const missing = linksOf[index]!.pops.filter((c) => !c.available).map((c) => c.from);
    const why = missing.length ? `a token from ${missing.join(" and ")}` : "the other queues to drain";
    waits.push(`#${index} \`${formatInsn(insns[index]!)}\` (${QUEUES[q]} queue) waits for ${why}`);
  });
  return new HwacError("HW5032", `token deadlock: no queue can proceed; ${waits.join("; ")}`);
}

/** Replays the tokens alone (every instruction one cycle): throws HW5032 if the program deadlocks. */
export function checkTokens(insns: readonly Insn[]): void {
  schedule(insns, { latency: () => 1 });
}
