/** `.hir` text mutations through parseModel, then verify and run: every mutant ends in a result or a HwacError. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HwacError } from "../../ir/errors.js";
import { parseModel } from "../../ir/text/index.js";
import { fuzzParams, StageCount } from "./config.js";
import { verifyAndRun } from "./pipeline.js";
import { HIR_SEEDS } from "./seeds.js";

const TEXTS = HIR_SEEDS.map((s) => new TextDecoder().decode(s.bytes));

/** Fragments that are tokens of the format or break its numbers, shapes and strings. */
const FRAGMENTS = ["%", "[", "]", "{", "}", "=", ",", "(", ")", '"', "b64\"", "-", "99999999999", "1e400", "f32", "i64", "?", "0", "-1", "@", "\n", "//"];

const textMutation = fc.record({
  op: fc.constantFrom("delete", "dupLine", "swapLines", "insert", "number"),
  pos: fc.double({ min: 0, max: 1, noNaN: true }),
  pos2: fc.double({ min: 0, max: 1, noNaN: true }),
  len: fc.integer({ min: 1, max: 12 }),
  frag: fc.constantFrom(...FRAGMENTS),
});
type TextMutation = typeof textMutation extends fc.Arbitrary<infer T> ? T : never;

function mutateText(text: string, m: TextMutation): string {
  const at = Math.floor(m.pos * text.length);
  const lines = text.split("\n");
  const li = Math.floor(m.pos * lines.length);
  const lj = Math.floor(m.pos2 * lines.length);
  switch (m.op) {
    case "delete":
      return text.slice(0, at) + text.slice(at + m.len);
    case "dupLine":
      return [...lines.slice(0, lj), lines[li]!, ...lines.slice(lj)].join("\n");
    case "swapLines":
      [lines[li], lines[lj]] = [lines[lj]!, lines[li]!];
      return lines.join("\n");
    case "insert":
      return text.slice(0, at) + m.frag + text.slice(at);
    case "number": {
      // Replace the k-th number (k from pos2) with a fragment: shapes, attributes and constants alike.
      const nums = [...text.matchAll(/-?\d+(\.\d+)?/g)];
      const hit = nums[Math.floor(m.pos2 * nums.length)];
      return hit ? text.slice(0, hit.index) + m.frag + text.slice(hit.index + hit[0].length) : text;
    }
  }
}

describe(".hir text mutation", () => {
  it("1000 mutated texts end in a result or a HwacError", () => {
    const stages = new StageCount();
    fc.assert(
      fc.property(fc.nat(TEXTS.length - 1), fc.array(textMutation, { minLength: 1, maxLength: 3 }), (i, muts) => {
        const text = muts.reduce(mutateText, TEXTS[i]!);
        let model;
        try {
          model = parseModel(text, "fuzz.hir");
        } catch (e) {
          if (!(e instanceof HwacError)) throw e;
          stages.add("parse-error");
          return;
        }
        stages.add(verifyAndRun(model, i).stage);
      }),
      fuzzParams(1000, 0x41e),
    );
    expect(stages.get("parse-error")).toBeGreaterThan(50);
    expect(stages.get("verify-error") + stages.get("verified") + stages.get("ran")).toBeGreaterThan(50);
  });
});
