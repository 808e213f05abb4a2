/**
 * Latency histograms over hdr-histogram-js: fixed memory, O(1) recording, 3 significant digits,
 * and a compact encoding so that each generator worker can ship its histograms to the parent,
 * which merges them (a percentile of merged histograms is exact; an average of percentiles is not).
 *
 * Values are recorded in microseconds and read back in milliseconds.
 */
import * as hdr from 'hdr-histogram-js';
import type { LatencySummary, PercentilePoint } from '../report/types.js';

export type Histogram = hdr.Histogram;

/** One hour in microseconds: anything slower is clamped there (the run would have failed long before). */
const HIGHEST_MICROS = 3_600_000_000;

export function newHistogram(): Histogram {
  return hdr.build({ bitBucketSize: 32, lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_MICROS, numberOfSignificantValueDigits: 3, useWebAssembly: false });
}

/** Records a latency in milliseconds; a negative one (clock jitter between processes) counts as 0. */
export function recordMillis(histogram: Histogram, millis: number): void {
  const micros = Math.round(millis * 1000);
  histogram.recordValue(micros < 0 ? 0 : micros > HIGHEST_MICROS ? HIGHEST_MICROS : micros);
}

export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded, 32, false);
}

/** Adds every encoded histogram into `into` (a fresh one when absent) and returns it. */
export function mergeEncoded(encoded: readonly string[], into: Histogram = newHistogram()): Histogram {
  for (const e of encoded) into.add(decodeHistogram(e));
  return into;
}

/** The value at `percentile` (0–100) in milliseconds; 0 for an empty histogram. */
export function percentileMillis(histogram: Histogram, percentile: number): number {
  return histogram.totalCount === 0 ? 0 : histogram.getValueAtPercentile(percentile) / 1000;
}

export function summarize(histogram: Histogram): LatencySummary {
  return {
    count: histogram.totalCount,
    p50: percentileMillis(histogram, 50),
    p90: percentileMillis(histogram, 90),
    p99: percentileMillis(histogram, 99),
    p999: percentileMillis(histogram, 99.9),
    max: histogram.totalCount === 0 ? 0 : histogram.maxValue / 1000,
    mean: histogram.totalCount === 0 ? 0 : histogram.mean / 1000,
  };
}

/** The percentiles a report draws its latency curve from. */
export const CURVE_PERCENTILES = [50, 75, 90, 95, 99, 99.9, 99.99, 100] as const;

/** The latency curve of a run: ack and delivery latency at each of CURVE_PERCENTILES (absent when not measured). */
export function percentileCurve(ack: Histogram | undefined, delivery: Histogram | undefined): PercentilePoint[] {
  return CURVE_PERCENTILES.map((percentile) => ({
    percentile,
    ...(ack !== undefined && ack.totalCount > 0 ? { ackMs: percentileMillis(ack, percentile) } : {}),
    ...(delivery !== undefined && delivery.totalCount > 0 ? { deliveryMs: percentileMillis(delivery, percentile) } : {}),
  }));
}
