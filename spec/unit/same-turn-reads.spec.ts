/**
 * SameTurnReads (transport/log/same-turn-reads.ts): reads of one key asked for in the same
 * turn share one request, made after all of them were asked; other keys and later turns read
 * afresh; a failed read rejects everyone who shared it.
 */
import { expect } from 'chai';
import { SameTurnReads } from '../../transport/log/same-turn-reads.js';

describe('SameTurnReads', function () {
  it('makes one read for the same key asked for in one turn, after all of them were asked', async function () {
    const made: string[] = [];
    let value = 1;
    const reads = new SameTurnReads(async (key) => {
      made.push(key);
      return `${key}=${value}`;
    });
    const first = reads.get('t');
    value = 2; // changed after the first ask, before the request: every sharer sees it
    const [a, b, c] = await Promise.all([first, reads.get('t'), reads.get('u')]);
    expect(made).to.deep.equal(['t', 'u']);
    expect([a, b, c]).to.deep.equal(['t=2', 't=2', 'u=2']);
  });

  it('reads again in a later turn', async function () {
    let reads = 0;
    const sameTurn = new SameTurnReads(async () => ++reads);
    expect(await sameTurn.get('t')).to.equal(1);
    expect(await sameTurn.get('t')).to.equal(2);
  });

  it('rejects every sharer of a failed read, and the next turn reads afresh', async function () {
    let fail = true;
    const reads = new SameTurnReads(async (key) => {
      if (fail) throw new Error(`broker down (on cue) reading ${key}`);
      return key;
    });
    const results = await Promise.allSettled([reads.get('t'), reads.get('t')]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
    fail = false;
    expect(await reads.get('t')).to.equal('t');
  });
});
