/**
 * The report's only style sheet, inlined: system fonts (no web fonts to fetch), a readable
 * measure for text, and tables and charts that stay legible when printed.
 */
export const REPORT_CSS = `
:root { color-scheme: light; --ink: #1d1d1f; --muted: #5f6368; --rule: #d9dce1; --bad: #b3261e; --bad-bg: #fdecea; --good: #1e6b37; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1360px; padding: 24px 28px 64px; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 40px 0 8px; padding-top: 12px; border-top: 2px solid var(--ink); }
h3 { font-size: 16px; margin: 24px 0 8px; }
p, li { max-width: 80ch; }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f3f4f6; padding: 1px 4px; border-radius: 3px; word-break: break-all; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 12px 0 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
nav ul { list-style: none; padding: 0; margin: 6px 0; display: flex; flex-wrap: wrap; gap: 4px 18px; }
table { border-collapse: collapse; margin: 8px 0 12px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--rule); padding: 5px 12px 5px 0; text-align: right; vertical-align: top; }
th { font-weight: 600; border-bottom: 2px solid var(--ink); }
th:first-child, td:first-child { text-align: left; }
table.headline td:first-child { min-width: 15em; }
table.checks th, table.checks td { text-align: left; }
table.correctness td { white-space: nowrap; }
table.correctness td:last-child { white-space: normal; }
table.checks td:nth-child(2), table.checks td:nth-child(3) { white-space: nowrap; }
table.checks td:last-child { max-width: 80ch; }
table.cpu-kinds tr.sum td { font-weight: 600; border-top: 1px solid var(--ink); }
td.missing { color: var(--muted); font-style: italic; }
td.better { color: var(--good); font-weight: 600; }
td.worse { color: var(--bad); font-weight: 600; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.role { display: block; font-weight: 400; color: var(--muted); font-size: 12px; }
.banner { border: 2px solid var(--bad); background: var(--bad-bg); color: var(--bad); padding: 10px 14px; margin: 12px 0; font-weight: 600; max-width: 100ch; }
.banner ul { margin: 4px 0 0; font-weight: 400; }
tr.failed td { background: var(--bad-bg); }
td.flag-bad { color: var(--bad); font-weight: 700; }
td.flag-ok { color: var(--good); font-weight: 600; }
.outcome-met { color: var(--good); font-weight: 600; }
.outcome-missed { color: var(--bad); font-weight: 700; }
.outcome-not-measured { color: var(--muted); font-style: italic; }
.muted { color: var(--muted); }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 18px 28px; margin-top: 12px; }
svg.chart { width: 100%; max-width: 660px; height: auto; font: 11px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #333; }
svg.chart .chart-title { font-size: 13px; font-weight: 600; fill: var(--ink); }
svg.chart .axis-label { font-size: 11px; fill: var(--muted); }
svg.chart .grid { stroke: #e8eaed; stroke-width: 1; }
svg.chart .axis { stroke: #777; stroke-width: 1; }
svg.chart .guide { fill: #666; font-size: 10px; }
@media print { h2 { break-before: page; } .charts { display: block; } svg.chart { break-inside: avoid; } }
`;
