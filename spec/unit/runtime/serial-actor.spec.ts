/**
 * The connection's mailbox (actors/runtime/serial-actor.ts): one message at a time, in the
 * order posted, never inside `post` itself, and a handler that rejects does not stop the ones
 * behind it.
 */
import { expect } from 'chai';
import { SerialActor } from '../../../actors/runtime/serial-actor.js';
import { waitFor } from '../../support/wait-for.js';

interface Step {
  name: string;
  /** Settles the handling of this message (a promise the spec resolves or rejects). */
  until?: Promise<void>;
}

/** Records when each message's handling starts and ends, and what crashed. */
class Recorder extends SerialActor<Step> {
  readonly log: string[] = [];
  readonly crashes: unknown[] = [];
  private inside = 0;
  maxInside = 0;

  send(step: Step): void {
    this.post(step);
  }

  protected async receive(step: Step): Promise<void> {
    this.inside++;
    this.maxInside = Math.max(this.maxInside, this.inside);
    this.log.push(`start ${step.name}`);
    try {
      await step.until;
      this.log.push(`end ${step.name}`);
    } finally {
      this.inside--;
    }
  }

  protected crashed(error: unknown): void {
    this.crashes.push(error);
  }
}

/** A promise and the functions that settle it. */
function gate(): { promise: Promise<void>; open: () => void; fail: (err: Error) => void } {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

describe('SerialActor', function () {
  it('handles nothing inside post: the poster finishes first', async function () {
    const actor = new Recorder();
    actor.send({ name: 'a' });
    expect(actor.log, 'right after post').to.deep.equal([]);
    await waitFor(() => actor.log.length === 2, { message: 'a handled' });
    expect(actor.log).to.deep.equal(['start a', 'end a']);
  });

  it('handles messages posted while one is in progress after it, one at a time and in order', async function () {
    const actor = new Recorder();
    const first = gate();
    actor.send({ name: 'a', until: first.promise });
    await waitFor(() => actor.log.length === 1, { message: 'a started' });
    actor.send({ name: 'b' });
    actor.send({ name: 'c' });
    expect(actor.log, 'b and c wait for a').to.deep.equal(['start a']);
    first.open();
    await waitFor(() => actor.log.length === 6, { message: 'all handled' });
    expect(actor.log).to.deep.equal(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(actor.maxInside).to.equal(1);
  });

  it('reports a rejected handling to crashed and goes on with the next message', async function () {
    const actor = new Recorder();
    const first = gate();
    actor.send({ name: 'a', until: first.promise });
    actor.send({ name: 'b' });
    first.fail(new Error('boom'));
    await waitFor(() => actor.log.includes('end b'), { message: 'b handled after a failed' });
    expect(actor.log).to.deep.equal(['start a', 'start b', 'end b']);
    expect(actor.crashes.map((e) => (e as Error).message)).to.deep.equal(['boom']);
  });

  it('starts afresh when posted to again after its queue ran empty', async function () {
    const actor = new Recorder();
    actor.send({ name: 'a' });
    await waitFor(() => actor.log.length === 2, { message: 'a handled' });
    actor.send({ name: 'b' });
    await waitFor(() => actor.log.length === 4, { message: 'b handled' });
    expect(actor.log).to.deep.equal(['start a', 'end a', 'start b', 'end b']);
  });
});
