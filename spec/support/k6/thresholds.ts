/**
 * k6 thresholds evaluated over a stand-in run's samples: `p(N)`, `avg`, `min`, `max`, `med`,
 * `count`, `rate` and `value` compared with <, <=, >, >=, ==, === or != to a number. Percentiles
 * interpolate linearly between the two nearest ranks. A threshold k6 would judge on data the
 * stand-in does not have (a built-in metric it does not record, a tag filter such as
 * `name{tag:x}`, a Counter's per-second rate) is reported as 'not emulated', never as passed.
 * k6 judges a threshold whose metric has no sample on zeros (so `p(99)<100` passes); the
 * stand-in reports 'no data' instead, so a spec notices a latency that was never measured.
 */
import type { MetricRecord } from './recorder.js';

export type Verdict = 'pass' | 'fail' | 'no data' | 'not emulated';

export interface ThresholdResult {
  metric: string;
  expression: string;
  verdict: Verdict;
  /** The aggregate compared, when there was one. */
  value?: number;
}

type ThresholdSpec = string | { threshold: string };

const EXPRESSION = /^\s*(avg|min|max|med|count|rate|value|p\((\d+(?:\.\d+)?)\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/;

export function percentile(sorted: readonly number[], pct: number): number {
  const rank = (pct / 100) * (sorted.length - 1);
  const low = sorted[Math.floor(rank)] as number;
  const high = sorted[Math.ceil(rank)] as number;
  return low + (high - low) * (rank - Math.floor(rank));
}

function aggregate(metric: MetricRecord, name: string, pct: number | undefined): number | undefined {
  const values = metric.values;
  const sum = values.reduce((a, b) => a + b, 0);
  switch (metric.type) {
    case 'trend': {
      const sorted = [...values].sort((a, b) => a - b);
      if (pct !== undefined) return percentile(sorted, pct);
      if (name === 'med') return percentile(sorted, 50);
      if (name === 'avg') return sum / values.length;
      if (name === 'min') return sorted[0];
      if (name === 'max') return sorted[sorted.length - 1];
      return undefined;
    }
    case 'counter':
      return name === 'count' ? sum : undefined;
    case 'rate':
      return name === 'rate' ? sum / values.length : undefined;
    case 'gauge':
      if (name === 'value') return values[values.length - 1];
      if (name === 'min') return Math.min(...values);
      if (name === 'max') return Math.max(...values);
      return undefined;
  }
}

function compare(value: number, op: string, bound: number): boolean {
  switch (op) {
    case '<': return value < bound;
    case '<=': return value <= bound;
    case '>': return value > bound;
    case '>=': return value >= bound;
    case '!=': return value !== bound;
    default: return value === bound;
  }
}

export function evaluateThresholds(thresholds: Record<string, ThresholdSpec[]> | undefined, metrics: Record<string, MetricRecord>): ThresholdResult[] {
  const results: ThresholdResult[] = [];
  for (const [metricName, specs] of Object.entries(thresholds ?? {})) {
    for (const spec of specs) {
      const expression = typeof spec === 'string' ? spec : spec.threshold;
      const metric = metrics[metricName];
      const match = EXPRESSION.exec(expression);
      if (!match) throw new Error(`threshold ${metricName}: cannot parse ${JSON.stringify(expression)}`);
      const [, name = '', pct, op = '', bound = ''] = match;
      if (!metric) {
        results.push({ metric: metricName, expression, verdict: 'not emulated' });
        continue;
      }
      if (metric.values.length === 0) {
        results.push({ metric: metricName, expression, verdict: 'no data' });
        continue;
      }
      const value = aggregate(metric, pct === undefined ? name : 'p', pct === undefined ? undefined : Number(pct));
      if (value === undefined) results.push({ metric: metricName, expression, verdict: 'not emulated' });
      else results.push({ metric: metricName, expression, verdict: compare(value, op, Number(bound)) ? 'pass' : 'fail', value });
    }
  }
  return results;
}
