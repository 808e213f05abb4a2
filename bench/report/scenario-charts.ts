/**
 * The charts of one scenario, every target that ran it on the same axes: latency and throughput
 * over time, the percentile curve, server CPU and memory, ready sockets (connect) and the ramp's
 * steps. A chart whose figures no target measured is left out rather than drawn empty.
 */
import { formatNumber } from './format.js';
import { percentileAxis } from './percentile-axis.js';
import { lineChart, type ChartMark, type ChartSeries, type LegendEntry, type LineStyle } from './svg-chart.js';
import type { PercentilePoint, RampStep, ScenarioRun, TargetRun, TimelinePoint } from './types.js';

/** One target's run of the scenario being charted. */
export interface ScenarioCase {
  target: TargetRun;
  run: ScenarioRun;
  colour: string;
}

/** A chart drawn for the report, with its stable id (`<section id>-<kind>`, e.g. `direct-throughput`). */
export interface RenderedChart {
  id: string;
  svg: string;
}

/** One line per target: which figure, and the dash that tells it from the others on the chart. */
interface Metric<P> {
  name: string;
  style: LineStyle;
  value: (point: P) => number | undefined;
}

const KEY_COLOUR = '#555';
const BYTES_PER_MB = 1e6;

function legendFor(cases: ScenarioCase[], series: ChartSeries[], metrics: Array<{ name: string; style: LineStyle }>): LegendEntry[] {
  const drawnTargets = cases.filter((c) => series.some((s) => s.colour === c.colour && s.points.some((p) => p.y !== undefined)));
  const entries: LegendEntry[] = drawnTargets.map((c) => ({ label: c.target.label, colour: c.colour }));
  if (metrics.length > 1) entries.push(...metrics.map((m) => ({ label: m.name, colour: KEY_COLOUR, style: m.style })));
  return entries;
}

function seriesOf<P>(cases: ScenarioCase[], metrics: Array<Metric<P>>, points: (c: ScenarioCase) => P[], x: (p: P) => number): ChartSeries[] {
  return cases.flatMap((c) =>
    metrics.map((m) => ({
      name: `${c.target.label}: ${m.name}`,
      colour: c.colour,
      style: m.style,
      points: points(c).map((p) => ({ x: x(p), y: m.value(p) })),
    })),
  );
}

/** How far apart two series may sit (ratio of their medians) before a linear axis squashes the lower one flat. */
const LOG_WHEN_APART = 30;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Whether the series are decades apart (a bound at 20,000 msgs/s beside a peer at 500, or a
 * group's deliveries at 5,000 times its sends): then only a log axis shows them all.
 */
function needsLogAxis(series: ChartSeries[]): boolean {
  const medians = series
    .map((s) => s.points.flatMap((p) => (p.y !== undefined && p.y > 0 ? [p.y] : [])))
    .filter((values) => values.length > 0)
    .map(median);
  return medians.length > 1 && Math.max(...medians) / Math.min(...medians) >= LOG_WHEN_APART;
}

function timelineChart(section: string, kind: string, title: string, yLabel: string, cases: ScenarioCase[], metrics: Array<Metric<TimelinePoint>>, allowLog = false): RenderedChart | undefined {
  const series = seriesOf(cases, metrics, (c) => c.run.timeline, (p) => p.t);
  const log = allowLog && needsLogAxis(series);
  const svg = lineChart({
    id: `${section}-${kind}`,
    title,
    x: { label: 'time since the measured window began (s)' },
    y: log ? { label: `${yLabel}, log scale`, log } : { label: yLabel, include: [0] },
    series,
    legend: legendFor(cases, series, metrics),
  });
  return svg === undefined ? undefined : { id: `${section}-${kind}`, svg };
}

function percentileChart(section: string, cases: ScenarioCase[]): RenderedChart | undefined {
  const axis = percentileAxis(cases.flatMap((c) => c.run.percentiles.map((p) => p.percentile)));
  const metrics: Array<Metric<PercentilePoint>> = [
    { name: 'ack', style: 'solid', value: (p) => p.ackMs },
    { name: 'delivery', style: 'dashed', value: (p) => p.deliveryMs },
  ];
  const series = seriesOf(cases, metrics, (c) => [...c.run.percentiles].sort((a, b) => a.percentile - b.percentile), (p) => axis.at(p.percentile));
  const id = `${section}-percentiles`;
  const svg = lineChart({
    id,
    title: 'Latency by percentile (whole measured window)',
    x: { label: 'percentile (log scale of 1/(1−p))', ticks: axis.ticks },
    y: { label: 'latency (ms)', include: [0] },
    series,
    legend: legendFor(cases, series, metrics),
  });
  return svg === undefined ? undefined : { id, svg };
}

function stepMarks(cases: ScenarioCase[], y: (step: RampStep) => number, what: string): ChartMark[] {
  return cases.flatMap((c) =>
    (c.run.steps ?? []).map((step) => ({
      x: step.rate,
      y: y(step),
      colour: c.colour,
      shape: step.held ? ('dot' as const) : ('cross' as const),
      title: `${c.target.label}: ${formatNumber(step.rate)} msgs/s offered, ${what} ${formatNumber(y(step))}, ${step.held ? 'held' : 'failed'}`,
    })),
  );
}

/** The p99 bound a ramp aims at, read from a headline such as `max_rate_p99_under_50ms`. */
function rampBoundMs(cases: ScenarioCase[]): number | undefined {
  for (const c of cases) {
    for (const h of c.run.headline) {
      const match = /p99_under_(\d+(?:\.\d+)?)ms/.exec(h.key);
      if (match) return Number(match[1]);
    }
  }
  return undefined;
}

const HELD_KEYS: LegendEntry[] = [
  { label: 'step held', colour: KEY_COLOUR, mark: 'dot' },
  { label: 'step failed', colour: KEY_COLOUR, mark: 'cross' },
];

function rampCharts(section: string, cases: ScenarioCase[]): RenderedChart[] {
  const withSteps = cases.filter((c) => (c.run.steps ?? []).length > 0);
  if (withSteps.length === 0) return [];
  const steps = (c: ScenarioCase): RampStep[] => [...(c.run.steps ?? [])].sort((a, b) => a.rate - b.rate);
  const offeredMax = Math.max(...withSteps.flatMap((c) => steps(c).map((s) => s.rate)));
  const charts: RenderedChart[] = [];

  const rateMetrics: Array<Metric<RampStep>> = [{ name: 'achieved', style: 'solid', value: (s) => s.achievedPerSec }];
  const rateSeries = seriesOf(withSteps, rateMetrics, steps, (s) => s.rate);
  const rateSvg = lineChart({
    id: `${section}-ramp-rate`,
    title: 'Achieved rate against offered rate, per step',
    x: { label: 'offered rate (msgs/s, log scale)', log: true },
    y: { label: 'achieved rate (msgs/s, log scale)', include: [offeredMax], log: true },
    series: rateSeries,
    marks: stepMarks(withSteps, (s) => s.achievedPerSec, 'achieved msgs/s'),
    guides: [{ kind: 'diagonal', label: 'achieved = offered' }],
    legend: [...legendFor(withSteps, rateSeries, []), ...HELD_KEYS],
  });
  if (rateSvg !== undefined) charts.push({ id: `${section}-ramp-rate`, svg: rateSvg });

  const p99Metrics: Array<Metric<RampStep>> = [
    { name: 'delivery p99', style: 'solid', value: (s) => s.deliveryP99 },
    { name: 'ack p99', style: 'dashed', value: (s) => s.ackP99 },
  ];
  const p99Series = seriesOf(withSteps, p99Metrics, steps, (s) => s.rate);
  const bound = rampBoundMs(withSteps);
  const p99Svg = lineChart({
    id: `${section}-ramp-p99`,
    title: 'p99 latency against offered rate, per step',
    x: { label: 'offered rate (msgs/s, log scale)', log: true },
    y: { label: 'p99 latency (ms, log scale)', log: true },
    series: p99Series,
    marks: stepMarks(withSteps, (s) => s.deliveryP99, 'delivery p99 ms'),
    guides: bound === undefined ? [] : [{ kind: 'horizontal', value: bound, label: `p99 bound ${formatNumber(bound)} ms` }],
    legend: [...legendFor(withSteps, p99Series, p99Metrics), ...HELD_KEYS],
  });
  if (p99Svg !== undefined) charts.push({ id: `${section}-ramp-p99`, svg: p99Svg });
  return charts;
}

/** Every chart of the scenario, in reading order; only those with something to draw. */
export function scenarioCharts(section: string, cases: ScenarioCase[]): RenderedChart[] {
  const charts: Array<RenderedChart | undefined> = [
    timelineChart(section, 'ack-latency', 'Ack latency over time', 'ack latency (ms)', cases, [
      { name: 'p50', style: 'dashed', value: (p) => p.ackP50 },
      { name: 'p99', style: 'solid', value: (p) => p.ackP99 },
    ], true),
    timelineChart(section, 'delivery-latency', 'Delivery latency over time', 'delivery latency (ms)', cases, [
      { name: 'p50', style: 'dashed', value: (p) => p.deliveryP50 },
      { name: 'p99', style: 'solid', value: (p) => p.deliveryP99 },
    ], true),
    timelineChart(section, 'throughput', 'Throughput over time', 'messages per second', cases, [
      { name: 'sent', style: 'dotted', value: (p) => p.sentPerSec },
      { name: 'acked', style: 'dashed', value: (p) => p.ackedPerSec },
      { name: 'delivered', style: 'solid', value: (p) => p.deliveredPerSec },
    ], true),
    timelineChart(section, 'ready', 'Sockets ready over time', 'ready sockets', cases, [{ name: 'ready', style: 'solid', value: (p) => p.readySockets }]),
    percentileChart(section, cases),
    timelineChart(section, 'cpu', 'CPU over time', 'CPU (% of one core)', cases, [
      { name: 'server', style: 'solid', value: (p) => p.serverCpuPct },
      { name: 'load generator', style: 'dotted', value: (p) => p.generatorCpuPct },
    ]),
    timelineChart(section, 'rss', 'Server memory (RSS) over time', 'RSS (MB)', cases, [
      { name: 'server RSS', style: 'solid', value: (p) => (p.serverRssBytes === undefined ? undefined : p.serverRssBytes / BYTES_PER_MB) },
    ]),
    ...rampCharts(section, cases),
  ];
  return charts.filter((c): c is RenderedChart => c !== undefined);
}
