import { readdirSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES } from "./fixtures.js";

/** The bundled real and trained models: `{ group, name, dir }`. */
export function fixtureModels(): { group: string; name: string; dir: string }[] {
  const out: { group: string; name: string; dir: string }[] = [];
  for (const group of ["real", "trained"]) {
    const root = join(FIXTURES, group);
    for (const name of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
      out.push({ group, name, dir: join(root, name) });
    }
  }
  return out;
}

/** Largest |actual − expected| relative to the range of `expected` (max − min, or max |x| when constant). */
export function relRangeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let lo = Infinity;
  let hi = -Infinity;
  let maxAbs = 0;
  let err = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    lo = Math.min(lo, e);
    hi = Math.max(hi, e);
    maxAbs = Math.max(maxAbs, Math.abs(e));
    err = Math.max(err, Math.abs(actual[i]! - e));
  }
  const range = hi - lo > 0 ? hi - lo : maxAbs || 1;
  return err / range;
}
