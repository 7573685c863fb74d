/**
 * Test-runner helpers: `import { expectGolden } from "hwac/testing"` checks a golden case (a
 * folder with case.json and recorded expected/ results, see `hwac golden`) from any test runner.
 *
 *   it("keeps the compiled outputs", () => {
 *     expectGolden("golden/kws");
 *   });
 */
import { checkCase, formatChecks, readSuite, type CaseCheck } from "./golden.js";

export { checkCase, readSuite, recordCase, type CaseCheck, type CaseSpec, type GoldenCase } from "./golden.js";

/** Throws an Error with the readable diff when any case of the suite moved; returns the checks otherwise. */
export function expectGolden(suite: string): CaseCheck[] {
  const checks = readSuite(suite).flatMap(checkCase);
  if (checks.some((k) => k.problems.length > 0)) throw new Error(`golden check failed:\n${formatChecks(checks)}`);
  return checks;
}
