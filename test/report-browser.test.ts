/**
 * The HTML report in a real browser (headless Chromium through playwright-core): for a CNN, an
 * LSTM and an attention model on each target that compiles them, the page loads nothing, logs
 * nothing, throws nothing, and its charts have visible marks; a screenshot of each goes to
 * test-artifacts/report-<case>.png for review.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium, type BrowserContext, type Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../backends/aimc/config.js";
import { main } from "../src/cli/main.js";
import type { Target } from "../src/program-dir.js";
import { renderReport } from "../src/report-html/index.js";
import { FIXTURES } from "./helpers/fixtures.js";
import { attentionModel, writeProgram, writeTrained } from "./helpers/program-folders.js";
import { tempDir } from "./onnx/proto-builders.js";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = fileURLToPath(new URL("../test-artifacts/", import.meta.url));
const tmp = tempDir();
let browser: BrowserContext | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: .ci/run installs it (apt-get install -y chromium); install it the same way to run the browser tests`);
  }
  browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "hwac-chromium-")), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  tmp.cleanup();
});

const CNN = join(FIXTURES, "trained/digits-cnn");

/** `hwac sweep` on the program: its sweep.json exactly as the command writes it. */
async function sweep(dir: string): Promise<void> {
  const argv = ["sweep", dir, "--inputs", join(CNN, "test_data_set_0"), "--labels", join(CNN, "test_data_set_0/labels.pb"),
    "--times", "1,3600,86400,31536000", "--seeds", "2", "--workers", "1", "--quiet"];
  expect(await main(argv, () => {})).toBe(0);
}

interface Case {
  name: string;
  target: Target;
  build: (dir: string) => string;
  sweep?: boolean;
}

const cases: Case[] = [
  ...(["nna", "aimc"] as const).map((target) => ({ name: `cnn-${target}`, target, build: (dir: string) => writeTrained(dir, "digits-cnn", target), sweep: target === "aimc" })),
  ...(["nna", "aimc"] as const).map((target) => ({ name: `lstm-${target}`, target, build: (dir: string) => writeTrained(dir, "kws-lstm", target) })),
  ...(["nna", "aimc"] as const).map((target) => ({
    name: `attention-${target}`, target, build: (dir: string) => {
      const { model, sets } = attentionModel();
      return writeProgram(dir, model, sets, target);
    },
  })),
  // Small tiles: the layers split into blocks over several tiles.
  { name: "cnn-aimc-64", target: "aimc", build: (dir) => writeTrained(dir, "digits-cnn", "aimc", { aimcConfig: parseConfig({ profile: "standard", tile: { rows: 64, cols: 64 } }) }) },
];

/** Every element's box has a positive width and height. */
async function allVisible(marks: Locator): Promise<number> {
  const n = await marks.count();
  for (let i = 0; i < n; i++) {
    const box = await marks.nth(i).boundingBox();
    expect(box && box.width > 0 && box.height > 0, `mark ${i} has a box`).toBe(true);
  }
  return n;
}

describe("hwac report in Chromium", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const dir = join(tmp.dir, c.name);
      c.build(dir);
      if (c.sweep) await sweep(dir);
      const file = join(dir, "report.html");
      writeFileSync(file, renderReport(dir));
      const url = pathToFileURL(file).href;

      const page = await browser!.newPage();
      const messages: string[] = [];
      page.on("console", (m) => messages.push(`${m.type()}: ${m.text()}`));
      page.on("pageerror", (e) => messages.push(`page error: ${e.message}`));
      page.on("request", (r) => r.url() !== url && messages.push(`request: ${r.url()}`));
      await page.goto(url, { waitUntil: "load" });

      const bars = await allVisible(page.locator("#sqnr rect.bar"));
      expect(bars).toBeGreaterThan(0);
      expect(await page.locator("#sqnr g.row").count()).toBe(await page.locator("#layers tbody tr").count());
      if (c.target === "nna") expect(await allVisible(page.locator("#cycles rect.bar:not(.inner)"))).toBe(await page.locator("#cycles g.row").count());
      if (c.target === "aimc") {
        expect(await allVisible(page.locator("#tiles g.tile rect"))).toBeGreaterThan(0);
        expect(await allVisible(page.locator("#tiles rect.block"))).toBeGreaterThan(0);
        expect(await page.locator("#tiles rect.block title").first().textContent()).toMatch(/ block 0: inputs 0–/);
      }
      if (c.sweep) {
        // Accuracy and agreement, then SQNR, at four times.
        expect(await allVisible(page.locator("#drift circle"))).toBe(12);
        expect(await page.locator("#drift tbody tr").count()).toBe(6);
      }
      await page.screenshot({ path: join(ARTIFACTS, `report-${c.name}.png`), fullPage: true });
      await page.close();
      expect(messages).toEqual([]);
    });
  }
});
