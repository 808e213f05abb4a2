/**
 * One line chart as inline SVG: every target on the same axes, round ticks, a legend, and native
 * `<title>` tooltips instead of script. The report must open from a file with nothing else, so
 * the chart is drawn here rather than by a charting library.
 *
 * A series point whose value is undefined is not drawn: the line breaks there, and a series with
 * no value at all draws nothing (a figure that was not measured is absent, never 0).
 */
import { escapeHtml } from './escape.js';
import { formatNumber } from './format.js';
import { niceTicks } from './ticks.js';

export type LineStyle = 'solid' | 'dashed' | 'dotted';
export type MarkShape = 'dot' | 'cross';

export interface ChartPoint {
  x: number;
  y: number | undefined;
}

export interface ChartSeries {
  /** Shown in the tooltip, e.g. "Troupe embedded: ack p99". */
  name: string;
  colour: string;
  style: LineStyle;
  points: ChartPoint[];
}

/** A single marked point, e.g. a ramp step that held (dot) or failed (cross). */
export interface ChartMark {
  x: number;
  y: number;
  colour: string;
  shape: MarkShape;
  title: string;
}

export interface ChartAxis {
  /** With its unit, e.g. "latency (ms)". */
  label: string;
  /** Tick text; round numbers by default. */
  format?: (value: number) => string;
  /** Fixed ticks (e.g. the percentile axis); otherwise round ticks over the data. */
  ticks?: Array<{ value: number; label: string }>;
  /** Values the domain must cover besides the data (0 for rates, a guide line…). */
  include?: number[];
  /**
   * Logarithmic, for figures that span decades (ramp rates from 250 to 32,000 msgs/s): every
   * target stays readable instead of the smallest being squashed against the axis. Values at or
   * below 0 have no place on it and are left out.
   */
  log?: boolean;
}

/** A reference line: y = value across the plot, or the diagonal y = x. */
export type ChartGuide = { kind: 'horizontal'; value: number; label: string } | { kind: 'diagonal'; label: string };

export interface LegendEntry {
  label: string;
  colour: string;
  style?: LineStyle;
  mark?: MarkShape;
}

export interface LineChartSpec {
  /** Stable id, written as `data-chart`, e.g. "direct-latency". */
  id: string;
  title: string;
  x: ChartAxis;
  y: ChartAxis;
  series: ChartSeries[];
  marks?: ChartMark[];
  guides?: ChartGuide[];
  legend: LegendEntry[];
}

const WIDTH = 640;
const MARGIN = { left: 66, right: 18, top: 30 };
const PLOT_HEIGHT = 210;
const LEGEND_ROW = 18;
const CHAR_WIDTH = 6.6;

const DASH: Record<LineStyle, string> = { solid: '', dashed: ' stroke-dasharray="7 4"', dotted: ' stroke-dasharray="2 3"' };

interface Scale {
  min: number;
  max: number;
  ticks: Array<{ value: number; label: string }>;
  /** Maps a value to a pixel on the axis. */
  at: (value: number) => number;
}

const round = (n: number): string => n.toFixed(1);

function definedPoints(series: ChartSeries): Array<{ x: number; y: number }> {
  return series.points.filter((p): p is { x: number; y: number } => p.y !== undefined && Number.isFinite(p.y) && Number.isFinite(p.x));
}

/** How close (in decades) a value may come to a log axis's end before the axis grows a decade. */
const EDGE_ROOM = 0.04;

/** Decades covering the values, ticked at 1, 2 and 5 times each power of ten (only 1 when they span many decades). */
function logScale(axis: ChartAxis, values: number[], from: number, to: number): Scale {
  const format = axis.format ?? formatNumber;
  const positive = [...values, ...(axis.include ?? [])].filter((v) => v > 0 && Number.isFinite(v));
  if (positive.length === 0) return buildScale({ ...axis, log: false }, [], from, to);
  // A line sitting exactly on a power of ten would lie on the plot's edge: leave a decade's room.
  const bottom = Math.log10(Math.min(...positive));
  const top = Math.log10(Math.max(...positive));
  const lo = Math.floor(bottom) + (bottom - Math.floor(bottom) < EDGE_ROOM ? -1 : 0);
  let hi = Math.ceil(top) + (Math.ceil(top) - top < EDGE_ROOM ? 1 : 0);
  if (hi === lo) hi = lo + 1;
  const multiples = hi - lo > 4 ? [1] : [1, 2, 5];
  const ticks: Array<{ value: number; label: string }> = [];
  for (let d = lo; d <= hi; d += 1) {
    for (const m of multiples) {
      const value = Number((m * 10 ** d).toPrecision(12));
      if (value <= 10 ** hi * (1 + 1e-9)) ticks.push({ value, label: format(value) });
    }
  }
  const min = 10 ** lo;
  const max = 10 ** hi;
  const span = hi - lo;
  return { min, max, ticks, at: (value) => from + ((Math.log10(value) - lo) / span) * (to - from) };
}

function buildScale(axis: ChartAxis, values: number[], from: number, to: number): Scale {
  if (axis.log === true) return logScale(axis, values, from, to);
  const format = axis.format ?? formatNumber;
  let min: number;
  let max: number;
  let ticks: Array<{ value: number; label: string }>;
  if (axis.ticks !== undefined && axis.ticks.length > 0) {
    const all = [...values, ...axis.ticks.map((t) => t.value), ...(axis.include ?? [])];
    min = Math.min(...all);
    max = Math.max(...all);
    if (max === min) max = min + 1;
    ticks = axis.ticks;
  } else {
    const all = [...values, ...(axis.include ?? [])];
    const nice = niceTicks(Math.min(...all), Math.max(...all));
    min = nice.min;
    max = nice.max;
    ticks = nice.ticks.map((value) => ({ value, label: format(value) }));
  }
  return { min, max, ticks, at: (value) => from + ((value - min) / (max - min)) * (to - from) };
}

/** The path of one series, broken where a value is missing; lone points get a dot so they show. */
function seriesShapes(series: ChartSeries, x: Scale, y: Scale): string {
  const runs: Array<Array<{ x: number; y: number }>> = [[]];
  for (const point of series.points) {
    if (point.y === undefined || !Number.isFinite(point.y) || !Number.isFinite(point.x)) {
      if (runs[runs.length - 1]!.length > 0) runs.push([]);
      continue;
    }
    runs[runs.length - 1]!.push({ x: point.x, y: point.y });
  }
  const lines = runs.filter((run) => run.length > 1);
  const lone = runs.filter((run) => run.length === 1).map((run) => run[0]!);
  const title = `<title>${escapeHtml(series.name)}</title>`;
  const parts: string[] = [];
  if (lines.length > 0) {
    const d = lines.map((run) => run.map((p, i) => `${i === 0 ? 'M' : 'L'}${round(x.at(p.x))},${round(y.at(p.y))}`).join(' ')).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${series.colour}" stroke-width="1.8" stroke-linejoin="round"${DASH[series.style]}>${title}</path>`);
  }
  for (const p of lone) parts.push(`<circle cx="${round(x.at(p.x))}" cy="${round(y.at(p.y))}" r="2.5" fill="${series.colour}">${title}</circle>`);
  return parts.join('');
}

function markShape(shape: MarkShape, cx: number, cy: number, colour: string, title: string): string {
  const tip = `<title>${escapeHtml(title)}</title>`;
  if (shape === 'dot') return `<circle cx="${round(cx)}" cy="${round(cy)}" r="4" fill="${colour}" stroke="#fff" stroke-width="1">${tip}</circle>`;
  const r = 4.5;
  return `<path d="M${round(cx - r)},${round(cy - r)} L${round(cx + r)},${round(cy + r)} M${round(cx - r)},${round(cy + r)} L${round(cx + r)},${round(cy - r)}" stroke="${colour}" stroke-width="2.2">${tip}</path>`;
}

function guideLine(guide: ChartGuide, x: Scale, y: Scale): string {
  let x1: number, y1: number, x2: number, y2: number;
  if (guide.kind === 'horizontal') {
    [x1, y1, x2, y2] = [x.min, guide.value, x.max, guide.value];
  } else {
    // y = x, clipped to the part inside both domains.
    const lo = Math.max(x.min, y.min);
    const hi = Math.min(x.max, y.max);
    if (hi <= lo) return '';
    [x1, y1, x2, y2] = [lo, lo, hi, hi];
  }
  const label = `<text x="${round(x.at(x2) - 4)}" y="${round(y.at(y2) - 4)}" text-anchor="end" class="guide">${escapeHtml(guide.label)}</text>`;
  return `<line x1="${round(x.at(x1))}" y1="${round(y.at(y1))}" x2="${round(x.at(x2))}" y2="${round(y.at(y2))}" stroke="#888" stroke-width="1" stroke-dasharray="4 4"/>${label}`;
}

/** Legend entries flowed left to right in rows; returns the markup and the height it takes. */
function legendBlock(entries: LegendEntry[], top: number): { svg: string; height: number } {
  const parts: string[] = [];
  let cx = MARGIN.left;
  let row = 0;
  for (const entry of entries) {
    const width = 30 + entry.label.length * CHAR_WIDTH + 18;
    if (cx + width > WIDTH - MARGIN.right && cx > MARGIN.left) {
      row += 1;
      cx = MARGIN.left;
    }
    const cy = top + row * LEGEND_ROW;
    const sample =
      entry.mark !== undefined
        ? markShape(entry.mark, cx + 12, cy, entry.colour, entry.label)
        : `<line x1="${round(cx)}" y1="${round(cy)}" x2="${round(cx + 24)}" y2="${round(cy)}" stroke="${entry.colour}" stroke-width="${entry.style === undefined ? 6 : 2}"${DASH[entry.style ?? 'solid']}/>`;
    parts.push(`${sample}<text x="${round(cx + 30)}" y="${round(cy + 4)}">${escapeHtml(entry.label)}</text>`);
    cx += width;
  }
  return { svg: `<g class="legend">${parts.join('')}</g>`, height: entries.length === 0 ? 0 : (row + 1) * LEGEND_ROW };
}

/** The chart as an `<svg>` element, or undefined when no series has a single value to draw. */
export function lineChart(spec: LineChartSpec): string | undefined {
  const onAxis = (axis: ChartAxis, v: number | undefined): boolean => v !== undefined && Number.isFinite(v) && (axis.log !== true || v > 0);
  const drawable = spec.series.map((s) => ({ ...s, points: s.points.map((p) => (onAxis(spec.x, p.x) && onAxis(spec.y, p.y) ? p : { x: p.x, y: undefined })) }));
  const drawn = drawable.filter((s) => definedPoints(s).length > 0);
  if (drawn.length === 0) return undefined;
  const marks = (spec.marks ?? []).filter((m) => onAxis(spec.x, m.x) && onAxis(spec.y, m.y));
  const guides = spec.guides ?? [];
  const points = drawn.flatMap(definedPoints);
  const plotBottom = MARGIN.top + PLOT_HEIGHT;
  const x = buildScale(spec.x, [...points.map((p) => p.x), ...marks.map((m) => m.x)], MARGIN.left, WIDTH - MARGIN.right);
  const yValues = [...points.map((p) => p.y), ...marks.map((m) => m.y), ...guides.flatMap((g) => (g.kind === 'horizontal' ? [g.value] : []))];
  const y = buildScale(spec.y, yValues, plotBottom, MARGIN.top);

  const grid = y.ticks
    .map((t) => `<line x1="${MARGIN.left}" y1="${round(y.at(t.value))}" x2="${WIDTH - MARGIN.right}" y2="${round(y.at(t.value))}" class="grid"/><text x="${MARGIN.left - 6}" y="${round(y.at(t.value) + 4)}" text-anchor="end">${escapeHtml(t.label)}</text>`)
    .join('');
  const xTicks = x.ticks
    .map((t) => `<line x1="${round(x.at(t.value))}" y1="${plotBottom}" x2="${round(x.at(t.value))}" y2="${plotBottom + 5}" class="axis"/><text x="${round(x.at(t.value))}" y="${plotBottom + 18}" text-anchor="middle">${escapeHtml(t.label)}</text>`)
    .join('');
  const axes = `<line x1="${MARGIN.left}" y1="${plotBottom}" x2="${WIDTH - MARGIN.right}" y2="${plotBottom}" class="axis"/><line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${plotBottom}" class="axis"/>`;
  const labels =
    `<text x="${round((MARGIN.left + WIDTH - MARGIN.right) / 2)}" y="${plotBottom + 36}" text-anchor="middle" class="axis-label">${escapeHtml(spec.x.label)}</text>` +
    `<text transform="translate(14 ${round(MARGIN.top + PLOT_HEIGHT / 2)}) rotate(-90)" text-anchor="middle" class="axis-label">${escapeHtml(spec.y.label)}</text>`;
  const title = `<text x="${MARGIN.left}" y="18" class="chart-title">${escapeHtml(spec.title)}</text>`;
  const lines = drawn.map((s) => seriesShapes(s, x, y)).join('');
  const markSvg = marks.map((m) => markShape(m.shape, x.at(m.x), y.at(m.y), m.colour, m.title)).join('');
  const guideSvg = guides.map((g) => guideLine(g, x, y)).join('');
  const legend = legendBlock(spec.legend, plotBottom + 56);
  const height = Math.ceil(plotBottom + 50 + legend.height + 6);

  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="${escapeHtml(spec.title)}" data-chart="${escapeHtml(spec.id)}" class="chart">` +
    `${title}${grid}${axes}${xTicks}${labels}${guideSvg}${lines}${markSvg}${legend.svg}</svg>`
  );
}
