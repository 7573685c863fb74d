/**
 * The HTML report of a program folder: its sections, numbers and charts against the folder's own
 * report.json, mapping.json and sweep.json, escaping of names, determinism, and refused folders.
 */
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig } from "../backends/aimc/config.js";
import { HwacError } from "../ir/errors.js";
import { renderReport } from "../src/report-html/index.js";
import { barChart, lineChart, niceTicks } from "../src/report-html/svg.js";
import { attentionModel, writeProgram, writeTrained } from "./helpers/program-folders.js";
import { tempDir } from "./onnx/proto-builders.js";

const tmp = tempDir();
afterAll(tmp.cleanup);

const json = (dir: string, file: string) => JSON.parse(readFileSync(join(dir, file), "utf8"));
const sections = (html: string) => [...html.matchAll(/<section id="(\w+)">/g)].map((m) => m[1]);
const en = (n: number) => n.toLocaleString("en-US");
/** The attributes of every `<tag class="cls"…>` in `svg`, as numbers where they are. */
function marks(svg: string, tag: string, cls: string): Record<string, string>[] {
  return [...svg.matchAll(new RegExp(`<${tag} class="${cls}"([^>]*)>`, "g"))].map((m) =>
    Object.fromEntries([...m[1]!.matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])));
}
const chart = (html: string, id: string) => html.slice(html.indexOf(`<section id="${id}">`), html.indexOf("</section>", html.indexOf(`<section id="${id}">`)));

const mlpNna = writeTrained(join(tmp.dir, "mlp-nna"), "digits-mlp", "nna");
// 64×64 tiles spread digits-cnn over several tiles (its Gemm alone needs 8 row blocks).
const cnnAimc = writeTrained(join(tmp.dir, "cnn-aimc"), "digits-cnn", "aimc", { aimcConfig: parseConfig({ profile: "standard", tile: { rows: 64, cols: 64 } }) });

describe("renderReport on an nna program", () => {
  const html = renderReport(mlpNna);
  const r = json(mlpNna, "report.json");

  it("has the header, summary, SQNR and cycle charts and the layer table", () => {
    expect(sections(html)).toEqual(["summary", "sqnr", "cycles", "layers"]);
    expect(html).toContain("<h1>mlp-nna</h1>");
    expect(html).toContain("inputs x: [1,64]");
    expect(html).toContain(`<div class="v">${en(r.nna.cycles)}</div>`);
    expect(html).toContain(`${(r.accuracy.float * 100).toFixed(2)}% → ${(r.accuracy.quantized * 100).toFixed(2)}%`);
    expect(html).toContain(`${r.outputs[0].sqnrDb.toFixed(2)} dB`);
    expect(html).toContain(`read ${en(r.nna.dramRead)} B · written ${en(r.nna.dramWritten)} B`);
    const rows = chart(html, "layers").split("<tr>").slice(2);
    expect(rows.map((row) => /<td class="name">([^<]*)/.exec(row)![1])).toEqual(r.quantization.map((q: { node: string }) => q.node));
    for (const l of r.nna.layers) expect(rows.find((row) => row.includes(`>${l.name}<`))).toContain(`<td class="num">${en(l.cycles)}</td>`);
  });

  it("draws SQNR bars in proportion to the layers' SQNR", () => {
    const bars = marks(chart(html, "sqnr"), "rect", "bar");
    expect(bars).toHaveLength(r.quantization.length);
    const w = bars.map((b) => Number(b["width"]));
    r.quantization.forEach((q: { sqnrDb: number }, i: number) => expect(w[i]! / w[0]!).toBeCloseTo(q.sqnrDb / r.quantization[0].sqnrDb, 2));
  });

  it("draws each layer's MAC-bound cycles inside its modelled cycles", () => {
    const svg = chart(html, "cycles");
    const [outer, inner] = [marks(svg, "rect", "bar"), marks(svg, "rect", "bar inner")];
    expect([outer.length, inner.length]).toEqual([r.nna.layers.length, r.nna.layers.length]);
    r.nna.layers.forEach((l: { cycles: number; idealCycles: number }, i: number) =>
      expect(Number(inner[i]!["width"]) / Number(outer[i]!["width"])).toBeCloseTo(l.idealCycles / l.cycles, 2));
  });
});

describe("renderReport on an aimc program", () => {
  const html = renderReport(cnnAimc);
  const m = json(cnnAimc, "mapping.json");
  const blocks = m.layers.flatMap((l: { name: string; blocks: object[] }) => l.blocks.map((b) => ({ ...b, layer: l.name })));

  it("draws every tile and every block of mapping.json, to scale", () => {
    expect(sections(html)).toEqual(["summary", "sqnr", "tiles", "layers"]);
    expect(m.tiles).toBeGreaterThan(2);
    expect(html.match(/<g class="tile">/g)).toHaveLength(m.tiles);
    const rects = [...chart(html, "tiles").matchAll(/<rect class="block" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="[^"]+"><title>([^<]*)</g)];
    expect(rects).toHaveLength(blocks.length);
    const scale = Number(/<g class="tile">.*?<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"/.exec(html)![1]) / m.tile.cols;
    blocks.forEach((b: { layer: string; index: number; tile: number; row: number; col: number; inCount: number; outCount: number }, i: number) => {
      const [, , , width, height, title] = rects[i]!;
      expect(title).toContain(`${b.layer} block ${b.index}: `);
      expect(title).toContain(`at tile ${b.tile}, rows ${b.row}–${b.row + b.inCount - 1}, columns ${b.col}–${b.col + b.outCount - 1}`);
      // Coordinates are rounded to 0.1 px.
      expect(Math.abs(Number(width) - Math.max(1.5, b.outCount * scale))).toBeLessThanOrEqual(0.051);
      expect(Math.abs(Number(height) - Math.max(1.5, b.inCount * scale))).toBeLessThanOrEqual(0.051);
    });
  });

  it("summarizes tiles against the lower bound and says where each layer sits", () => {
    expect(html).toContain(`<div class="v">${m.stats.tilesUsed} (bound ${m.stats.lowerBound})</div>`);
    expect(html).toContain(`${en(m.stats.mappedCells)} of ${en(m.stats.availableCells)} cells`);
    const gemm = m.layers.find((l: { name: string }) => l.name === "/8/Gemm");
    expect(gemm.blocks).toHaveLength(8);
    const tiles = [...new Set(gemm.blocks.map((b: { tile: number }) => b.tile))].join(", ");
    expect(html).toContain(`<td class="num">512×10</td><td>8 blocks on tile ${tiles}</td>`);
  });

  it("adds the drift charts and table when sweep.json is present", () => {
    const dir = join(tmp.dir, "cnn-sweep");
    cpSync(cnnAimc, dir, { recursive: true });
    const ms = (mean: number | string, std = 0) => ({ mean, std });
    const point = (t: number | string, acc: number, agree: number, db: number | string, seeds: number) =>
      ({ t, sqnrDb: ms(db, 0.5), accuracy: ms(acc, 0.01), top1Agreement: ms(agree, 0.002), seeds });
    const points = [point("float", 0.985, 1, "inf", 0), point("exact", 0.985, 1, 32, 1), point(1, 0.98, 0.99, 19, 2), point(3600, 0.97, 0.98, 18, 2), point(86400, 0.96, 0.97, 17, 2)];
    points[0]!.accuracy.std = points[1]!.accuracy.std = 0;
    writeFileSync(join(dir, "sweep.json"), JSON.stringify(points));
    const html = renderReport(dir);
    expect(sections(html)).toEqual(["summary", "sqnr", "tiles", "drift", "layers"]);
    const drift = chart(html, "drift");
    expect(drift.split("<tr>").length - 2).toBe(points.length);
    expect(drift).toContain("<td>noise-free chip</td><td class=\"num\">1</td><td class=\"num\">98.50 ± 0.00%</td>");
    expect(drift).toContain("<td>1 h</td><td class=\"num\">2</td><td class=\"num\">97.00 ± 1.00%</td><td class=\"num\">98.00 ± 0.20%</td><td class=\"num\">18.00 ± 0.50 dB</td>");
    expect(drift).toContain(">float = noise-free</text>");
    // Accuracy, agreement and SQNR at three times; on the log axis 1 s → 1 h → 1 day spans log10(3600) : log10(24).
    const cx = [...drift.matchAll(/<circle cx="([\d.]+)"/g)].map((c) => Number(c[1]));
    expect(cx).toHaveLength(9);
    expect((cx[1]! - cx[0]!) / (cx[2]! - cx[1]!)).toBeCloseTo(Math.log10(3600) / Math.log10(24), 2);

    writeFileSync(join(dir, "sweep.json"), JSON.stringify(points.map(({ accuracy: _, ...p }) => p)));
    const plain = chart(renderReport(dir), "drift");
    expect(plain).not.toContain("accuracy</th>");
    expect(plain.match(/<circle /g)).toHaveLength(6);
  });
});

describe("renderReport on any folder", () => {
  it("escapes model and folder names", () => {
    const { model, sets } = attentionModel(`<b>&"q"'`);
    const dir = writeProgram(join(tmp.dir, `a<&>"'`), model, sets, "aimc");
    const html = renderReport(dir);
    expect(html).toContain("<h1>a&lt;&amp;&gt;&quot;&#39;</h1>");
    expect(html).toContain("&lt;b&gt;&amp;&quot;q&quot;&#39;q_proj");
    const tags = new Set([...html.matchAll(/<\/?([a-z!][\w-]*)/gi)].map((m) => m[1]!.toLowerCase()));
    const allowed = "!doctype html head meta title style body header h1 div ul li main section h2 p figure figcaption svg g text line rect polyline circle table thead tbody tr th td span i footer";
    expect([...tags].filter((t) => !allowed.split(" ").includes(t))).toEqual([]);
  });

  it("is the same for the same program, wherever it was compiled", () => {
    const again = writeTrained(join(tmp.dir, "other", "mlp-nna"), "digits-mlp", "nna");
    expect(renderReport(again)).toBe(renderReport(mlpNna));
  });

  it("refuses a folder that is not a program or whose report.json is broken", () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof HwacError ? `${e.code} ${e.message}` : String(e);
      }
      return "no error";
    };
    expect(code(() => renderReport(join(tmp.dir, "missing")))).toMatch(/^HW6021 program folder .* does not exist/);
    const dir = join(tmp.dir, "broken");
    cpSync(mlpNna, dir, { recursive: true });
    writeFileSync(join(dir, "report.json"), "{");
    expect(code(() => renderReport(dir))).toMatch(/^HW6021 report\.json is not JSON/);
    writeFileSync(join(dir, "report.json"), JSON.stringify({ ...json(mlpNna, "report.json"), target: "aimc" }));
    expect(code(() => renderReport(dir))).toBe("HW6021 report.json is not an nna report as program.json says");
    writeFileSync(join(dir, "report.json"), JSON.stringify({ ...json(mlpNna, "report.json"), outputs: [{ name: "y", sqnrDb: "loud" }] }));
    expect(code(() => renderReport(dir))).toMatch(/^HW6021 report\.json outputs\.0\.sqnrDb: /);
  });
});

describe("report charts", () => {
  it("ticks at 1, 2 or 5 × 10^k covering the range", () => {
    expect(niceTicks(0, 47.79, 4)).toEqual([0, 20, 40, 60]);
    expect(niceTicks(98, 100, 5)).toEqual([98, 98.5, 99, 99.5, 100]);
    expect(niceTicks(0, 614, 4)).toEqual([0, 200, 400, 600, 800]);
  });

  it("bars: length in proportion, a full muted bar for infinity, none for NaN", () => {
    const svg = barChart([
      { label: "a", value: 10, text: "", title: "" },
      { label: "b", value: 40, text: "", title: "" },
      { label: "c", value: Infinity, text: "", title: "" },
      { label: "d", value: NaN, text: "", title: "" },
    ], { label: "t" });
    const w = [...svg.matchAll(/<rect class="(bar[^"]*)" x="[\d.]+" y="[\d.]+" width="([\d.]+)"/g)].map((m) => [m[1], Number(m[2])]);
    // Axis 0–40 over the 400 px between the labels and the value texts.
    expect(w).toEqual([["bar", 100], ["bar", 400], ["bar inf", 400]]);
    expect(svg.match(/<g class="row">/g)).toHaveLength(4);
  });

  it("line chart: decades equally spaced, error bars of ±err", () => {
    const pts = [1, 10, 100].map((x, i) => ({ x, y: 10 * i, err: 2, title: "" }));
    const svg = lineChart([{ name: "s", points: pts }], [{ name: "r", y: 25 }], { label: "t", yLabel: "y", xTick: String });
    const cx = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(cx[1]![0]! - cx[0]![0]!).toBeCloseTo(cx[2]![0]! - cx[1]![0]!, 0);
    const unit = (cx[0]![1]! - cx[1]![1]!) / 10;
    const bar = /<line x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)" y2="([\d.]+)"\/>/.exec(svg.slice(svg.indexOf('class="point"')))!;
    expect(Number(bar[1]) - Number(bar[2])).toBeCloseTo(4 * unit, 0);
  });
});
