/**
 * The open-loop schedule on a fake clock: send i is due at startAt + i/rate whatever happened
 * before, so a generator that falls behind sends the late ones at once, each keeping its intended
 * time (latency counts the wait: no coordinated omission).
 */
import { expect } from 'chai';
import { OpenLoopSchedule } from '../../bench/lib/open-loop.js';

describe('bench: open-loop schedule', () => {
  it('hands out each send when due, with its intended time', () => {
    const schedule = new OpenLoopSchedule({ rate: 100, startAt: 1000, total: 5 });
    expect(schedule.due(999)).to.deep.equal([]);
    expect(schedule.due(1000)).to.deep.equal([{ index: 0, intendedAt: 1000 }]);
    expect(schedule.due(1015)).to.deep.equal([{ index: 1, intendedAt: 1010 }]);
    expect(schedule.handedOut).to.equal(2);
    expect(schedule.endsAt).to.equal(1040);
  });

  it('a late tick gets every overdue send at once, keeping their intended times', () => {
    const schedule = new OpenLoopSchedule({ rate: 10, startAt: 0, total: 100 });
    // The generator was stalled for half a second: sends 0..5 are overdue.
    const late = schedule.due(500);
    expect(late.map((s) => s.index)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(late.map((s) => s.intendedAt)).to.deep.equal([0, 100, 200, 300, 400, 500]);
    expect(schedule.due(550)).to.deep.equal([]);
  });

  it('caps a tick at maxPerTick and catches up on the next, never skipping a send', () => {
    const schedule = new OpenLoopSchedule({ rate: 1000, startAt: 0, total: 10, maxPerTick: 4 });
    expect(schedule.due(100).map((s) => s.index)).to.deep.equal([0, 1, 2, 3]);
    expect(schedule.due(100).map((s) => s.index)).to.deep.equal([4, 5, 6, 7]);
    expect(schedule.done).to.equal(false);
    expect(schedule.due(100).map((s) => s.index)).to.deep.equal([8, 9]);
    expect(schedule.done).to.equal(true);
    expect(schedule.due(10_000)).to.deep.equal([]);
  });
});
