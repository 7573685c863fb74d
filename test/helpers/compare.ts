import { isFloat } from "../../ir/dtype.js";
import type { Tensor } from "../../ir/tensor.js";

export interface Tolerance {
  rtol: number;
  atol: number;
}

/** Describes how `actual` differs from `expected`, or returns undefined when they agree. */
export function diffTensors(actual: Tensor, expected: Tensor, tol: Tolerance = { rtol: 1e-4, atol: 1e-5 }): string | undefined {
  if (actual.dtype !== expected.dtype) return `dtype ${actual.dtype}, expected ${expected.dtype}`;
  if (actual.shape.join(",") !== expected.shape.join(",")) {
    return `shape [${actual.shape.join(",")}], expected [${expected.shape.join(",")}]`;
  }
  const a = actual.data;
  const e = expected.data;
  const float = isFloat(expected.dtype);
  for (let i = 0; i < e.length; i++) {
    const x = a[i]!;
    const y = e[i]!;
    if (float) {
      const xf = x as number;
      const yf = y as number;
      if (Number.isNaN(yf) ? Number.isNaN(xf) : Math.abs(xf - yf) <= tol.atol + tol.rtol * Math.abs(yf)) continue;
      if (xf === yf) continue;
    } else if (x === y) {
      continue;
    }
    return `element ${i}: got ${String(x)}, expected ${String(y)}`;
  }
  return undefined;
}
