/**
 * A user's regression test of a compiled model in three lines: `expectGolden` recompiles and
 * re-simulates every case of the suite and throws a readable diff (output, element, the first
 * layer whose codes changed, SQNR and cycle deltas) when anything moved. Record the expected
 * results once with `npx hwac golden record <suite>`; accept a change with `--update`.
 */
import { it } from "vitest";
import { expectGolden } from "hwac/testing";

it("the compiled digits classifier keeps its outputs", () => {
  expectGolden(new URL("../../fixtures/golden/digits-cnn", import.meta.url).pathname);
});
