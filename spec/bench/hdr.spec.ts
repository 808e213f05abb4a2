/**
 * Histograms as the workers ship them: encoded, merged by the parent. A percentile of the merged
 * histogram must equal the percentile of all values recorded in one place (an average of the
 * workers' percentiles would not).
 */
import { expect } from 'chai';
import { decodeHistogram, encodeHistogram, mergeEncoded, newHistogram, percentileCurve, percentileMillis, recordMillis, summarize } from '../../bench/lib/hdr.js';

describe('bench: HDR histograms across workers', () => {
  it('merging encoded histograms gives the percentiles of every value together', () => {
    const together = newHistogram();
    const workers = [newHistogram(), newHistogram(), newHistogram()];
    for (let i = 1; i <= 3000; i++) {
      const millis = (i % 997) / 10 + (i % 3 === 0 ? 40 : 0);
      recordMillis(workers[i % 3]!, millis);
      recordMillis(together, millis);
    }
    const merged = mergeEncoded(workers.map(encodeHistogram));
    expect(merged.totalCount).to.equal(3000);
    for (const p of [50, 90, 99, 99.9, 100]) expect(percentileMillis(merged, p), `p${p}`).to.equal(percentileMillis(together, p));
    // One worker saw only the slow third: its p50 is far from the whole run's.
    expect(percentileMillis(workers[0]!, 50)).to.be.greaterThan(percentileMillis(merged, 50) + 10);
  });

  it('keeps 3 significant digits, clamps negative latencies (clock jitter) to 0', () => {
    const h = newHistogram();
    recordMillis(h, 12.345);
    recordMillis(h, -0.2);
    const back = decodeHistogram(encodeHistogram(h));
    expect(back.totalCount).to.equal(2);
    expect(percentileMillis(back, 100)).to.be.closeTo(12.345, 0.02);
    expect(percentileMillis(back, 1)).to.equal(0);
  });

  it('an empty histogram summarises to zeros and leaves its side out of the curve', () => {
    const empty = newHistogram();
    expect(summarize(empty)).to.deep.equal({ count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 });
    const ack = newHistogram();
    recordMillis(ack, 5);
    const curve = percentileCurve(ack, empty);
    expect(curve.every((p) => p.ackMs !== undefined && p.deliveryMs === undefined)).to.equal(true);
  });
});
