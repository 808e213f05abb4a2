/**
 * everyMs (actors/runtime/shared-interval.ts): ticks of one period share one timer and run in
 * the same callback, cancelling the last one clears the timer, and a tick that throws does not
 * keep the others from running.
 */
import { expect } from 'chai';
import { everyMs, sharedIntervalCount } from '../../../actors/runtime/shared-interval.js';
import { waitFor } from '../../support/wait-for.js';

describe('everyMs', function () {
  const cancels: Array<() => void> = [];

  afterEach(function () {
    for (const cancel of cancels.splice(0)) cancel();
  });

  it('runs the ticks of one period in the same timer callback, with one timer per period', async function () {
    const before = sharedIntervalCount();
    const order: string[] = [];
    cancels.push(everyMs(23, () => order.push('a')));
    cancels.push(everyMs(23, () => order.push('b')));
    cancels.push(everyMs(29, () => undefined));
    expect(sharedIntervalCount()).to.equal(before + 2);
    await waitFor(() => order.length >= 4, { message: 'two rounds of ticks' });
    // Both ran in each round, back to back: the order alternates.
    expect(order.slice(0, 4)).to.deep.equal(['a', 'b', 'a', 'b']);
  });

  it('clears the timer of a period once its last tick is cancelled, and a cancel runs once', async function () {
    const before = sharedIntervalCount();
    const first = everyMs(31, () => undefined);
    const second = everyMs(31, () => undefined);
    expect(sharedIntervalCount()).to.equal(before + 1);
    first();
    first();
    expect(sharedIntervalCount()).to.equal(before + 1);
    second();
    expect(sharedIntervalCount()).to.equal(before);
  });

  it('keeps running the other ticks of a round when one throws', async function () {
    const thrown: unknown[] = [];
    const onUncaught = (err: unknown): void => void thrown.push(err);
    const mochaHandlers = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', onUncaught);
    try {
      let ran = 0;
      cancels.push(everyMs(37, () => {
        throw new Error('tick failed (on cue)');
      }));
      cancels.push(everyMs(37, () => void ran++));
      await waitFor(() => ran >= 2 && thrown.length >= 2, { message: 'the healthy tick to run twice beside the failing one' });
      expect((thrown[0] as Error).message).to.equal('tick failed (on cue)');
    } finally {
      process.removeListener('uncaughtException', onUncaught);
      for (const handler of mochaHandlers) process.on('uncaughtException', handler);
    }
  });
});
