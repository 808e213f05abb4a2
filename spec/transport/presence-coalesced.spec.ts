/**
 * CoalescedLookups (transport/presence/coalesced-lookups.ts): the Presence contract over the
 * in-process presence, then what the decorator itself promises: one backing lookup per turn,
 * each caller answered with its own users only, and a failed backing lookup rejecting every
 * caller in it.
 */
import { expect } from 'chai';
import { TroupeError } from '../../transport/errors.js';
import { CoalescedLookups } from '../../transport/presence/coalesced-lookups.js';
import { MemoryPresence } from '../../transport/presence/memory.js';
import type { PresenceEntry } from '../../transport/presence/port.js';
import { describePresenceContract } from '../contract/presence.contract.js';
import { expectTroupeRejection } from '../support/expect-rejection.js';

describePresenceContract('CoalescedLookups over MemoryPresence', async () => {
  const presence = new CoalescedLookups(new MemoryPresence());
  return { presence, cleanup: () => presence.close() };
});

/** A MemoryPresence whose lookups can be made to fail, and which counts them. */
class FailingOnCue extends MemoryPresence {
  failWith: Error | null = null;
  lookups: string[][] = [];

  override lookup(userIds: readonly string[]): Promise<Map<string, PresenceEntry[]>> {
    this.lookups.push([...userIds]);
    return this.failWith === null ? super.lookup(userIds) : Promise.reject(this.failWith);
  }
}

describe('CoalescedLookups', function () {
  let inner: FailingOnCue;
  let presence: CoalescedLookups;

  beforeEach(async function () {
    inner = new FailingOnCue();
    presence = new CoalescedLookups(inner);
    await presence.add('u1', { connId: 'c1', gatewayId: 'gw-1' }, 60_000);
    await presence.add('u2', { connId: 'c2', gatewayId: 'gw-2' }, 60_000);
    await presence.add('u3', { connId: 'c3', gatewayId: 'gw-1' }, 60_000);
  });

  afterEach(async function () {
    await presence.close();
  });

  it('sends the lookups of one turn as one backing lookup of all their users', async function () {
    const [a, b, c] = await Promise.all([presence.lookup(['u1', 'u2']), presence.lookup(['u2', 'u3']), presence.lookup(['nobody'])]);
    expect(inner.lookups).to.have.length(1);
    expect([...inner.lookups[0]!].sort()).to.deep.equal(['nobody', 'u1', 'u2', 'u3']);
    expect(presence.lookupsSent).to.equal(1);
    expect([...a.keys()].sort()).to.deep.equal(['u1', 'u2']);
    expect([...b.keys()].sort()).to.deep.equal(['u2', 'u3']);
    expect(c.size).to.equal(0);
    expect(b.get('u3')).to.deep.equal([{ connId: 'c3', gatewayId: 'gw-1' }]);
  });

  it('sends lookups of different turns separately, each seeing what was added before it', async function () {
    expect((await presence.lookup(['u4'])).size).to.equal(0);
    await presence.add('u4', { connId: 'c4', gatewayId: 'gw-2' }, 60_000);
    expect((await presence.lookup(['u4'])).get('u4')).to.deep.equal([{ connId: 'c4', gatewayId: 'gw-2' }]);
    expect(inner.lookups).to.deep.equal([['u4'], ['u4']]);
  });

  it('rejects every caller of a failed backing lookup with its error, and the next turn looks up afresh', async function () {
    inner.failWith = new TroupeError('unavailable', 'redis down (on cue)');
    const calls = [presence.lookup(['u1']), presence.lookup(['u2'])];
    for (const call of calls) await expectTroupeRejection(call, 'unavailable');
    inner.failWith = null;
    expect((await presence.lookup(['u1'])).get('u1')).to.deep.equal([{ connId: 'c1', gatewayId: 'gw-1' }]);
  });
});
