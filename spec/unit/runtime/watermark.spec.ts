/**
 * The watermark of a partition: the offset to commit is always the lowest one not yet
 * finished, whatever order records finish in, so a crash replays and never skips.
 */
import { expect } from 'chai';
import { Watermark } from '../../../actors/runtime/watermark.js';

function tracked(start: number, offsets: readonly number[]): Watermark {
  const watermark = new Watermark(start);
  for (const offset of offsets) watermark.track(offset);
  return watermark;
}

describe('Watermark', function () {
  it('commits the start offset before anything is tracked', function () {
    const watermark = new Watermark(42);
    expect(watermark.committable()).to.equal(42);
    expect(watermark.inFlight).to.equal(0);
  });

  it('commits the lowest unfinished offset while later ones finish first', function () {
    const watermark = tracked(10, [10, 11, 12, 13]);
    expect(watermark.committable()).to.equal(10);
    watermark.finish(12);
    watermark.finish(11);
    expect(watermark.committable(), 'offset 10 is still unfinished').to.equal(10);
    watermark.finish(10);
    expect(watermark.committable(), 'jumps over the finished 11 and 12').to.equal(13);
  });

  it('counts as in flight every record from the commit point on (what a crash would replay)', function () {
    const watermark = tracked(10, [10, 11, 12, 13]);
    watermark.finish(12);
    watermark.finish(11);
    expect(watermark.inFlight, 'finished 11 and 12 still sit behind the unfinished 10').to.equal(4);
    watermark.finish(10);
    expect(watermark.inFlight).to.equal(1);
    watermark.finish(13);
    expect(watermark.inFlight).to.equal(0);
  });

  it('commits one past the last tracked offset once nothing is in flight', function () {
    const watermark = tracked(0, [0, 1, 2]);
    watermark.finish(2);
    watermark.finish(0);
    watermark.finish(1);
    expect(watermark.inFlight).to.equal(0);
    expect(watermark.committable()).to.equal(3);
  });

  it('skips offsets that were never tracked (gaps in the log)', function () {
    const watermark = tracked(5, [5, 9, 20, 21]);
    watermark.finish(5);
    expect(watermark.committable(), 'no record between 5 and 9').to.equal(9);
    watermark.finish(20);
    expect(watermark.committable()).to.equal(9);
    watermark.finish(9);
    expect(watermark.committable()).to.equal(21);
    watermark.finish(21);
    expect(watermark.committable(), 'one past the last tracked, not past the gap').to.equal(22);
  });

  it('keeps tracking after everything finished and new records arrive', function () {
    const watermark = tracked(0, [0, 1]);
    watermark.finish(0);
    watermark.finish(1);
    watermark.track(2);
    watermark.track(3);
    expect(watermark.committable()).to.equal(2);
    watermark.finish(3);
    expect(watermark.committable()).to.equal(2);
    watermark.finish(2);
    expect(watermark.committable()).to.equal(4);
  });

  it('stays exact over long runs that compact its storage (more than 1024 finished at the head)', function () {
    const count = 5000;
    const offsets = Array.from({ length: count }, (_, i) => 100 + i * 2); // with gaps
    const watermark = tracked(100, offsets);
    // Finish in order, all but the last 10: crosses the compaction threshold several times.
    for (let i = 0; i < count - 10; i++) {
      watermark.finish(offsets[i]!);
      expect(watermark.committable()).to.equal(offsets[i + 1]);
    }
    expect(watermark.inFlight).to.equal(10);
    // The rest out of order: the commit point waits for the lowest one.
    const rest = offsets.slice(count - 10);
    for (const offset of rest.slice(1).reverse()) watermark.finish(offset);
    expect(watermark.committable()).to.equal(rest[0]);
    watermark.finish(rest[0]!);
    expect(watermark.inFlight).to.equal(0);
    expect(watermark.committable()).to.equal(offsets[count - 1]! + 1);
  });

  it('stays exact when compaction happens with out-of-order finishes pending behind the head', function () {
    const count = 3000;
    const watermark = tracked(0, Array.from({ length: count }, (_, i) => i));
    // Finish every odd offset first (out of order), then the even ones: each even finish moves
    // the head over the next odd one, and the head passes 1024 while odds are still pending.
    for (let i = 1; i < count; i += 2) watermark.finish(i);
    expect(watermark.committable()).to.equal(0);
    for (let i = 0; i < count; i += 2) {
      watermark.finish(i);
      const expected = i + 2 < count ? i + 2 : count;
      expect(watermark.committable()).to.equal(expected);
    }
    expect(watermark.inFlight).to.equal(0);
  });

  it('holds at an unfinished record while thousands after it finish', function () {
    const count = 4000;
    const watermark = tracked(0, Array.from({ length: count }, (_, i) => i));
    watermark.finish(0);
    for (let i = 2; i < count; i++) watermark.finish(i);
    expect(watermark.committable()).to.equal(1);
    expect(watermark.inFlight).to.equal(count - 1);
    watermark.finish(1);
    expect(watermark.committable()).to.equal(count);
    expect(watermark.inFlight).to.equal(0);
  });
});
