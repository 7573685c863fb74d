/** The report's style sheet (inline: the page loads nothing) and the colours of layers in the tile map. */

export const CSS = `
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; --accent: #0969da; --accent-soft: #9cc7f4; --second: #bf3989; --warn: #fff8c5; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
header, main { max-width: 1080px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; word-break: break-all; }
h2 { font-size: 17px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.sub, .note { color: var(--muted); }
.note { font-size: 13px; margin: 4px 0 10px; }
code, .num { font-variant-numeric: tabular-nums; }
ul.notices { background: var(--warn); border: 1px solid #e5d58a; border-radius: 6px; padding: 8px 8px 8px 28px; margin: 12px 0 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; background: var(--soft); }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
.card .v { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .d { color: var(--muted); font-size: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px 40px; margin-bottom: 12px; }
/* The caption wraps to the chart's width. */
figure { margin: 0; display: table; }
figcaption { display: table-caption; caption-side: bottom; }
svg.chart { max-width: 100%; height: auto; font-size: 11px; }
svg .label, svg .value { font-size: 11.5px; fill: var(--ink); }
svg .value, svg .tick { fill: var(--muted); }
svg .grid { stroke: #eaeef2; }
svg .axis { stroke: #8c959f; }
svg .axis-label { fill: var(--muted); font-size: 12px; }
svg .bar { fill: var(--accent-soft); }
svg .bar.inner, svg.sqnr .bar { fill: var(--accent); }
svg .bar.inf { fill: #d8dee4; }
svg .row:hover .bar { opacity: .8; }
svg .ref line { stroke: #8c959f; stroke-dasharray: 5 4; }
svg .ref text { fill: var(--muted); }
svg .series polyline { fill: none; stroke-width: 2; }
svg .series line { stroke-width: 1.5; }
svg .s0 polyline, svg .s0 line { stroke: var(--accent); } svg .s0 circle, svg .s0 rect { fill: var(--accent); }
svg .s1 polyline, svg .s1 line { stroke: var(--second); } svg .s1 circle, svg .s1 rect { fill: var(--second); }
svg .tile rect { fill: #fff; stroke: #8c959f; }
svg .block { stroke: #fff; stroke-width: .5; }
svg .block:hover { stroke: var(--ink); stroke-width: 1.5; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 8px 0; font-size: 12.5px; }
.legend span { display: inline-flex; align-items: center; gap: 5px; }
.legend i { width: 12px; height: 12px; border-radius: 2px; display: inline-block; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; position: sticky; top: 0; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.name { word-break: break-all; }
tbody tr:nth-child(even) { background: #fafbfc; }
footer { max-width: 1080px; margin: 40px auto 24px; padding: 0 24px; color: var(--muted); font-size: 12px; }
`;

/** Layer k's colour: hues a golden angle apart and three lightnesses in turn, so neighbouring layers differ. */
export const layerColor = (k: number): string => `hsl(${((k * 137.508) % 360).toFixed(1)} 62% ${[52, 38, 66][k % 3]}%)`;
