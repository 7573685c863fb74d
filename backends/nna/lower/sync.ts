/**
 * The tokens between steps (docs/nna-isa.md "Queues and dependency tokens", "Double buffering").
 *
 * A lowering emits its work as steps: loads, the compute instructions that use them, and the
 * stores that drain them (context.ts `stages`). In program order the steps are sequential; this
 * module chooses the tokens that let the queues overlap them without changing what any
 * instruction reads. From the instructions' footprints (access.ts) it derives, for each new step:
 *
 * - its loads wait for the compute of the latest earlier step whose compute touches a scratchpad
 *   range the loads write (so a step whose loads fill other buffers than the previous step
 *   computes on — alternate halves of inp and acc, say — loads while that step computes), and for
 *   the stores of the latest earlier step that writes DRAM the loads read (relayed by a compute NOP,
 *   the only path from store to load);
 * - its compute waits for the stores of the latest earlier step whose store reads `out` bytes the
 *   compute writes (so a step writing the other half of `out` computes while the store drains);
 * - within a step, each stage's compute waits for that stage's loads, and the stores for the
 *   step's compute, as before.
 *
 * Every step's last compute instruction pushes a token to the load queue and every step's last
 * store one to the compute queue; tokens are counted in order (FIFOs), so a queue that needs a
 * later certificate than the next token pops several, by NOPs in its own queue. Unpopped tokens
 * are left at the end (FINISH waits for every queue to drain anyway). Ranges are compared as
 * spans (first to last unit touched), which can only order more, never less. hazards.ts checks
 * the result: no two conflicting accesses left unordered.
 */
import { footprints, span, type Space } from "../access.js";
import type { Geometry } from "../config.js";
import { NO_DEPS, type Insn, type Store } from "../isa.js";

/** Sorted, disjoint [start, end) spans per memory. */
type Spans = Map<Space, [number, number][]>;

/** What a step touches, kept while a later step may still need to wait for it. */
interface StepRecord {
  readonly index: number;
  /** Everything its compute instructions read or write. */
  readonly compute: Spans;
  /** The `out` bytes its stores read and the DRAM bytes they write (empty without stores). */
  readonly storeOut: Spans;
  readonly storeDram: Spans;
  readonly stores: boolean;
}

/** A token from compute to load certifies that compute has finished steps ≤ `compute` and knows stores of steps ≤ `store` are done. */
interface LoadToken {
  readonly compute: number;
  readonly store: number;
}

/** Steps a queue may run ahead of at most: older ones are waited for, which bounds the ranges kept. */
const WINDOW = 8;

function spansOf(insns: readonly Insn[], g: Geometry, keep: (space: Space, write: boolean) => boolean): Spans {
  const raw = new Map<Space, [number, number][]>();
  for (const insn of insns) {
    for (const f of footprints(insn, g)) {
      const s = keep(f.space, f.write) ? span(f) : undefined;
      if (!s) continue;
      const list = raw.get(f.space) ?? [];
      list.push(s);
      raw.set(f.space, list);
    }
  }
  for (const [space, list] of raw) {
    list.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const [a, b] of list) {
      const last = merged.at(-1);
      if (last && a <= last[1]) last[1] = Math.max(last[1], b);
      else merged.push([a, b]);
    }
    raw.set(space, merged);
  }
  return raw;
}

function overlaps(a: Spans, b: Spans): boolean {
  for (const [space, xs] of a) {
    const ys = b.get(space);
    if (!ys) continue;
    for (let i = 0, j = 0; i < xs.length && j < ys.length; ) {
      if (xs[i]![1] <= ys[j]![0]) i++;
      else if (ys[j]![1] <= xs[i]![0]) j++;
      else return true;
    }
  }
  return false;
}

export class StepSync {
  private readonly records: StepRecord[] = [];
  private steps = 0;
  /** Compute → load tokens pushed so far, and how many the load queue has popped. */
  private readonly loadTokens: LoadToken[] = [];
  private loadPopped = 0;
  /** What the load queue knows from the tokens it popped. */
  private loadSees: LoadToken = { compute: -1, store: -1 };
  /** Store → compute tokens pushed so far (each names its step), and how many compute has popped. */
  private readonly storeTokens: number[] = [];
  private storePopped = 0;
  private computeSeesStore = -1;
  /** Whether the last step stored its results (true before the first step). */
  private lastStored = true;

  constructor(
    private readonly geo: Geometry,
    private readonly emit: (insn: Insn) => void,
  ) {}

  /** A program must not end with a step whose results stay in the scratchpads. */
  get endsWithStore(): boolean {
    return this.lastStored;
  }

  /** Emits one step: `stages` of loads and the compute that waits for them, then `stores`. */
  step(stages: readonly { loads: readonly Insn[]; compute: readonly Insn[] }[], stores: readonly Store[], layer: number): void {
    const g = this.geo;
    const index = this.steps++;
    const loads = stages.flatMap((s) => s.loads);
    const compute = stages.flatMap((s) => s.compute);
    const loadWrites = spansOf(loads, g, (space, write) => write && space !== "dram");
    const loadReads = spansOf(loads, g, (space, write) => !write && space === "dram");
    const record: StepRecord = {
      index,
      compute: spansOf(compute, g, () => true),
      storeOut: spansOf(stores, g, (space) => space === "out"),
      storeDram: spansOf(stores, g, (space) => space === "dram"),
      stores: stores.length > 0,
    };

    // What the loads wait for.
    const oldest = index - WINDOW;
    let needCompute = Math.max(-1, oldest);
    let needStore = this.lastStoreAtOrBefore(oldest);
    for (const r of this.records) {
      if (r.index > this.loadSees.compute && overlaps(loadWrites, r.compute)) needCompute = Math.max(needCompute, r.index);
      if (r.stores && r.index > this.loadSees.store && overlaps(loadReads, r.storeDram)) needStore = Math.max(needStore, r.index);
    }
    if (needStore > this.loadSees.store && !this.loadTokens.slice(this.loadPopped).some((t) => t.store >= needStore)) {
      // Relay: compute waits for the stores (unless it already knows), then tells the load queue.
      const pops = this.popStores(needStore);
      for (let k = 0; k < Math.max(pops, 1); k++) this.emit({ op: "nop", queue: "compute", layer, deps: { ...NO_DEPS, popNext: k < pops, pushPrev: k === Math.max(pops, 1) - 1 } });
      this.loadTokens.push({ compute: index - 1, store: this.computeSeesStore });
    }
    const loadPops = this.popLoads((t) => t.compute >= needCompute && t.store >= needStore);
    for (let k = 0; k < loadPops - 1; k++) this.emit({ op: "nop", queue: "load", layer, deps: { ...NO_DEPS, popNext: true } });

    // What the compute waits for: stores still reading the `out` bytes it writes.
    const outWrites = spansOf(compute, g, (space, write) => write && space === "out");
    let needOut = this.lastStoreAtOrBefore(oldest);
    for (const r of this.records) if (r.stores && r.index > this.computeSeesStore && overlaps(outWrites, r.storeOut)) needOut = Math.max(needOut, r.index);
    const outPops = this.popStores(needOut);
    for (let k = 0; k < outPops - 1; k++) this.emit({ op: "nop", queue: "compute", layer, deps: { ...NO_DEPS, popNext: true } });

    stages.forEach(({ loads: ls, compute: cs }, k) => {
      ls.forEach((l, i) => this.emit({ ...l, deps: { ...l.deps, popNext: k === 0 && i === 0 && loadPops > 0, pushNext: i === ls.length - 1 } }));
      cs.forEach((c, i) => {
        const last = k === stages.length - 1 && i === cs.length - 1;
        this.emit({ ...c, deps: { ...c.deps, popPrev: i === 0, popNext: k === 0 && i === 0 && outPops > 0, pushPrev: last, pushNext: last && stores.length > 0 } });
      });
    });
    this.loadTokens.push({ compute: index, store: this.computeSeesStore });
    stores.forEach((st, i) => this.emit({ ...st, deps: { ...st.deps, popPrev: i === 0, pushPrev: i === stores.length - 1 } }));
    if (stores.length > 0) this.storeTokens.push(index);
    this.lastStored = stores.length > 0;

    this.records.push(record);
    const settled = Math.min(this.loadSees.compute, this.loadSees.store, this.computeSeesStore, index - WINDOW);
    while (this.records.length > 0 && this.records[0]!.index <= settled) this.records.shift();
  }

  /** The latest step ≤ `at` that stored (−1 for none). */
  private lastStoreAtOrBefore(at: number): number {
    for (let i = this.storeTokens.length - 1; i >= 0; i--) if (this.storeTokens[i]! <= at) return this.storeTokens[i]!;
    return -1;
  }

  /** Pops compute → load tokens (counted; the caller emits the pops) until `ok` holds for what the load queue knows. */
  private popLoads(ok: (t: LoadToken) => boolean): number {
    if (ok(this.loadSees)) return 0;
    for (let i = this.loadPopped; i < this.loadTokens.length; i++) {
      if (!ok(this.loadTokens[i]!)) continue;
      const pops = i - this.loadPopped + 1;
      this.loadPopped = i + 1;
      this.loadSees = this.loadTokens[i]!;
      return pops;
    }
    throw new Error("no compute token certifies what the loads wait for");
  }

  /** Pops store → compute tokens (counted; the caller emits the pops) until compute knows step `upTo`'s stores are done. */
  private popStores(upTo: number): number {
    let pops = 0;
    while (this.computeSeesStore < upTo) {
      if (this.storePopped === this.storeTokens.length) throw new Error(`no store token certifies step ${upTo}`);
      this.computeSeesStore = this.storeTokens[this.storePopped++]!;
      pops++;
    }
    return pops;
  }
}
