/**
 * The Presence contract (transport/presence/port.ts), run against every implementation:
 * spec/transport/presence-memory.spec.ts and spec/transport/presence-redis.spec.ts.
 *
 * The factory takes no prefix: every test invents its own user, connection and gateway ids
 * with uniqueName, so runs can share one Redis without seeing each other's entries. Expiry is
 * checked with short TTLs and a control entry whose expiry marks the passing of time.
 */
import { expect } from 'chai';
import type { Presence, PresenceEntry } from '../../transport/presence/port.js';
import { uniqueName, waitFor } from '../support/wait-for.js';

export interface PresenceUnderTest {
  presence: Presence;
  /** Closes the presence store and whatever the factory started. Called after each test. */
  cleanup(): Promise<void>;
}

/** TTL of entries a test never waits to expire. */
const LONG_TTL_MS = 60_000;
/** TTL of entries a test waits to expire. */
const SHORT_TTL_MS = 300;

function byConnId(entries: readonly PresenceEntry[] | undefined): PresenceEntry[] {
  return [...(entries ?? [])]
    .map((e) => ({ connId: e.connId, gatewayId: e.gatewayId }))
    .sort((a, b) => (a.connId < b.connId ? -1 : 1));
}

export function describePresenceContract(name: string, factory: () => Promise<PresenceUnderTest>): void {
  describe(`Presence contract: ${name}`, function () {
    this.timeout(20_000);

    let sut: PresenceUnderTest;
    let presence: Presence;
    let id: string;

    beforeEach(async function () {
      sut = await factory();
      presence = sut.presence;
      id = uniqueName('presence');
    });

    afterEach(async function () {
      await sut.cleanup();
    });

    async function entriesOf(userId: string): Promise<PresenceEntry[]> {
      return byConnId((await presence.lookup([userId])).get(userId));
    }

    it('sees an added entry until it is removed', async function () {
      const user = `${id}-u1`;
      await presence.add(user, { connId: `${id}-c1`, gatewayId: 'gw-1' }, LONG_TTL_MS);
      expect(await entriesOf(user)).to.deep.equal([{ connId: `${id}-c1`, gatewayId: 'gw-1' }]);
      await presence.remove(user, `${id}-c1`);
      const result = await presence.lookup([user]);
      expect(result.has(user)).to.equal(false);
      await presence.remove(user, `${id}-c1`);
    });

    it('answers for many users in one lookup, leaving out users with no live entry', async function () {
      const users = [1, 2, 3].map((n) => `${id}-u${n}`);
      for (const [n, user] of users.entries()) {
        await presence.add(user, { connId: `${id}-c${n}`, gatewayId: `gw-${n}` }, LONG_TTL_MS);
      }
      const absent = `${id}-nobody`;
      const result = await presence.lookup([...users, absent]);
      expect([...result.keys()].sort()).to.deep.equal([...users].sort());
      for (const [n, user] of users.entries()) {
        expect(byConnId(result.get(user))).to.deep.equal([{ connId: `${id}-c${n}`, gatewayId: `gw-${n}` }]);
      }
      expect((await presence.lookup([])).size).to.equal(0);
    });

    it('lists the connections of one user on two gateways, and removing one keeps the other', async function () {
      const user = `${id}-u1`;
      const onA = { connId: `${id}-a`, gatewayId: 'gw-a' };
      const onB = { connId: `${id}-b`, gatewayId: 'gw-b' };
      await presence.add(user, onA, LONG_TTL_MS);
      await presence.add(user, onB, LONG_TTL_MS);
      expect(await entriesOf(user)).to.deep.equal([onA, onB]);
      await presence.remove(user, onA.connId);
      expect(await entriesOf(user)).to.deep.equal([onB]);
    });

    it('replaces the entry of a connection that is added again', async function () {
      const user = `${id}-u1`;
      await presence.add(user, { connId: `${id}-c1`, gatewayId: 'gw-old' }, LONG_TTL_MS);
      await presence.add(user, { connId: `${id}-c1`, gatewayId: 'gw-new' }, LONG_TTL_MS);
      expect(await entriesOf(user)).to.deep.equal([{ connId: `${id}-c1`, gatewayId: 'gw-new' }]);
    });

    it('expires an entry after its TTL while a refreshed entry of the same user stays', async function () {
      const user = `${id}-u1`;
      const stale = { connId: `${id}-stale`, gatewayId: 'gw-dead' };
      const live = { connId: `${id}-live`, gatewayId: 'gw-live' };
      const control = `${id}-control`;
      await presence.add(user, stale, SHORT_TTL_MS);
      await presence.add(user, live, SHORT_TTL_MS);
      await presence.refresh([{ userId: user, connId: live.connId }], LONG_TTL_MS);
      // Added last with the short TTL: once it has expired, so would `live` have without the refresh.
      await presence.add(control, { connId: `${id}-control`, gatewayId: 'gw-dead' }, SHORT_TTL_MS);
      await waitFor(async () => !(await presence.lookup([control])).has(control), { message: 'the control entry to expire' });
      expect(await entriesOf(user)).to.deep.equal([live]);
    });

    it('drops every entry of a user once all have expired', async function () {
      const user = `${id}-u1`;
      await presence.add(user, { connId: `${id}-c1`, gatewayId: 'gw-1' }, SHORT_TTL_MS);
      await presence.add(user, { connId: `${id}-c2`, gatewayId: 'gw-2' }, SHORT_TTL_MS);
      await waitFor(async () => !(await presence.lookup([user])).has(user), { message: 'the entries to expire' });
    });

    it('does not revive a removed entry on refresh', async function () {
      const user = `${id}-u1`;
      await presence.add(user, { connId: `${id}-c1`, gatewayId: 'gw-1' }, LONG_TTL_MS);
      await presence.remove(user, `${id}-c1`);
      await presence.refresh([{ userId: user, connId: `${id}-c1` }], LONG_TTL_MS);
      expect((await presence.lookup([user])).has(user)).to.equal(false);
    });

    it('does not revive an expired entry on refresh', async function () {
      const user = `${id}-u1`;
      const live = { connId: `${id}-live`, gatewayId: 'gw-live' };
      await presence.add(user, { connId: `${id}-stale`, gatewayId: 'gw-dead' }, SHORT_TTL_MS);
      // Keeps the user's other entries stored, so the expired one is refused rather than simply missing.
      await presence.add(user, live, LONG_TTL_MS);
      const control = `${id}-control`;
      await presence.add(control, { connId: `${id}-control`, gatewayId: 'gw-dead' }, SHORT_TTL_MS);
      await waitFor(async () => !(await presence.lookup([control])).has(control), { message: 'the control entry to expire' });
      await presence.refresh([{ userId: user, connId: `${id}-stale` }], LONG_TTL_MS);
      expect(await entriesOf(user)).to.deep.equal([live]);
    });
  });
}
