/**
 * The per-second timeline of a scenario: every worker's ticks of a second added up (their
 * histograms merged, so the percentiles are those of the whole second, not an average), beside
 * the resource sampler's readings of the same second.
 */
import type { Tick } from '../gen/protocol.js';
import { decodeHistogram, newHistogram, percentileMillis, type Histogram } from '../lib/hdr.js';
import type { ResourceSample } from '../lib/resource-sampler.js';
import type { TimelinePoint } from '../report/types.js';

interface Second {
  sent: number;
  acked: number;
  delivered: number;
  ack: Histogram;
  delivery: Histogram;
}

export class TimelineBuilder {
  private readonly seconds = new Map<number, Second>();

  /** Adds a worker's tick of a phase that started `offsetSec` seconds after the timeline's origin. */
  addTick(tick: Tick, offsetSec = 0): void {
    const t = tick.t + offsetSec;
    let second = this.seconds.get(t);
    if (second === undefined) this.seconds.set(t, (second = { sent: 0, acked: 0, delivered: 0, ack: newHistogram(), delivery: newHistogram() }));
    second.sent += tick.sent;
    second.acked += tick.acked;
    second.delivered += tick.delivered;
    second.ack.add(decodeHistogram(tick.ackHistogram));
    second.delivery.add(decodeHistogram(tick.deliveryHistogram));
  }

  /** The newest second's delivery and ack p99 (ms), for progress lines. */
  latest(): { t: number; ackP99: number; deliveryP99: number } | undefined {
    if (this.seconds.size === 0) return undefined;
    const t = Math.max(...this.seconds.keys());
    const s = this.seconds.get(t)!;
    return { t, ackP99: percentileMillis(s.ack, 99), deliveryP99: percentileMillis(s.delivery, 99) };
  }

  /** One point per second that has ticks or samples, in order. */
  build(samples: readonly ResourceSample[] = []): TimelinePoint[] {
    const bySecond = new Map<number, ResourceSample>();
    for (const sample of samples) bySecond.set(Math.round(sample.t), sample);
    const ts = [...new Set([...this.seconds.keys(), ...[...bySecond.keys()].filter((t) => t >= 1)])].sort((a, b) => a - b);
    return ts.map((t) => {
      const s = this.seconds.get(t);
      const r = bySecond.get(t);
      const point: TimelinePoint = { t };
      if (s !== undefined) {
        point.sentPerSec = s.sent;
        point.ackedPerSec = s.acked;
        point.deliveredPerSec = s.delivered;
        if (s.ack.totalCount > 0) {
          point.ackP50 = percentileMillis(s.ack, 50);
          point.ackP99 = percentileMillis(s.ack, 99);
        }
        if (s.delivery.totalCount > 0) {
          point.deliveryP50 = percentileMillis(s.delivery, 50);
          point.deliveryP99 = percentileMillis(s.delivery, 99);
        }
      }
      if (r !== undefined) {
        point.generatorCpuPct = r.generatorCpuPct;
        if (r.serverCpuPct !== undefined) point.serverCpuPct = r.serverCpuPct;
        if (r.serverRssBytes !== undefined) point.serverRssBytes = r.serverRssBytes;
      }
      return point;
    });
  }
}
