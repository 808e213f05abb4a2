/**
 * Chore (actors/runtime/shared-interval.ts): chores of one period share one timer and run in
 * the same callback; a chore with nothing left to do leaves the timer until woken, and a period
 * without chores has no timer; a chore that throws does not keep the others from running.
 */
import { expect } from 'chai';
import { Chore, sharedIntervalCount } from '../../../actors/runtime/shared-interval.js';
import { waitFor } from '../../support/wait-for.js';

describe('Chore', function () {
  const chores: Chore[] = [];

  function chore(periodMs: number, run: () => boolean): Chore {
    const made = new Chore(periodMs, run);
    chores.push(made);
    return made;
  }

  afterEach(function () {
    for (const made of chores.splice(0)) made.cancel();
  });

  it('runs the woken chores of one period in the same timer callback, with one timer per period', async function () {
    const before = sharedIntervalCount();
    const order: string[] = [];
    chore(23, () => order.push('a') > 0).wake();
    chore(23, () => order.push('b') > 0).wake();
    chore(29, () => true).wake();
    expect(sharedIntervalCount()).to.equal(before + 2);
    await waitFor(() => order.length >= 4, { message: 'two rounds of chores' });
    // Both ran in each round, back to back: the order alternates.
    expect(order.slice(0, 4)).to.deep.equal(['a', 'b', 'a', 'b']);
  });

  it('does not run before it is woken, and a second wake while ticking changes nothing', async function () {
    let sleeperRuns = 0;
    let clockRuns = 0;
    const sleeper = chore(31, () => ++sleeperRuns > 0);
    chore(31, () => ++clockRuns > 0).wake();
    await waitFor(() => clockRuns >= 2, { message: 'a woken chore of the same period to run twice' });
    expect(sleeperRuns, 'runs of the chore nobody woke').to.equal(0);
    const before = sharedIntervalCount();
    sleeper.wake();
    sleeper.wake();
    expect(sharedIntervalCount()).to.equal(before);
    const at = clockRuns;
    await waitFor(() => clockRuns >= at + 2, { message: 'two more rounds' });
    // Woken twice, it still ran once per round.
    expect(sleeperRuns).to.be.within(clockRuns - at - 1, clockRuns - at + 1);
  });

  it('leaves the timer once it has nothing to do, clears a period without chores, and runs again when woken', async function () {
    const before = sharedIntervalCount();
    let work = 2;
    let runs = 0;
    const job = chore(37, () => {
      runs++;
      return --work > 0;
    });
    job.wake();
    await waitFor(() => sharedIntervalCount() === before, { message: 'the timer to go once the work is done' });
    expect(runs).to.equal(2);
    work = 1;
    job.wake();
    await waitFor(() => runs === 3 && sharedIntervalCount() === before, { message: 'one more run after a wake, then no timer' });
  });

  it('stops for good once cancelled, and a cancel clears the period it leaves empty', function () {
    const before = sharedIntervalCount();
    const first = chore(41, () => true);
    const second = chore(41, () => true);
    first.wake();
    second.wake();
    expect(sharedIntervalCount()).to.equal(before + 1);
    first.cancel();
    first.wake();
    expect(sharedIntervalCount()).to.equal(before + 1);
    second.cancel();
    expect(sharedIntervalCount()).to.equal(before);
  });

  it('keeps running the other chores of a round when one throws, and keeps the one that threw', async function () {
    const thrown: unknown[] = [];
    const onUncaught = (err: unknown): void => void thrown.push(err);
    const mochaHandlers = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', onUncaught);
    try {
      let ran = 0;
      chore(43, () => {
        throw new Error('chore failed (on cue)');
      }).wake();
      chore(43, () => ++ran > 0).wake();
      await waitFor(() => ran >= 2 && thrown.length >= 2, { message: 'the healthy chore to run twice beside the failing one' });
      expect((thrown[0] as Error).message).to.equal('chore failed (on cue)');
    } finally {
      process.removeListener('uncaughtException', onUncaught);
      for (const handler of mochaHandlers) process.on('uncaughtException', handler);
    }
  });
});
