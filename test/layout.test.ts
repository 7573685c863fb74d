/**
 * Imports flow one way, src → backends → ir: the IR (the living spec) depends on nothing else,
 * and backends never reach into the compiler front end. Nothing imports the tests.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Top-level folders a file's relative imports reach. */
function reaches(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/from\s+"(\.[^"]+)"/g)].map((m) => m[1]!);
  return specs.map((s) => relative(ROOT, resolve(file, "..", s)).split(/[\\/]/)[0]!);
}

const ALLOWED: Record<string, string[]> = { ir: ["ir"], backends: ["backends", "ir"], src: ["src", "backends", "ir"] };

describe("import direction", () => {
  for (const [top, allowed] of Object.entries(ALLOWED)) {
    it(`${top}/ imports only ${allowed.join(", ")}`, () => {
      const bad = sources(join(ROOT, top)).flatMap((f) =>
        reaches(f).filter((t) => !allowed.includes(t)).map((t) => `${relative(ROOT, f)} → ${t}/`),
      );
      expect(bad).toEqual([]);
    });
  }
});
