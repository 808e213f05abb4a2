/**
 * A small log-bucketed latency histogram, in the spirit of an HDR histogram: fixed memory, O(1)
 * recording, and percentiles with a bounded relative error (about 1.1 %, from 64 buckets per
 * power of two) instead of an exact sort of every sample.
 *
 * Values are recorded in microseconds (fractions are fine) and read back in milliseconds. The
 * exact maximum and minimum are kept beside the buckets, so `max` is never rounded.
 */

/** Buckets per doubling: the relative width of one bucket is 2^(1/64) - 1 ≈ 1.09 %. */
const BUCKETS_PER_OCTAVE = 64;
/** 2^30 µs ≈ 18 minutes; anything slower lands in the last bucket (max stays exact). */
const OCTAVES = 30;
const BUCKET_COUNT = BUCKETS_PER_OCTAVE * OCTAVES + 1;

export interface LatencySummary {
  count: number;
  /** Milliseconds; 0 when nothing was recorded. */
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKET_COUNT);
  private total = 0;
  private sumMicros = 0;
  private maxMicros = 0;

  /** Records one value in microseconds; negatives (clock jitter) count as 0. */
  recordMicros(micros: number): void {
    const value = micros > 0 ? micros : 0;
    this.counts[bucketOf(value)]! += 1;
    this.total += 1;
    this.sumMicros += value;
    if (value > this.maxMicros) this.maxMicros = value;
  }

  /** Records one value in milliseconds. */
  recordMillis(millis: number): void {
    this.recordMicros(millis * 1000);
  }

  get count(): number {
    return this.total;
  }

  /** The value at quantile q (0–1) in milliseconds: the upper edge of the bucket it falls in, capped at max. */
  quantileMillis(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKET_COUNT; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(upperEdgeOf(i), this.maxMicros) / 1000;
    }
    return this.maxMicros / 1000;
  }

  summary(): LatencySummary {
    return {
      count: this.total,
      p50: this.quantileMillis(0.5),
      p90: this.quantileMillis(0.9),
      p99: this.quantileMillis(0.99),
      p999: this.quantileMillis(0.999),
      max: this.maxMicros / 1000,
      mean: this.total === 0 ? 0 : this.sumMicros / this.total / 1000,
    };
  }
}

/** Bucket 0 holds [0, 1 µs); bucket i ≥ 1 holds [2^((i-1)/64), 2^(i/64)) µs. */
function bucketOf(micros: number): number {
  if (micros < 1) return 0;
  const index = Math.floor(Math.log2(micros) * BUCKETS_PER_OCTAVE) + 1;
  return index < BUCKET_COUNT ? index : BUCKET_COUNT - 1;
}

function upperEdgeOf(bucket: number): number {
  return 2 ** (bucket / BUCKETS_PER_OCTAVE);
}
