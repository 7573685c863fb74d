/**
 * Einsum: parsing an equation into labelled axes and evaluating it as one loop over every label
 * (output labels outermost, summed labels innermost). Repeated labels within a term (diagonals)
 * read with the sum of their strides; ellipsis axes broadcast right-aligned like NumPy's.
 */
import { strides } from "../tensor.js";

/** Per term, one label per axis; ellipsis axes get labels "…0", "…1", … aligned to the right. */
export interface EinsumPlan {
  readonly inputs: readonly (readonly string[])[];
  readonly output: readonly string[];
}

/** Thrown-message text for a malformed equation; the op wraps it in its error. */
export class EinsumSyntax extends Error {}

function labels(term: string, rank: number | undefined, maxEllipsis: number): string[] {
  const parts = term.split("...");
  if (parts.length > 2) throw new EinsumSyntax(`term '${term}' has more than one ellipsis`);
  const letters = parts.join("");
  if (!/^[a-zA-Z]*$/.test(letters)) throw new EinsumSyntax(`term '${term}' may only hold letters and one ellipsis`);
  if (parts.length === 1) return [...letters];
  const n = rank === undefined ? maxEllipsis : rank - letters.length;
  const ell = Array.from({ length: n }, (_, i) => `…${maxEllipsis - n + i}`);
  return [...parts[0]!, ...ell, ...parts[1]!];
}

/** The plan of `equation` for inputs of `ranks`. */
export function planEinsum(equation: string, ranks: readonly number[]): EinsumPlan {
  const eq = equation.replace(/\s+/g, "");
  const [lhs, rhs, extra] = eq.split("->");
  if (extra !== undefined || lhs === undefined) throw new EinsumSyntax(`equation '${equation}' has more than one '->'`);
  const terms = lhs.split(",");
  if (terms.length !== ranks.length) throw new EinsumSyntax(`equation has ${terms.length} operands, node has ${ranks.length} inputs`);
  const maxEllipsis = Math.max(0, ...terms.map((t, i) => (t.includes("...") ? ranks[i]! - (t.length - 3) : 0)));
  const inputs = terms.map((t, i) => labels(t, ranks[i], maxEllipsis));
  inputs.forEach((l, i) => {
    if (l.length !== ranks[i]) throw new EinsumSyntax(`term '${terms[i]}' has ${l.length} axes, input ${i} has rank ${ranks[i]}`);
  });
  let output: string[];
  if (rhs !== undefined) {
    output = labels(rhs, undefined, maxEllipsis);
    for (const l of output) if (!inputs.some((t) => t.includes(l))) throw new EinsumSyntax(`output label '${l}' appears in no input`);
  } else {
    // Implicit output: ellipsis axes, then the letters used exactly once, alphabetically.
    const count = new Map<string, number>();
    for (const t of inputs) for (const l of t) count.set(l, (count.get(l) ?? 0) + 1);
    const ell = Array.from({ length: maxEllipsis }, (_, i) => `…${i}`);
    output = [...ell, ...[...count].filter(([l, c]) => c === 1 && !l.startsWith("…")).map(([l]) => l).sort()];
  }
  return { inputs, output };
}

/** Size of every label (size-1 ellipsis axes broadcast); undefined when sizes conflict. */
export function labelSizes(plan: EinsumPlan, shapes: readonly (readonly number[])[]): Map<string, number> | undefined {
  const size = new Map<string, number>();
  for (let i = 0; i < shapes.length; i++) {
    for (let k = 0; k < shapes[i]!.length; k++) {
      const l = plan.inputs[i]![k]!;
      const d = shapes[i]![k]!;
      const prev = size.get(l);
      if (prev === undefined || prev === 1) size.set(l, d);
      else if (d !== prev && !(d === 1 && l.startsWith("…"))) return undefined;
    }
  }
  return size;
}

/** Evaluates the plan; `out` (zeroed) has the output labels' sizes. */
export function einsum(plan: EinsumPlan, size: ReadonlyMap<string, number>, data: readonly Float64Array[],
  shapes: readonly (readonly number[])[], out: Float64Array): void {
  const summed = [...size.keys()].filter((l) => !plan.output.includes(l));
  const all = [...plan.output, ...summed];
  const dims = Int32Array.from(all, (l) => size.get(l)!);
  // step[i][a]: how far input i's offset moves when label a advances.
  const step = plan.inputs.map((t, i) => {
    const st = strides(shapes[i]!);
    return Int32Array.from(all, (l) => t.reduce((s, tl, k) => (tl === l && shapes[i]![k] !== 1 ? s + st[k]! : s), 0));
  });
  let inner = 1;
  for (const l of summed) inner *= size.get(l)!;
  const total = dims.reduce((a, b) => a * b, 1);
  const counter = new Int32Array(all.length);
  const off = new Int32Array(data.length);
  for (let it = 0; it < total; it++) {
    let p = 1;
    for (let i = 0; i < data.length; i++) p *= data[i]![off[i]!]!;
    out[(it / inner) | 0]! += p;
    for (let a = all.length - 1; a >= 0; a--) {
      const wrap = ++counter[a]! === dims[a];
      for (let i = 0; i < off.length; i++) off[i]! += wrap ? -(dims[a]! - 1) * step[i]![a]! : step[i]![a]!;
      if (!wrap) break;
      counter[a] = 0;
    }
  }
}
