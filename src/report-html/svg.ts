/**
 * Hand-written SVG charts for the HTML report: horizontal bars, a log-x line chart with error
 * bars, and a crossbar tile map. Every mark carries a <title>, which browsers show as a
 * tooltip, so the page needs no script. Coordinates are rounded to 0.1 px so output is stable.
 */

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text and attribute values escaped for HTML and SVG. */
export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ENTITIES[c]!);

const px = (x: number): string => String(Math.round(x * 10) / 10);

/** Ticks at 1, 2 or 5 × 10^k covering [lo, hi] with about `n` intervals. */
export function niceTicks(lo: number, hi: number, n = 5): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const ticks: number[] = [];
  // Rounded so ticks print without binary noise (0.30000000000000004).
  for (let t = Math.floor(lo / step) * step; t < hi + step * 0.999; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** Thousands separated by commas in the integer part: 20160 → "20,160". */
export function grouped(x: number): string {
  const [whole, frac] = String(x).split(".");
  return whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (frac === undefined ? "" : `.${frac}`);
}

const tickText = (t: number): string => grouped(Number(t.toPrecision(6)));

export interface Bar {
  label: string;
  /** Bar length; Infinity draws a full-length muted bar, NaN none. */
  value: number;
  /** Printed after the bar. */
  text: string;
  title: string;
  /** A second, darker bar drawn from 0 inside the first (e.g. ideal within modelled cycles). */
  inner?: number;
}

/** Horizontal bars, one row each, names on the left, a linear axis with grid lines below. */
export function barChart(bars: readonly Bar[], o: { label: string; cls?: string; width?: number }): string {
  const width = o.width ?? 760;
  const [labelW, textW, rowH, top] = [210, 150, 20, 6];
  const plotW = width - labelW - textW;
  const finite = bars.map((b) => b.value).filter(Number.isFinite);
  const ticks = niceTicks(0, Math.max(0, ...finite), 4);
  const max = ticks[ticks.length - 1]!;
  const x = (v: number) => labelW + (Math.max(0, Math.min(v, max)) / max) * plotW;
  const bottom = top + bars.length * rowH;
  const grid = ticks.map((t) =>
    `<line class="grid" x1="${px(x(t))}" x2="${px(x(t))}" y1="${top}" y2="${bottom}"/>` +
    `<text class="tick" x="${px(x(t))}" y="${bottom + 14}" text-anchor="middle">${tickText(t)}</text>`);
  const rows = bars.map((b, i) => {
    const y = top + i * rowH;
    // Long names lose their middle: both the scope and the op name at the end stay readable.
    const name = b.label.length > 30 ? `${b.label.slice(0, 11)}…${b.label.slice(-18)}` : b.label;
    const end = Number.isNaN(b.value) ? labelW : x(b.value);
    const bar = Number.isNaN(b.value) ? ""
      : `<rect class="${Number.isFinite(b.value) ? "bar" : "bar inf"}" x="${labelW}" y="${y + 4}" width="${px(end - labelW)}" height="${rowH - 8}"/>`;
    const inner = b.inner === undefined ? ""
      : `<rect class="bar inner" x="${labelW}" y="${y + 4}" width="${px(x(b.inner) - labelW)}" height="${rowH - 8}"/>`;
    return `<g class="row"><title>${esc(b.title)}</title>` +
      `<text class="label" x="${labelW - 8}" y="${y + 14}" text-anchor="end">${esc(name)}</text>${bar}${inner}` +
      `<text class="value" x="${px(end + 5)}" y="${y + 14}">${esc(b.text)}</text></g>`;
  });
  return `<svg class="chart${o.cls ? ` ${o.cls}` : ""}" role="img" aria-label="${esc(o.label)}" width="${width}" height="${bottom + 22}" viewBox="0 0 ${width} ${bottom + 22}">` +
    `${grid.join("")}${rows.join("")}</svg>`;
}

export interface Point {
  x: number;
  y: number;
  /** Half-length of the error bar (one standard deviation). */
  err: number;
  title: string;
}

export interface Series {
  name: string;
  points: readonly Point[];
}

/** A horizontal dashed reference line (e.g. the float model's value). */
export interface RefLine {
  name: string;
  y: number;
}

/**
 * Lines over a log-scaled x axis, each point a dot with ±err bars, ticks at the points' x
 * (labelled by `xTick`). Series take colours s0, s1, … of the style sheet; x must be positive.
 */
export function lineChart(series: readonly Series[], refs: readonly RefLine[], o: { label: string; yLabel: string; xTick: (x: number) => string }): string {
  const [width, height, left, right, top, bottom] = [500, 290, 56, 116, 30, 44];
  const pts = series.flatMap((s) => s.points);
  const xs = [...new Set(pts.map((p) => p.x))].sort((a, b) => a - b);
  const [lx0, lx1] = [Math.log10(xs[0]!), Math.log10(xs[xs.length - 1]!)];
  const pad = Math.max(0.3, (lx1 - lx0) * 0.06);
  const ys = [...pts.flatMap((p) => [p.y - p.err, p.y + p.err]), ...refs.map((r) => r.y)];
  const ticks = niceTicks(Math.min(...ys), Math.max(...ys), 5);
  const [y0, y1] = [ticks[0]!, ticks[ticks.length - 1]!];
  const X = (v: number) => left + ((Math.log10(v) - lx0 + pad) / (lx1 - lx0 + 2 * pad)) * (width - left - right);
  const Y = (v: number) => height - bottom - ((v - y0) / (y1 - y0 || 1)) * (height - top - bottom);
  const parts: string[] = [];
  for (const t of ticks) {
    parts.push(`<line class="grid" x1="${left}" x2="${width - right}" y1="${px(Y(t))}" y2="${px(Y(t))}"/>`,
      `<text class="tick" x="${left - 6}" y="${px(Y(t) + 4)}" text-anchor="end">${tickText(t)}</text>`);
  }
  for (const v of xs) {
    parts.push(`<line class="axis" x1="${px(X(v))}" x2="${px(X(v))}" y1="${height - bottom}" y2="${height - bottom + 5}"/>`,
      `<text class="tick" x="${px(X(v))}" y="${height - bottom + 18}" text-anchor="middle">${esc(o.xTick(v))}</text>`);
  }
  parts.push(`<line class="axis" x1="${left}" x2="${width - right}" y1="${height - bottom}" y2="${height - bottom}"/>`,
    `<text class="axis-label" x="${(left + width - right) / 2}" y="${height - 6}" text-anchor="middle">time after programming (log scale)</text>`,
    `<text class="axis-label" transform="translate(14 ${(top + height - bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  // References at one value share a line: "float = noise-free".
  const merged = new Map<number, string[]>();
  for (const r of refs) merged.set(r.y, [...(merged.get(r.y) ?? []), r.name]);
  for (const [y, names] of merged) {
    const r = { name: names.join(" = "), y };
    parts.push(`<g class="ref"><title>${esc(`${r.name}: ${tickText(r.y)}`)}</title>` +
      `<line x1="${left}" x2="${width - right}" y1="${px(Y(r.y))}" y2="${px(Y(r.y))}"/>` +
      `<text x="${width - right + 4}" y="${px(Y(r.y) + 4)}">${esc(r.name)}</text></g>`);
  }
  series.forEach((s, k) => {
    const line = s.points.map((p) => `${px(X(p.x))},${px(Y(p.y))}`).join(" ");
    const marks = s.points.map((p) => {
      const [cx, ya, yb] = [px(X(p.x)), px(Y(p.y - p.err)), px(Y(p.y + p.err))];
      return `<g class="point"><title>${esc(p.title)}</title><line x1="${cx}" x2="${cx}" y1="${ya}" y2="${yb}"/>` +
        `<line x1="${px(X(p.x) - 4)}" x2="${px(X(p.x) + 4)}" y1="${ya}" y2="${ya}"/><line x1="${px(X(p.x) - 4)}" x2="${px(X(p.x) + 4)}" y1="${yb}" y2="${yb}"/>` +
        `<circle cx="${cx}" cy="${px(Y(p.y))}" r="3.5"/></g>`;
    });
    parts.push(`<g class="series s${k}"><polyline points="${line}"/>${marks.join("")}` +
      `<rect x="${left + k * 150}" y="8" width="12" height="12"/><text x="${left + k * 150 + 17}" y="18">${esc(s.name)}</text></g>`);
  });
  return `<svg class="chart" role="img" aria-label="${esc(o.label)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join("")}</svg>`;
}

export interface TileBlock {
  tile: number;
  row: number;
  col: number;
  rows: number;
  cols: number;
  color: string;
  title: string;
}

/**
 * The chip's tiles in a wrapping grid (crossbar rows downwards, columns across), showing rows
 * [0, g.rows) and columns [0, g.cols) of each, with every block a rectangle at its place, to
 * scale; blocks are at least 1.5 px so small layers stay visible.
 */
export function tileMap(g: { tiles: number; rows: number; cols: number; tileTitles: readonly string[] }, blocks: readonly TileBlock[]): string {
  const width = 760;
  const size = g.tiles <= 3 ? 240 : g.tiles <= 12 ? 170 : 110;
  const scale = size / Math.max(g.rows, g.cols);
  const [w, h, gap, head] = [g.cols * scale, g.rows * scale, 14, 16];
  const perRow = Math.max(1, Math.floor((width + gap) / (w + gap)));
  const at = (t: number) => [(t % perRow) * (w + gap), Math.floor(t / perRow) * (h + head + gap) + head] as const;
  const tiles = Array.from({ length: g.tiles }, (_, t) => {
    const [x, y] = at(t);
    return `<g class="tile"><title>${esc(g.tileTitles[t] ?? "")}</title><text class="tick" x="${px(x)}" y="${px(y - 4)}">tile ${t}</text>` +
      `<rect x="${px(x)}" y="${px(y)}" width="${px(w)}" height="${px(h)}"/></g>`;
  });
  const rects = blocks.map((b) => {
    const [x, y] = at(b.tile);
    return `<rect class="block" x="${px(x + b.col * scale)}" y="${px(y + b.row * scale)}" width="${px(Math.max(1.5, b.cols * scale))}" ` +
      `height="${px(Math.max(1.5, b.rows * scale))}" fill="${b.color}"><title>${esc(b.title)}</title></rect>`;
  });
  // At least as wide as a "tile N" label.
  const [outW, outH] = [Math.max(48, Math.min(g.tiles, perRow) * (w + gap) - gap), Math.ceil(g.tiles / perRow) * (h + head + gap) - gap + 1];
  return `<svg class="chart" role="img" aria-label="crossbar tiles" width="${px(outW)}" height="${px(outH)}" viewBox="0 0 ${px(outW)} ${px(outH)}">${tiles.join("")}${rects.join("")}</svg>`;
}
