/**
 * `hwac report`: one self-contained HTML page describing a program folder — what was compiled,
 * how close the program is to the float model, what it costs on its target, per layer, and (aimc)
 * where its weights sit on the crossbars and how accuracy drifts (`sweep.json`, when present).
 * The page has no script and loads nothing (its Content-Security-Policy forbids it); charts are
 * inline SVG with tooltips. Output depends only on the folder's files, so it can be diffed.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { z } from "zod";
import { HwacError } from "../../ir/errors.js";
import { readMappingJson, type MappingFile } from "../../backends/aimc/format.js";
import { programFile, readManifest, TARGETS } from "../program-dir.js";
import { formatTime, type SweepPoint } from "../sweep.js";
import { barChart, esc, grouped, lineChart, tileMap, type Series, type TileBlock } from "./svg.js";
import { CSS, layerColor } from "./style.js";

/** JSON writes ±Infinity as "inf"/"-inf" and NaN as null; they come back as numbers. */
const real = z.union([z.number(), z.literal("inf").transform(() => Infinity), z.literal("-inf").transform(() => -Infinity)]);
const db = real.nullable().transform((v) => v ?? NaN);
const count = z.number();

const reportSchema = z.object({
  hwac: z.string(),
  target: z.enum(TARGETS),
  shapes: z.array(z.string()),
  notices: z.array(z.string()),
  quantization: z.array(z.object({ node: z.string(), op: z.string(), weightBits: count.nullable(), actBits: count.nullable(), sqnrDb: db })),
  fallbacks: z.array(z.object({ node: z.string(), op: z.string(), reason: z.string() })),
  outputs: z.array(z.object({ name: z.string(), sqnrDb: db, top1Agreement: count })),
  accuracy: z.object({ float: count, quantized: count, n: count }).nullable(),
  nna: z.object({
    config: z.string(), clockHz: count, cycles: count, seconds: count, instructions: count, macs: count, idealCycles: count,
    utilization: count, convUtilization: count.nullable(), dramRead: count, dramWritten: count, dramBytes: count,
    layers: z.array(z.object({
      name: z.string(), outputShape: z.array(count).nullable(), macs: count, idealCycles: count, cycles: count,
      utilization: count, dramRead: count, dramWritten: count,
    })),
  }).optional(),
  aimc: z.object({
    profile: z.string(), tilesUsed: count, lowerBound: count, mappedCells: count, availableCells: count, utilization: count,
    digital: z.array(z.object({ node: z.string(), op: z.string(), reason: z.string() })),
  }).optional(),
});
type Report = z.infer<typeof reportSchema>;
type NnaStats = NonNullable<Report["nna"]>;

const meanStd = z.object({ mean: real, std: count });
const sweepSchema = z.array(z.object({
  t: z.union([count, z.literal("float"), z.literal("exact")]), sqnrDb: meanStd, accuracy: meanStd.optional(), top1Agreement: meanStd, seeds: count,
}));

/** A JSON file of the folder checked against its schema, or HW6021 naming the field. */
function readJson<T extends z.ZodType>(path: string, schema: T): z.output<T> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new HwacError("HW6021", `${basename(path)} is not JSON: ${(e as Error).message}`, { file: path });
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new HwacError("HW6021", `${basename(path)} ${issue.path.join(".") || "(top level)"}: ${issue.message}`, { file: path });
  }
  return r.data;
}

const int = (n: number): string => grouped(Math.round(n));
const pct = (x: number, digits = 2): string => `${(x * 100).toFixed(digits)}%`;
const dB = (x: number): string => (Number.isNaN(x) ? "n/a" : Number.isFinite(x) ? `${x.toFixed(2)} dB` : x > 0 ? "∞ (identical)" : "−∞");
const bytes = (n: number): string => `${int(n)} B`;
function duration(s: number): string {
  const [scale, unit] = s >= 1 ? [1, "s"] : s >= 1e-3 ? [1e3, "ms"] : [1e6, "µs"];
  return `${(s * scale).toFixed(2)} ${unit}`;
}

const card = (k: string, v: string, d = ""): string =>
  `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div><div class="d">${esc(d)}</div></div>`;
const section = (id: string, title: string, body: string): string => `<section id="${id}"><h2>${esc(title)}</h2>${body}</section>`;
const note = (s: string): string => `<p class="note">${esc(s)}</p>`;

function summary(r: Report, mapping?: MappingFile): string {
  const cards = r.outputs.map((o) => card("SQNR", dB(o.sqnrDb), `output ${o.name} against float · top-1 agreement ${pct(o.top1Agreement)}`));
  cards.push(r.accuracy
    ? card("Accuracy", `${pct(r.accuracy.float)} → ${pct(r.accuracy.quantized)}`, `float → program, n = ${int(r.accuracy.n)}`)
    : card("Accuracy", "—", "no labels given to compile"));
  const n = r.nna;
  if (n) {
    cards.push(
      card("Cycles", int(n.cycles), `${duration(n.seconds)} at ${n.clockHz / 1e9} GHz · ${int(n.instructions)} instructions`),
      card("MAC-array utilization", pct(n.utilization, 1), `${int(n.idealCycles)} ideal cycles for ${int(n.macs)} MACs`),
      card("Conv-layer utilization", n.convUtilization === null ? "—" : pct(n.convUtilization, 1), n.convUtilization === null ? "no Conv layer" : "MAC-bound share of their cycles"),
      card("DRAM traffic", bytes(n.dramRead + n.dramWritten), `read ${bytes(n.dramRead)} · written ${bytes(n.dramWritten)}`),
      card("DRAM footprint", bytes(n.dramBytes), `machine ${n.config}`),
    );
  }
  const a = r.aimc;
  if (a && mapping) {
    cards.push(
      card("Tiles used", `${a.tilesUsed} (bound ${a.lowerBound})`, `${mapping.tileRows}×${mapping.tileCols} crossbars · profile ${a.profile}`),
      card("Crossbar utilization", pct(a.utilization, 1), `${int(a.mappedCells)} of ${int(a.availableCells)} cells`),
      card("Digital periphery", String(a.digital.length), "matrix products the crossbars cannot run"),
    );
  }
  return section("summary", "Summary", `<div class="cards">${cards.join("")}</div>`);
}

function sqnrChart(r: Report): string {
  const bars = r.quantization.map((q) => ({
    label: q.node, value: q.sqnrDb, text: dB(q.sqnrDb), title: `${q.node} (${q.op}): SQNR ${dB(q.sqnrDb)} against float`,
  }));
  return section("sqnr", "Per-layer SQNR against float",
    note("Signal-to-quantization-noise ratio of each layer's output on the evaluation inputs; higher is closer to the float model.") +
    barChart(bars, { label: "per-layer SQNR in dB", cls: "sqnr" }));
}

function cyclesChart(n: NnaStats): string {
  const bars = n.layers.map((l) => ({
    label: l.name, value: l.cycles, inner: l.idealCycles, text: l.macs > 0 ? `${int(l.cycles)} · ${pct(l.utilization, 1)}` : int(l.cycles),
    title: `${l.name}: ${int(l.cycles)} cycles, ${int(l.idealCycles)} MAC-bound (${pct(l.utilization, 1)} utilization), ${int(l.macs)} MACs`,
  }));
  return section("cycles", "Cycles per layer",
    note("Light: modelled cycles of the layer's span; dark: the cycles its MACs need on the full array. The label gives cycles and MAC-array utilization.") +
    barChart(bars, { label: "cycles per layer" }));
}

function tiles(m: MappingFile): string {
  if (m.tiles === 0) return section("tiles", "Crossbar tiles", note("No layer is mapped to the crossbars."));
  const used = new Array<number>(m.tiles).fill(0);
  const blocks: TileBlock[] = m.layers.flatMap((l, k) => l.blocks.map((b) => {
    used[b.tile]! += b.inCount * b.outCount;
    return {
      tile: b.tile, row: b.row, col: b.col, rows: b.inCount, cols: b.outCount, color: layerColor(k),
      title: `${l.name} block ${b.index}: inputs ${b.inStart}–${b.inStart + b.inCount - 1}, outputs ${b.outStart}–${b.outStart + b.outCount - 1} ` +
        `at tile ${b.tile}, rows ${b.row}–${b.row + b.inCount - 1}, columns ${b.col}–${b.col + b.outCount - 1}`,
    };
  }));
  const cells = m.tileRows * m.tileCols;
  const tileTitles = used.map((u, t) => `tile ${t}: ${int(u)} of ${int(cells)} cells (${pct(u / cells, 1)})`);
  const legend = m.layers.map((l, k) => `<span><i style="background:${layerColor(k)}"></i>${esc(l.name)} <span class="sub">${l.rows}×${l.cols}</span></span>`);
  // Small programs fill a corner of each tile: show that corner again, square and magnified at least twice.
  const side = Math.max(...blocks.map((b) => Math.max(b.row + b.rows, b.col + b.cols)));
  const [rows, cols] = [Math.min(side, m.tileRows), Math.min(side, m.tileCols)];
  const figure = (caption: string, svg: string) => `<figure>${svg}<figcaption class="note">${esc(caption)}</figcaption></figure>`;
  const whole = figure("Whole tiles.", tileMap({ tiles: m.tiles, rows: m.tileRows, cols: m.tileCols, tileTitles }, blocks));
  const detail = 2 * side <= Math.max(m.tileRows, m.tileCols)
    ? figure(`Detail: rows 0–${rows - 1} and columns 0–${cols - 1} of each tile, which hold every block.`, tileMap({ tiles: m.tiles, rows, cols, tileTitles }, blocks))
    : "";
  return section("tiles", "Crossbar tiles",
    note(`Each square is a ${m.tileRows}×${m.tileCols} tile (rows: inputs, downwards; columns: outputs, across); each rectangle is a block of a layer's weights, to scale.`) +
    `<div class="charts">${whole}${detail}</div><div class="legend">${legend.join("")}</div>`);
}

/** One measured quantity of a sweep point, as charted and tabled. */
interface Measure {
  name: string;
  get: (p: SweepPoint) => { mean: number; std: number } | undefined;
  scale: number;
  unit: string;
}
const ACCURACY: Measure = { name: "accuracy", get: (p) => p.accuracy, scale: 100, unit: "%" };
const AGREEMENT: Measure = { name: "top-1 agreement", get: (p) => p.top1Agreement, scale: 100, unit: "%" };
const SQNR: Measure = { name: "SQNR", get: (p) => p.sqnrDb, scale: 1, unit: " dB" };

function shown(m: Measure, p: SweepPoint): string {
  const v = m.get(p);
  return v === undefined || !Number.isFinite(v.mean) ? "—" : `${(v.mean * m.scale).toFixed(2)} ± ${(v.std * m.scale).toFixed(2)}${m.unit}`;
}

function drift(points: readonly SweepPoint[]): string {
  const timed = points.filter((p): p is SweepPoint & { t: number } => typeof p.t === "number" && p.t > 0);
  const measures = points.some((p) => p.accuracy) ? [ACCURACY, AGREEMENT] : [AGREEMENT];
  const series = (m: Measure): Series => ({
    name: m.name,
    points: timed.map((p) => ({ x: p.t, y: m.get(p)!.mean * m.scale, err: m.get(p)!.std * m.scale, title: `${m.name} at ${formatTime(p.t)}: ${shown(m, p)} over ${p.seeds} seeds` })),
  });
  // The float model and the noise-free chip, as dashed lines.
  const refs = (m: Measure) => points.flatMap((p) => {
    const v = m.get(p);
    return typeof p.t === "string" && v && Number.isFinite(v.mean) ? [{ name: p.t === "float" ? "float" : "noise-free", y: v.mean * m.scale }] : [];
  });
  const charts = timed.length === 0 ? note("The sweep has no time after programming to plot.") : `<div class="charts">` +
    lineChart(measures.map(series), refs(measures[0]!), { label: `${measures[0]!.name} against drift time`, yLabel: "%", xTick: formatTime }) +
    lineChart([series(SQNR)], refs(SQNR), { label: "SQNR against drift time", yLabel: "SQNR (dB)", xTick: formatTime }) + `</div>`;
  const columns = [...measures, SQNR];
  const when = (t: SweepPoint["t"]) => (t === "float" ? "float model" : t === "exact" ? "noise-free chip" : formatTime(t));
  const rows = points.map((p) => `<tr><td>${esc(when(p.t))}</td><td class="num">${p.seeds}</td>${columns.map((m) => `<td class="num">${shown(m, p)}</td>`).join("")}</tr>`);
  const head = `<tr><th>t</th><th class="num">seeds</th>${columns.map((m) => `<th class="num">${m.name}</th>`).join("")}</tr>`;
  return section("drift", "Conductance drift",
    note("The program on the noisy chip at each time after programming: mean ± standard deviation over seeds; dashed lines are the float model and the noise-free chip.") +
    charts + `<table class="sweep"><thead>${head}</thead><tbody>${rows.join("")}</tbody></table>`);
}

function layerTable(r: Report, m?: MappingFile): string {
  const nna = new Map((r.nna?.layers ?? []).map((l) => [l.name, l]));
  const mapped = new Map((m?.layers ?? []).map((l) => [l.name, l]));
  const digital = new Map((r.aimc?.digital ?? []).map((d) => [d.node, d]));
  const bits = (b: number | null) => (b === null ? "—" : String(b));
  const head = ["layer", "op", "W bits", "A bits", "SQNR", ...(r.nna ? ["output", "MACs", "cycles", "util.", "DRAM read", "DRAM written"] : []), ...(r.aimc ? ["weights", "placement"] : [])];
  const rows = r.quantization.map((q) => {
    const cells = [`<td class="name">${esc(q.node)}</td>`, `<td>${esc(q.op)}</td>`, `<td class="num">${bits(q.weightBits)}</td>`, `<td class="num">${bits(q.actBits)}</td>`, `<td class="num">${dB(q.sqnrDb)}</td>`];
    const num = (s: string) => `<td class="num">${esc(s)}</td>`;
    if (r.nna) {
      const l = nna.get(q.node);
      cells.push(...(l
        ? [num(l.outputShape ? l.outputShape.join("×") : "—"), num(int(l.macs)), num(int(l.cycles)), num(l.macs > 0 ? pct(l.utilization, 1) : "—"), num(bytes(l.dramRead)), num(bytes(l.dramWritten))]
        : Array.from({ length: 6 }, () => num("—"))));
    }
    if (r.aimc) {
      const l = mapped.get(q.node);
      const d = digital.get(q.node);
      const tilesOf = l ? [...new Set(l.blocks.map((b) => b.tile))].join(", ") : "";
      cells.push(num(l ? `${l.rows}×${l.cols}` : "—"),
        `<td>${l ? esc(`${l.blocks.length} block${l.blocks.length > 1 ? "s" : ""} on tile ${tilesOf}`) : d ? esc(`digital: ${d.reason}`) : "—"}</td>`);
    }
    return `<tr>${cells.join("")}</tr>`;
  });
  const th = head.map((h, i) => `<th${i >= 2 && h !== "placement" ? ` class="num"` : ""}>${h}</th>`).join("");
  return section("layers", "Layers", `<table class="layers"><thead><tr>${th}</tr></thead><tbody>${rows.join("")}</tbody></table>`);
}

export function renderReport(dir: string): string {
  const manifest = readManifest(dir);
  const r = readJson(programFile(dir, "report.json"), reportSchema);
  if (r.target !== manifest.target || !r[manifest.target]) {
    throw new HwacError("HW6021", `report.json is not an ${manifest.target} report as program.json says`, { file: join(dir, "report.json") });
  }
  const mappingPath = manifest.target === "aimc" ? programFile(dir, "mapping.json") : undefined;
  const mapping = mappingPath ? readMappingJson(readFileSync(mappingPath, "utf8"), mappingPath) : undefined;
  const sweepPath = join(dir, "sweep.json");
  const points = existsSync(sweepPath) ? (readJson(sweepPath, sweepSchema) as SweepPoint[]) : undefined;
  const name = basename(resolve(dir));
  const notices = [...r.notices, ...r.fallbacks.map((f) => `${f.op} '${f.node}' stays float: ${f.reason}`)];
  const header = `<header><h1>${esc(name)}</h1><div class="sub">${manifest.target} program · hwac ${esc(r.hwac)} · inputs ${esc(r.shapes.join(", "))}</div>` +
    (notices.length ? `<ul class="notices">${notices.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : "") + `</header>`;
  const body = [
    summary(r, mapping),
    sqnrChart(r),
    r.nna ? cyclesChart(r.nna) : "",
    mapping ? tiles(mapping) : "",
    points ? drift(points) : "",
    layerTable(r, mapping),
  ].join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(`${name} — hwac ${manifest.target} report`)}</title><style>${CSS}</style></head>
<body>${header}
<main>${body}</main>
<footer>Written by hwac ${esc(r.hwac)} from ${esc(name)}/report.json${mapping ? ", mapping.json" : ""}${points ? ", sweep.json" : ""}.</footer>
</body></html>
`;
}
