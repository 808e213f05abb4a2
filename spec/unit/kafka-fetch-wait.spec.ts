import { expect } from 'chai';
import { AdaptiveFetchWait } from '../../transport/log/kafka-fetch-wait.js';

describe('AdaptiveFetchWait', () => {
  let now: number;
  const wait = (): AdaptiveFetchWait => new AdaptiveFetchWait({ activeMs: 20, idleMs: 250, idleAfterMs: 1000 }, () => now);

  beforeEach(() => {
    now = 5_000;
  });

  it('asks for the active wait until fetches have come back empty for idleAfterMs', () => {
    const w = wait();
    expect(w.waitMs).to.equal(20);
    w.observe(0);
    now += 999;
    w.observe(0);
    expect(w.waitMs).to.equal(20);
    now += 1;
    expect(w.waitMs).to.equal(250);
  });

  it('goes back to the active wait with the first fetch that brings records', () => {
    const w = wait();
    w.observe(0);
    now += 5_000;
    expect(w.waitMs).to.equal(250);
    w.observe(3);
    expect(w.waitMs).to.equal(20);
    // The next quiet second starts from the next empty fetch, not from the first one.
    w.observe(0);
    now += 500;
    expect(w.waitMs).to.equal(20);
  });
});
