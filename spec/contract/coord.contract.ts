/**
 * The Coordinator contract (transport/coord/port.ts), run against every implementation:
 * spec/transport/coord-local.spec.ts now, the etcd implementation later.
 *
 * Each test gets a fresh coordinator from `factory` and works under its own unique key prefix,
 * so runs can share one etcd. Waits are generous because etcd answers over the network and its
 * leases expire in whole seconds.
 */
import { expect } from 'chai';
import type { Coordinator, KeyValue, Lease, WatchEvent, Watcher } from '../../transport/coord/port.js';
import { expectTroupeRejection } from '../support/expect-rejection.js';
import { uniqueName, waitFor } from '../support/wait-for.js';

export interface CoordUnderTest {
  coord: Coordinator;
  /** Closes the coordinator and whatever the factory started. Called after each test. */
  cleanup(): Promise<void>;
  /**
   * Makes `lease` lost as if its TTL ran out (for etcd: revoke it from another client, or let
   * a short TTL run out).
   */
  expireLease: (lease: Lease) => Promise<void>;
}

const WAIT = { timeoutMs: 15_000 };
/** Lease TTL for tests that do not wait for expiry: long enough for etcd's minimum. */
const TTL_MS = 5_000;
function describeEvent(event: WatchEvent): string {
  return event.type === 'put' ? `put ${event.kv.key}=${event.kv.value}` : `delete ${event.key}`;
}

function revisionOf(event: WatchEvent): number {
  return event.type === 'put' ? event.kv.modRevision : event.modRevision;
}

function expectPositiveRevision(revision: number): void {
  expect(Number.isSafeInteger(revision) && revision > 0, `revision ${revision}`).to.equal(true);
}

export function describeCoordContract(name: string, factory: () => Promise<CoordUnderTest>): void {
  describe(`Coordinator contract: ${name}`, function () {
    this.timeout(30_000);

    let sut: CoordUnderTest;
    let coord: Coordinator;
    let prefix: string;
    let leases: Lease[];
    let watchers: Watcher[];

    beforeEach(async function () {
      sut = await factory();
      coord = sut.coord;
      prefix = `/${uniqueName('troupe-spec-coord')}/`;
      leases = [];
      watchers = [];
    });

    afterEach(async function () {
      for (const watcher of watchers) await watcher.cancel().catch(() => undefined);
      for (const lease of leases) await lease.revoke().catch(() => undefined);
      try {
        const { kvs } = await coord.getPrefix(prefix);
        for (const kv of kvs) await coord.delete(kv.key);
      } catch {
        // closed by the test itself
      }
      await sut.cleanup();
    });

    async function grant(ttlMs = TTL_MS): Promise<Lease> {
      const lease = await coord.grantLease(ttlMs);
      leases.push(lease);
      return lease;
    }

    async function watch(fromRevision?: number): Promise<{ events: WatchEvent[]; watcher: Watcher }> {
      const events: WatchEvent[] = [];
      const watcher = await coord.watchPrefix(prefix, (event) => events.push(event), fromRevision);
      watchers.push(watcher);
      return { events, watcher };
    }

    async function mustGet(key: string): Promise<KeyValue> {
      const kv = await coord.get(key);
      expect(kv, `key ${key}`).to.not.equal(null);
      return kv as KeyValue;
    }

    describe('keys and revisions', function () {
      it('reads back a put value with its create and mod revisions', async function () {
        const key = `${prefix}a`;
        await coord.put(key, 'v1');
        const first = await mustGet(key);
        expect(first).to.include({ key, value: 'v1' });
        expect(first.leaseId).to.equal(undefined);
        expectPositiveRevision(first.createRevision);
        expect(first.modRevision).to.equal(first.createRevision);

        await coord.put(key, 'v2');
        const second = await mustGet(key);
        expect(second.value).to.equal('v2');
        expect(second.createRevision).to.equal(first.createRevision);
        expect(second.modRevision).to.be.greaterThan(first.modRevision);
      });

      it('reads an absent key as null and deletes idempotently', async function () {
        const key = `${prefix}gone`;
        expect(await coord.get(key)).to.equal(null);
        await coord.put(key, 'x');
        await coord.delete(key);
        expect(await coord.get(key)).to.equal(null);
        await coord.delete(key);
        expect(await coord.get(key)).to.equal(null);
      });

      it('lists a prefix in key order with the revision it was read at', async function () {
        await coord.put(`${prefix}b`, '2');
        await coord.put(`${prefix}c/1`, '3');
        await coord.put(`${prefix}a`, '1');
        const outside = `${prefix.slice(0, -1)}-outside`;
        await coord.put(outside, 'no');
        try {
          const { kvs, revision } = await coord.getPrefix(prefix);
          expect(kvs.map((kv) => kv.key)).to.deep.equal([`${prefix}a`, `${prefix}b`, `${prefix}c/1`]);
          expect(kvs.map((kv) => kv.value)).to.deep.equal(['1', '2', '3']);
          for (const kv of kvs) expect(revision).to.be.at.least(kv.modRevision);
          expect(revision).to.be.at.least((await mustGet(outside)).modRevision);
        } finally {
          await coord.delete(outside);
        }
      });

      it('raises the revision with every change, and a recreated key gets a larger create revision', async function () {
        const a = `${prefix}a`;
        await coord.put(a, '1');
        const r1 = (await mustGet(a)).modRevision;
        await coord.put(`${prefix}b`, '1');
        const r2 = (await mustGet(`${prefix}b`)).modRevision;
        expect(r2).to.be.greaterThan(r1);
        await coord.delete(a);
        const r3 = (await coord.getPrefix(prefix)).revision;
        expect(r3).to.be.greaterThan(r2);
        await coord.put(a, '2');
        const recreated = await mustGet(a);
        expect(recreated.createRevision).to.be.greaterThan(r3);
      });
    });

    describe('leases and claims', function () {
      it('claims an absent key under the lease, with its create revision as the fencing epoch', async function () {
        const lease = await grant();
        const key = `${prefix}claims/1`;
        const claim = await lease.claim(key, 'node-a');
        expect(claim).to.not.equal(null);
        expect(claim?.key).to.equal(key);
        expectPositiveRevision(claim?.createRevision ?? 0);
        const kv = await mustGet(key);
        expect(kv).to.include({ value: 'node-a', createRevision: claim?.createRevision, leaseId: lease.id });
      });

      it('refuses to claim a key that another lease (or no lease) holds', async function () {
        const a = await grant();
        const b = await grant();
        const key = `${prefix}claims/1`;
        const claim = await a.claim(key, 'node-a');
        expect(await b.claim(key, 'node-b')).to.equal(null);
        const kv = await mustGet(key);
        expect(kv).to.include({ value: 'node-a', createRevision: claim?.createRevision, leaseId: a.id });

        const plain = `${prefix}plain`;
        await coord.put(plain, 'unleased');
        expect(await b.claim(plain, 'node-b')).to.equal(null);
        expect((await mustGet(plain)).value).to.equal('unleased');
      });

      it('adopts a key its own lease already holds, unchanged and with its original fencing epoch', async function () {
        const a = await grant();
        const key = `${prefix}claims/1`;
        const claim = await a.claim(key, 'node-a');
        const again = await a.claim(key, 'node-a-again');
        expect(again).to.deep.equal(claim);
        const kv = await mustGet(key);
        expect(kv).to.include({ value: 'node-a', createRevision: claim?.createRevision, modRevision: kv.createRevision, leaseId: a.id });
      });

      it('lets another lease claim a released key, with a larger fencing epoch', async function () {
        const a = await grant();
        const b = await grant();
        const key = `${prefix}claims/1`;
        const first = await a.claim(key, 'node-a');
        await a.release(key);
        expect(await coord.get(key)).to.equal(null);
        const second = await b.claim(key, 'node-b');
        expect(second).to.not.equal(null);
        expect(second?.createRevision).to.be.greaterThan(first?.createRevision ?? Infinity);
      });

      it('lets another lease claim the key of a revoked lease, with a larger fencing epoch', async function () {
        const a = await grant();
        const b = await grant();
        const key = `${prefix}claims/1`;
        const first = await a.claim(key, 'node-a');
        await a.revoke();
        const second = await b.claim(key, 'node-b');
        expect(second).to.not.equal(null);
        expect(second?.createRevision).to.be.greaterThan(first?.createRevision ?? Infinity);
      });

      it('ignores a release by a lease that does not hold the key', async function () {
        const a = await grant();
        const b = await grant();
        const key = `${prefix}claims/1`;
        await a.claim(key, 'node-a');
        const before = await mustGet(key);
        await b.release(key);
        expect(await mustGet(key)).to.deep.equal(before);

        const plain = `${prefix}plain`;
        await coord.put(plain, 'unleased');
        await b.release(plain);
        expect((await mustGet(plain)).value).to.equal('unleased');
      });

      it('writes registry entries under the lease, keeping their create revision across updates', async function () {
        const lease = await grant();
        const key = `${prefix}nodes/logic/n1`;
        await lease.put(key, 'addr-1');
        const first = await mustGet(key);
        expect(first).to.include({ value: 'addr-1', leaseId: lease.id });
        await lease.put(key, 'addr-2');
        const second = await mustGet(key);
        expect(second).to.include({ value: 'addr-2', leaseId: lease.id, createRevision: first.createRevision });
      });

      it('deletes every key of a revoked lease at once, and only those', async function () {
        const a = await grant();
        const { events } = await watch();
        await a.claim(`${prefix}claims/1`, 'node-a');
        await a.put(`${prefix}nodes/a`, 'addr');
        await coord.put(`${prefix}plain`, 'stays');
        await a.revoke();
        const { kvs } = await coord.getPrefix(prefix);
        expect(kvs.map((kv) => kv.key)).to.deep.equal([`${prefix}plain`]);
        await waitFor(() => events.filter((e) => e.type === 'delete').length >= 2, { ...WAIT, message: 'two delete events' });
        const deleted = events.filter((e) => e.type === 'delete').map((e) => (e.type === 'delete' ? e.key : ''));
        expect(deleted.sort()).to.deep.equal([`${prefix}claims/1`, `${prefix}nodes/a`]);
        await a.revoke();
      });

      it('does not call onLost for a deliberate revoke', async function () {
        const a = await grant();
        const b = await grant();
        let lost = 0;
        a.onLost(() => lost++);
        let lostB = 0;
        b.onLost(() => lostB++);
        await a.claim(`${prefix}claims/1`, 'node-a');
        await a.revoke();
        // A lease really lost after the revoke, granted after `a` with the same TTL: its loss is
        // noticed the way a wrong loss of `a` would be (for etcd, at a renewal, and `a` is renewed
        // before `b`), so once `b`'s onLost ran, `a`'s would have run too.
        await sut.expireLease(b);
        await waitFor(() => lostB > 0, { ...WAIT, message: 'onLost of the expired lease' });
        expect(lost).to.equal(0);
      });

      it('rejects claim and put through a revoked lease with closed', async function () {
        const a = await grant();
        await a.revoke();
        await expectTroupeRejection(a.claim(`${prefix}claims/1`, 'node-a'), 'closed');
        await expectTroupeRejection(a.put(`${prefix}nodes/a`, 'addr'), 'closed');
        expect((await coord.getPrefix(prefix)).kvs).to.deep.equal([]);
      });
    });

    describe('revoking another lease by id', function () {
      it("deletes the lease's keys at once, calls its holder's onLost, and lets another lease claim them", async function () {
        const dead = await grant();
        const survivor = await grant();
        const claimKey = `${prefix}claims/1`;
        const first = await dead.claim(claimKey, 'node-dead');
        await dead.put(`${prefix}nodes/dead`, 'addr');
        await coord.put(`${prefix}plain`, 'stays');
        let lost = 0;
        dead.onLost(() => lost++);

        await coord.revokeLease(dead.id);
        const { kvs } = await coord.getPrefix(prefix);
        expect(kvs.map((kv) => kv.key)).to.deep.equal([`${prefix}plain`]);
        const second = await survivor.claim(claimKey, 'node-survivor');
        expect(second?.createRevision).to.be.greaterThan(first?.createRevision ?? Infinity);
        await waitFor(() => lost > 0, { ...WAIT, message: "the holder's onLost" });
        expect(lost).to.equal(1);
      });

      it('takes an unknown or already revoked lease id as done', async function () {
        const a = await grant();
        await coord.revokeLease(a.id);
        await coord.revokeLease(a.id);
        await a.revoke();
        await coord.revokeLease(a.id);
      });
    });

    describe('lease loss', function () {
      it('deletes the lease keys and calls each onLost listener once when the lease is lost', async function () {
        const a = await grant();
        const b = await grant();
        const { events } = await watch();
        const claimKey = `${prefix}claims/1`;
        const first = await a.claim(claimKey, 'node-a');
        await a.put(`${prefix}nodes/a`, 'addr');
        await coord.put(`${prefix}plain`, 'stays');
        let lost = 0;
        a.onLost(() => lost++);

        await sut.expireLease(a);
        await waitFor(() => lost > 0, { ...WAIT, message: 'onLost' });
        const { kvs } = await coord.getPrefix(prefix);
        expect(kvs.map((kv) => kv.key)).to.deep.equal([`${prefix}plain`]);
        await waitFor(() => events.filter((e) => e.type === 'delete').length >= 2, { ...WAIT, message: 'two delete events' });

        let lateListener = 0;
        a.onLost(() => lateListener++);
        await waitFor(() => lateListener > 0, { ...WAIT, message: 'a listener registered after the loss' });
        expect(lost).to.equal(1);

        await expectTroupeRejection(a.claim(claimKey, 'node-a'), 'closed');
        const second = await b.claim(claimKey, 'node-b');
        expect(second?.createRevision).to.be.greaterThan(first?.createRevision ?? Infinity);
      });
    });

    describe('watches', function () {
      it('delivers every put and delete under the prefix once, in revision order', async function () {
        const { events } = await watch();
        const outside = `${prefix.slice(0, -1)}-outside`;
        await coord.put(`${prefix}a`, '1');
        await coord.put(`${prefix}b`, '1');
        await coord.put(`${prefix}a`, '2');
        await coord.put(outside, 'no');
        await coord.delete(outside);
        await coord.delete(`${prefix}b`);
        await waitFor(() => events.some((e) => e.type === 'delete'), { ...WAIT, message: 'the delete event' });
        expect(events.map(describeEvent)).to.deep.equal([
          `put ${prefix}a=1`,
          `put ${prefix}b=1`,
          `put ${prefix}a=2`,
          `delete ${prefix}b`,
        ]);
        const revisions = events.map(revisionOf);
        for (let i = 1; i < revisions.length; i++) expect(revisions[i]).to.be.greaterThan(revisions[i - 1] ?? Infinity);
        const [firstA, , secondA] = events;
        expect(firstA?.type === 'put' && secondA?.type === 'put').to.equal(true);
        if (firstA?.type === 'put' && secondA?.type === 'put') {
          expect(secondA.kv.createRevision).to.equal(firstA.kv.createRevision);
          expect(secondA.kv.modRevision).to.be.greaterThan(firstA.kv.modRevision);
        }
      });

      it('replays the changes after fromRevision, then continues with live ones', async function () {
        await coord.put(`${prefix}a`, '1');
        const from = (await mustGet(`${prefix}a`)).modRevision;
        await coord.put(`${prefix}b`, '1');
        await coord.delete(`${prefix}a`);
        const { events } = await watch(from);
        await waitFor(() => events.length >= 2, { ...WAIT, message: 'the replayed events' });
        await coord.put(`${prefix}c`, '1');
        await waitFor(() => events.length >= 3, { ...WAIT, message: 'the live event' });
        expect(events.map(describeEvent)).to.deep.equal([`put ${prefix}b=1`, `delete ${prefix}a`, `put ${prefix}c=1`]);
      });

      it('misses nothing and repeats nothing between a getPrefix and a watch from its revision', async function () {
        await coord.put(`${prefix}a`, '1');
        const { kvs, revision } = await coord.getPrefix(prefix);
        expect(kvs.map((kv) => kv.value)).to.deep.equal(['1']);
        await coord.put(`${prefix}a`, '2');
        const { events } = await watch(revision);
        await coord.put(`${prefix}a`, '3');
        await waitFor(() => events.length >= 2, { ...WAIT, message: 'two events' });
        // A last change, delivered in revision order: a repeated event reaches the watch before it.
        await coord.put(`${prefix}z`, 'last');
        await waitFor(() => events.some((e) => e.type === 'put' && e.kv.key === `${prefix}z`), { ...WAIT, message: 'the last change' });
        expect(events.map(describeEvent)).to.deep.equal([`put ${prefix}a=2`, `put ${prefix}a=3`, `put ${prefix}z=last`]);
      });

      it('delivers nothing more to a cancelled watch', async function () {
        const cancelled = await watch();
        const control = await watch();
        await coord.put(`${prefix}a`, '1');
        await waitFor(() => cancelled.events.length === 1 && control.events.length === 1, { ...WAIT, message: 'the first event' });
        await cancelled.watcher.cancel();
        await coord.put(`${prefix}b`, '1');
        await coord.delete(`${prefix}a`);
        await waitFor(() => control.events.length === 3, { ...WAIT, message: 'the control watch' });
        // A later change reaching the control watch: the store has dispatched everything before it.
        await coord.put(`${prefix}c`, '1');
        await waitFor(() => control.events.length === 4, { ...WAIT, message: 'a later change on the control watch' });
        expect(cancelled.events.map(describeEvent)).to.deep.equal([`put ${prefix}a=1`]);
        await cancelled.watcher.cancel();
      });
    });

    describe('closing', function () {
      it('rejects every call with closed after close, and closes idempotently', async function () {
        const lease = await grant();
        await coord.close();
        await coord.close();
        await expectTroupeRejection(coord.get(`${prefix}a`), 'closed');
        await expectTroupeRejection(coord.put(`${prefix}a`, '1'), 'closed');
        await expectTroupeRejection(coord.getPrefix(prefix), 'closed');
        await expectTroupeRejection(coord.grantLease(TTL_MS), 'closed');
        await expectTroupeRejection(coord.watchPrefix(prefix, () => undefined), 'closed');
        await expectTroupeRejection(lease.claim(`${prefix}claims/1`, 'node-a'), 'closed');
      });
    });
  });
}
