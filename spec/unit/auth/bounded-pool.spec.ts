import { expect } from 'chai';
import { BoundedPool } from '../../../actors/auth/bounded-pool.js';
import { expectRejection, expectThrow } from './expect-rejection.js';

/** A job whose end the test decides, and which records how many jobs ran beside it. */
interface HeldJob {
  started: boolean;
  finish: () => void;
  fail: (err: unknown) => void;
  run: () => Promise<string>;
}

function heldJob(name: string, tracker: { now: number; peak: number }): HeldJob {
  let finish!: () => void;
  let fail!: (err: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const job: HeldJob = {
    started: false,
    finish: () => finish(),
    fail: (err) => fail(err),
    run: async () => {
      job.started = true;
      tracker.now++;
      tracker.peak = Math.max(tracker.peak, tracker.now);
      try {
        await done;
        return name;
      } finally {
        tracker.now--;
      }
    },
  };
  return job;
}

/** Lets promise callbacks queued so far run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('BoundedPool', () => {
  it('never runs more than its concurrency at once and starts waiters in arrival order', async () => {
    const pool = new BoundedPool({ concurrency: 2, maxQueue: 10, name: 'test pool' });
    const tracker = { now: 0, peak: 0 };
    const jobs = Array.from({ length: 6 }, (_, i) => heldJob(`j${i}`, tracker));
    const results = jobs.map((j) => pool.run(j.run));
    await settle();
    expect(jobs.map((j) => j.started)).to.deep.equal([true, true, false, false, false, false]);
    expect(pool.running).to.equal(2);
    expect(pool.queued).to.equal(4);

    jobs[1]?.finish();
    await settle();
    expect(jobs.map((j) => j.started)).to.deep.equal([true, true, true, false, false, false]);
    expect(pool.running).to.equal(2);

    for (const j of jobs) j.finish();
    expect(await Promise.all(results)).to.deep.equal(['j0', 'j1', 'j2', 'j3', 'j4', 'j5']);
    expect(tracker.peak).to.equal(2);
    expect(pool.running).to.equal(0);
    expect(pool.queued).to.equal(0);
  });

  it('refuses a job past the queue bound with a retriable unavailable, without running it', async () => {
    const pool = new BoundedPool({ concurrency: 1, maxQueue: 2, name: 'test pool' });
    const tracker = { now: 0, peak: 0 };
    const held = [heldJob('a', tracker), heldJob('b', tracker), heldJob('c', tracker)];
    const accepted = held.map((j) => pool.run(j.run));
    let ranRefused = false;
    const err = await expectRejection(pool.run(async () => { ranRefused = true; }), 'unavailable', 'test pool');
    expect(err.retriable).to.equal(true);
    expect(ranRefused).to.equal(false);
    for (const j of held) j.finish();
    await Promise.all(accepted);
    // Once drained, it takes work again.
    expect(await pool.run(async () => 'again')).to.equal('again');
  });

  it('with a zero queue refuses any job while every slot is busy', async () => {
    const pool = new BoundedPool({ concurrency: 1, maxQueue: 0, name: 'test pool' });
    const job = heldJob('a', { now: 0, peak: 0 });
    const first = pool.run(job.run);
    await expectRejection(pool.run(async () => 'b'), 'unavailable');
    job.finish();
    expect(await first).to.equal('a');
  });

  it('frees the slot of a job that fails and passes its error through', async () => {
    const pool = new BoundedPool({ concurrency: 1, maxQueue: 1, name: 'test pool' });
    const tracker = { now: 0, peak: 0 };
    const failing = heldJob('x', tracker);
    const next = heldJob('y', tracker);
    const first = pool.run(failing.run);
    const second = pool.run(next.run);
    failing.fail(new Error('boom'));
    let caught: unknown;
    try {
      await first;
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).to.equal('boom');
    await settle();
    expect(next.started).to.equal(true);
    next.finish();
    expect(await second).to.equal('y');
    expect(pool.running).to.equal(0);
  });

  it('refuses a size below 1 or a negative queue as configuration errors', () => {
    expectThrow(() => new BoundedPool({ concurrency: 0, maxQueue: 1, name: 'p' }), 'config');
    expectThrow(() => new BoundedPool({ concurrency: 1.5, maxQueue: 1, name: 'p' }), 'config');
    expectThrow(() => new BoundedPool({ concurrency: 1, maxQueue: -1, name: 'p' }), 'config');
  });
});
