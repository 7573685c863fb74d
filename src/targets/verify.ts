/** Comparing a backend's results with the integer reference, element by element. */
import type { Tensor } from "../../ir/tensor.js";
import { shapeStr } from "../../ir/tensor.js";

/** Where a program first differs from the reference. */
export interface Difference {
  /** Which item of the inputs (batches run item by item). */
  item: number;
  /** The program output that differs. */
  output: string;
  /** The first value (in graph order) that differs, and the node computing it. */
  value: string;
  layer?: string;
  /** Flat index into the value, its multi-index, and the two codes. */
  element: number;
  index: number[];
  got: number;
  want: number;
  /** Further detail from the target (e.g. the AIMC tile holding the element). */
  detail?: string;
}

/** The first element where `got` differs from `want` (shapes must match), or undefined. */
export function firstDifference(got: Tensor, want: Tensor): Pick<Difference, "element" | "index" | "got" | "want"> | undefined {
  if (shapeStr(got.shape) !== shapeStr(want.shape)) return { element: -1, index: [], got: NaN, want: NaN };
  const a = got.data as ArrayLike<number>;
  const b = want.data as ArrayLike<number>;
  for (let i = 0; i < b.length; i++) {
    if (a[i] !== b[i]) return { element: i, index: unravel(i, want.shape), got: Number(a[i]), want: Number(b[i]) };
  }
  return undefined;
}

function unravel(i: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return out;
}

export function formatDifference(d: Difference): string {
  const where = d.layer ? `layer '${d.layer}' (value '${d.value}')` : `value '${d.value}'`;
  if (d.element < 0) return `item ${d.item}: ${where} has another shape than the reference's`;
  return `item ${d.item}: ${where} first differs at element ${d.element} [${d.index.join(", ")}]: program ${d.got}, reference ${d.want}` +
    (d.detail ? ` (${d.detail})` : "") + `; output '${d.output}' is affected`;
}
