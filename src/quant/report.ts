/**
 * How far a quantized model drifts from its float original: per-layer and per-output SQNR,
 * top-1 agreement and, with labels, task accuracy (SPEC.md §5).
 */
import type { Model } from "../../ir/graph.js";
import { runModel, runQuantized } from "../../ir/interpret.js";
import { numel, toFloat64, type Tensor } from "../../ir/tensor.js";

/** Running Σx² and Σ(x − x̂)² of an SQNR measured over several tensors. */
export class SqnrAccumulator {
  signal = 0;
  noise = 0;

  add(ref: ArrayLike<number>, test: ArrayLike<number>): void {
    for (let i = 0; i < ref.length; i++) {
      const x = ref[i]!;
      const d = x - test[i]!;
      this.signal += x * x;
      this.noise += d * d;
    }
  }

  /** 10·log10(Σx² / Σ(x − x̂)²) in dB; Infinity when equal. */
  get db(): number {
    return this.noise === 0 ? Infinity : 10 * Math.log10(this.signal / this.noise);
  }
}

export function sqnr(ref: ArrayLike<number>, test: ArrayLike<number>): number {
  const a = new SqnrAccumulator();
  a.add(ref, test);
  return a.db;
}

/** Real values of a quantized tensor: scale·(q − zeroPoint), per tensor or per axis. */
export function dequantize(t: Tensor, scale: Float32Array, zeroPoint: Int32Array, axis?: number): Float64Array {
  const q = toFloat64(t);
  const out = new Float64Array(q.length);
  if (scale.length === 1) {
    for (let i = 0; i < q.length; i++) out[i] = scale[0]! * (q[i]! - zeroPoint[0]!);
    return out;
  }
  const inner = numel(t.shape.slice((axis ?? 0) + 1));
  const n = t.shape[axis ?? 0]!;
  for (let i = 0; i < q.length; i++) {
    const c = Math.floor(i / inner) % n;
    out[i] = scale[c]! * (q[i]! - zeroPoint[c]!);
  }
  return out;
}

function argmaxRows(t: Tensor): number[] {
  const x = toFloat64(t);
  const cols = t.shape[t.shape.length - 1] ?? 1;
  const rows = x.length / cols;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (x[r * cols + c]! > x[r * cols + best]!) best = c;
    out.push(best);
  }
  return out;
}

/**
 * The float value a quantized value's codes stand for, when not its own: another value (a fused
 * clamp's output), and/or the value clipped to `clip` (beyond it, its reader's output is the same).
 */
export interface Reference {
  value: string;
  clip?: { min: number; max: number };
}

export interface Comparison {
  /** Per quantized layer output: SQNR in dB over all evaluation sets. */
  layers: { value: string; sqnrDb: number }[];
  outputs: { name: string; sqnrDb: number; top1Agreement: number }[];
  /** Task accuracy of the float and the quantized model when labels were given. */
  accuracy?: { float: number; quantized: number; n: number };
}

/**
 * Runs the float and the quantized model over `sets` and compares every quantized value with its
 * float original. `labels[k]` are the class labels of set k (argmax of the first output).
 */
export function compareModels(
  floatModel: Model,
  quantModel: Model,
  quantizedValues: ReadonlyMap<string, string>,
  sets: readonly ReadonlyMap<string, Tensor>[],
  labels?: readonly (readonly number[])[],
  /** What to compare a quantized value with, when not its own float value (`QuantizeResult.fusedClamps`). */
  reference: ReadonlyMap<string, Reference> = new Map(),
): Comparison {
  const layerAcc = new Map<string, SqnrAccumulator>();
  const outAcc = new Map<string, { sqnr: SqnrAccumulator; agree: number; rows: number }>();
  let correctF = 0;
  let correctQ = 0;
  let n = 0;
  sets.forEach((feeds, k) => {
    const f = runModel(floatModel, feeds, { keepAll: true });
    const q = runQuantized(quantModel, feeds, { keepAll: true });
    for (const [orig, qname] of quantizedValues) {
      const ref = reference.get(orig);
      const ft = f.get(ref?.value ?? orig);
      const qt = q.get(qname);
      const type = quantModel.graph.valueTypes.get(qname);
      if (!ft || !qt || !type?.quant) continue;
      const deq = dequantize(qt, type.quant.scale, type.quant.zeroPoint, type.quant.axis);
      const acc = layerAcc.get(orig) ?? new SqnrAccumulator();
      const want = toFloat64(ft);
      if (ref?.clip) for (let i = 0; i < want.length; i++) want[i] = Math.min(ref.clip.max, Math.max(ref.clip.min, want[i]!));
      acc.add(want, deq);
      layerAcc.set(orig, acc);
    }
    floatModel.graph.outputs.forEach((o, i) => {
      const ft = f.get(o.name)!;
      const qt = q.get(o.name)!;
      const acc = outAcc.get(o.name) ?? { sqnr: new SqnrAccumulator(), agree: 0, rows: 0 };
      acc.sqnr.add(toFloat64(ft), toFloat64(qt));
      const a = argmaxRows(ft);
      const b = argmaxRows(qt);
      acc.agree += a.filter((v, r) => v === b[r]).length;
      acc.rows += a.length;
      outAcc.set(o.name, acc);
      if (i === 0 && labels?.[k]) {
        const lab = labels[k]!;
        correctF += a.filter((v, r) => v === lab[r]).length;
        correctQ += b.filter((v, r) => v === lab[r]).length;
        n += lab.length;
      }
    });
  });
  return {
    layers: [...layerAcc].map(([value, a]) => ({ value, sqnrDb: a.db })),
    outputs: [...outAcc].map(([name, a]) => ({ name, sqnrDb: a.sqnr.db, top1Agreement: a.agree / a.rows })),
    accuracy: labels ? { float: correctF / n, quantized: correctQ / n, n } : undefined,
  };
}

/** dB to two decimals for a JSON report; ±inf as strings; NaN (a value folded into a constant, never compared) as null. */
export function reportDb(x: number): number | string | null {
  return Number.isNaN(x) ? null : Number.isFinite(x) ? Math.round(x * 100) / 100 : x > 0 ? "inf" : "-inf";
}

/** The per-layer rows of a report: each quantized layer's scheme and its output's SQNR against float. */
export function layerRows(
  layers: readonly { node: string; op: string; weightBits?: number; actBits: number; clipped?: number }[],
  floatModel: Model,
  cmp: Comparison,
) {
  const sqnrOf = new Map(cmp.layers.map((l) => [l.value, l.sqnrDb]));
  const outputOf = new Map(floatModel.graph.nodes.map((n) => [n.name, n.outputs[0] ?? ""]));
  return layers.map((l) => ({
    node: l.node,
    op: l.op,
    weightBits: l.weightBits ?? null,
    actBits: l.actBits,
    sqnrDb: reportDb(sqnrOf.get(outputOf.get(l.node) ?? "") ?? NaN),
    clipped: l.clipped ?? null,
  }));
}
