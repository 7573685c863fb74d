/**
 * ONNX operator conformance: every test in fixtures/onnx-node whose ops hwac implements runs
 * through the float reference interpreter and must reproduce ONNX's expected outputs (rtol 1e-4,
 * atol 1e-5 for floats, exact otherwise). Tests hwac knowingly fails are listed, with the reason,
 * in conformance/known-failures.txt, and must actually fail, so the list cannot go stale.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Graph, Model } from "../ir/graph.js";
import { runModel } from "../ir/interpret.js";
import { findOp } from "../ir/ops/index.js";
import { loadModel } from "../src/onnx/load.js";
import { diffTensors } from "./helpers/compare.js";
import { dataSets, FIXTURES } from "./helpers/fixtures.js";

const ROOT = join(FIXTURES, "onnx-node");
const MIN_CASES = 489;
const knownFailures = new Map(
  readFileSync(new URL("./conformance/known-failures.txt", import.meta.url), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const [name, ...why] = l.split(/\s+#\s*/);
      return [name!.trim(), why.join(" ")] as const;
    }),
);

function opsOf(g: Graph, out = new Set<string>()): Set<string> {
  for (const n of g.nodes) {
    out.add(`${n.domain}::${n.op}`);
    for (const a of Object.values(n.attrs)) {
      if (a.kind === "graph") opsOf(a.value, out);
      if (a.kind === "graphs") a.value.forEach((s) => opsOf(s, out));
    }
  }
  return out;
}

function implemented(m: Model): boolean {
  for (const key of opsOf(m.graph)) {
    const [domain, op] = key.split("::") as [string, string];
    if (!findOp(domain, op)) return false;
  }
  return true;
}

/** Runs one conformance case; returns the first mismatch, or undefined when all outputs agree. */
function runCase(dir: string, model: Model): string | undefined {
  for (const ds of dataSets(dir)) {
    const feeds = new Map(ds.inputs.map((inp, i) => [model.graph.inputs[i]!.name, inp.tensor]));
    const got = runModel(model, feeds);
    for (let i = 0; i < ds.outputs.length; i++) {
      const name = model.graph.outputs[i]!.name;
      const d = diffTensors(got.get(name)!, ds.outputs[i]!.tensor);
      if (d) return `${ds.dir} output '${name}': ${d}`;
    }
  }
  return undefined;
}

interface Case {
  name: string;
  dir: string;
  model: Model;
}

const cases: Case[] = [];
for (const name of readdirSync(ROOT).sort()) {
  const dir = join(ROOT, name);
  let model: Model;
  try {
    model = loadModel(join(dir, "model.onnx"));
  } catch {
    continue; // element types hwac does not support (float8, int2, …); the loader's tests cover the error
  }
  if (implemented(model)) cases.push({ name, dir, model });
}

describe("ONNX conformance", () => {
  it("runs every test of a supported op (the curated copy holds no others)", () => {
    // A loader or registry regression would silently shrink the suite; the count pins it.
    expect(cases.length).toBeGreaterThanOrEqual(MIN_CASES);
  });

  for (const c of cases) {
    const why = knownFailures.get(c.name);
    if (why === undefined) {
      it(c.name, () => {
        let mismatch: string | undefined;
        try {
          mismatch = runCase(c.dir, c.model);
        } catch (e) {
          mismatch = `threw ${(e as Error).message}`;
        }
        expect(mismatch).toBeUndefined();
      });
    } else {
      it(`${c.name} fails as known (${why})`, () => {
        let mismatch: string | undefined;
        try {
          mismatch = runCase(c.dir, c.model);
        } catch (e) {
          mismatch = `threw ${(e as Error).message}`;
        }
        expect(mismatch, "now passes: remove it from known-failures.txt").toBeDefined();
      });
    }
  }
});
