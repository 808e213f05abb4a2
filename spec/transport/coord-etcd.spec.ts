/**
 * The etcd coordinator on a private etcd (spec/services/etcd.ts): the shared Coordinator
 * contract, then what only etcd shows: leases kept alive past their TTL, self-fencing when etcd
 * stops answering, a watch that rides out an etcd restart, compaction, an unreachable etcd.
 *
 * A lease is made lost for the contract by revoking it from a second client: for its owner that
 * is a loss like an expiry (etcd answers its next keepalive with "no such lease"), and it takes
 * at most a third of the TTL instead of a whole TTL.
 */
import { createServer, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import { Etcd3 } from 'etcd3';
import { EtcdCoordinator, type EtcdCoordinatorOptions } from '../../transport/coord/etcd.js';
import { renewalIntervalMs } from '../../transport/coord/etcd-lease.js';
import type { WatchEvent } from '../../transport/coord/port.js';
import { describeCoordContract } from '../contract/coord.contract.js';
import { startEtcd, type EtcdService } from '../../bin/services/etcd.js';
import { expectTroupeRejection } from '../support/expect-rejection.js';
import { uniqueName, waitFor } from '../support/wait-for.js';

function describeEvent(event: WatchEvent): string {
  return event.type === 'put' ? `put ${event.kv.key}=${event.kv.value}` : `delete ${event.key}`;
}

function revisionOf(event: WatchEvent): number {
  return event.type === 'put' ? event.kv.modRevision : event.modRevision;
}

async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('etcd lease renewals', function () {
  it('come every twentieth of the TTL, never more often than every 250 ms nor less often than a third of it', function () {
    expect(renewalIntervalMs(10_000), 'the default TTL').to.equal(500);
    expect(renewalIntervalMs(60_000)).to.equal(3000);
    expect(renewalIntervalMs(3000), 'a short TTL').to.equal(250);
    expect(renewalIntervalMs(600), 'a third of a very short TTL').to.equal(200);
  });
});

describe('etcd coordination', function () {
  let etcd: EtcdService | undefined;
  /** The second client: revokes leases behind their owner's back, compacts, cleans up. */
  let admin: Etcd3 | undefined;

  function started(): { etcd: EtcdService; admin: Etcd3 } {
    if (etcd === undefined || admin === undefined) throw new Error('etcd did not start');
    return { etcd, admin };
  }

  before(async function () {
    this.timeout(120_000);
    etcd = await startEtcd();
    admin = new Etcd3({ hosts: etcd.endpoint });
  });

  after(async function () {
    admin?.close();
    await etcd?.stop();
  });

  describeCoordContract('EtcdCoordinator', async () => {
    const coord = new EtcdCoordinator({ endpoints: started().etcd.endpoint });
    return {
      coord,
      cleanup: () => coord.close(),
      expireLease: async (lease) => {
        await started().admin.leaseClient.leaseRevoke({ ID: lease.id });
      },
    };
  });

  describe('EtcdCoordinator', function () {
    this.timeout(30_000);

    let prefix: string;
    let opened: EtcdCoordinator[];
    let coord: EtcdCoordinator;

    function open(options: Partial<EtcdCoordinatorOptions> = {}): EtcdCoordinator {
      const opening = new EtcdCoordinator({ endpoints: started().etcd.endpoint, ...options });
      opened.push(opening);
      return opening;
    }

    beforeEach(function () {
      prefix = `/${uniqueName('troupe-spec-etcd')}/`;
      opened = [];
      coord = open();
    });

    afterEach(async function () {
      for (const each of opened) await each.close();
      await etcd?.up();
      await admin?.delete().prefix(prefix);
    });

    it('rounds a lease TTL up to whole seconds and keeps the lease alive past what etcd granted', async function () {
      const { admin: other } = started();
      const lease = await coord.grantLease(2500);
      expect(lease.ttlMs).to.equal(3000);
      let lost = 0;
      lease.onLost(() => lost++);
      const claim = await lease.claim(`${prefix}claims/1`, 'node-a');
      const { grantedTTL } = await other.leaseClient.leaseTimeToLive({ ID: lease.id });
      expect(Number(grantedTTL) * 1000).to.be.at.least(3000);
      // A control lease, granted after ours with the same TTL and never renewed: once etcd has
      // expired it, ours, granted earlier, would have expired too had nothing renewed it. etcd's
      // own expiry marks the passing of the TTL, not a sleep of the test's.
      const control = await other.leaseClient.leaseGrant({ TTL: grantedTTL, ID: 0 });
      expect(Number(control.TTL)).to.be.at.least(Number(grantedTTL));
      await waitFor(async () => Number((await other.leaseClient.leaseTimeToLive({ ID: control.ID })).TTL) === -1, {
        message: 'etcd to expire the control lease',
      });
      expect(lost).to.equal(0);
      expect(Number((await other.leaseClient.leaseTimeToLive({ ID: lease.id })).TTL)).to.be.above(0);
      expect((await coord.get(`${prefix}claims/1`))?.createRevision).to.equal(claim?.createRevision);
      await lease.put(`${prefix}nodes/a`, 'still usable');
    });

    it('gives a lease up before its TTL can run out when etcd stops answering', async function () {
      const { etcd: server } = started();
      // The bound below is the property itself (etcd is down, so no event of its marks when it
      // could expire the lease): a wall-clock one. The lease is given up at most half a TTL after
      // etcd went down; the bound allows a sixth of the TTL more, a second with this TTL, for
      // the event-loop lag of a loaded machine.
      const ttlMs = 6000;
      const lease = await coord.grantLease(ttlMs);
      await lease.claim(`${prefix}claims/1`, 'node-a');
      let lostAt: number | undefined;
      let lost = 0;
      lease.onLost(() => {
        lost++;
        lostAt ??= performance.now();
      });
      await server.down();
      const downAt = performance.now();
      await waitFor(() => lostAt !== undefined, { timeoutMs: ttlMs, message: 'onLost while etcd is down' });
      // Renewals go out at least every third of the TTL, so the last answered one was sent at most
      // a third of a TTL before etcd went down: etcd cannot expire the lease before downAt + 2/3 TTL.
      expect((lostAt ?? Infinity) - downAt).to.be.below((ttlMs * 2) / 3);
      expect(lost).to.equal(1);
      await expectTroupeRejection(lease.claim(`${prefix}claims/2`, 'node-a'), 'closed');
      await expectTroupeRejection(lease.put(`${prefix}nodes/a`, 'addr'), 'closed');
    });

    it('renews every twentieth of the TTL, not only every third: etcd never sees the lease much below its TTL', async function () {
      const { admin: other } = started();
      // With etcd3's renewals alone (every 3 s with a 9 s TTL) etcd would count the lease down to
      // 6 s before each renewal; renewals every 0.45 s keep it above 8.5 s (etcd truncates to
      // whole seconds: 8). The bound allows renewals over a second late on a loaded machine.
      const lease = await coord.grantLease(9000);
      const remaining: number[] = [];
      const since = performance.now();
      await waitFor(async () => {
        remaining.push(Number((await other.leaseClient.leaseTimeToLive({ ID: lease.id })).TTL));
        return performance.now() - since > 4000; // more than a third of the TTL: one of etcd3's periods
      }, { timeoutMs: 10_000, intervalMs: 100, message: 'four seconds of samples' });
      expect(remaining.length).to.be.greaterThan(10);
      expect(Math.min(...remaining), `seconds left etcd reported: ${remaining.join(' ')}`).to.be.at.least(7);
    });

    it('rides out an etcd restart shorter than half its TTL less the renewal interval, keeping its claim', async function () {
      const { etcd: server } = started();
      // Given up only once no renewal sent in the last 4 s was answered, and renewed every 0.4 s:
      // a restart of this etcd (a second or two) is ridden out; etcd extends every lease on restart.
      const lease = await coord.grantLease(8000);
      const claim = await lease.claim(`${prefix}claims/1`, 'node-a');
      let lost = 0;
      lease.onLost(() => lost++);
      const downAt = performance.now();
      await server.down();
      await server.up();
      const outageMs = performance.now() - downAt;
      // Live again once a renewal after the restart was answered: a put under it goes through.
      await waitFor(async () => lease.put(`${prefix}nodes/a`, 'back').then(() => true, () => false), { timeoutMs: 10_000, message: `a put under the lease after an outage of ${Math.round(outageMs)} ms` });
      expect(lost, `lease lost over an outage of ${Math.round(outageMs)} ms`).to.equal(0);
      expect((await coord.get(`${prefix}claims/1`))?.createRevision).to.equal(claim?.createRevision);
    });

    it('rejects calls with unavailable, retriable, while etcd is down, and serves again once it is back', async function () {
      const { etcd: server } = started();
      await coord.put(`${prefix}a`, '1');
      await server.down();
      const err = await expectTroupeRejection(coord.get(`${prefix}a`), 'unavailable');
      expect(err.retriable).to.equal(true);
      await expectTroupeRejection(coord.put(`${prefix}a`, '2'), 'unavailable');
      await server.up();
      expect((await coord.get(`${prefix}a`))?.value).to.equal('1');
    });

    it('rejects every call with unavailable when no etcd listens at the endpoint', async function () {
      const nowhere = open({ endpoints: `http://127.0.0.1:${await unusedPort()}` });
      const err = await expectTroupeRejection(nowhere.get(`${prefix}a`), 'unavailable');
      expect(err.retriable).to.equal(true);
      await expectTroupeRejection(nowhere.grantLease(2000), 'unavailable');
      await expectTroupeRejection(nowhere.watchPrefix(prefix, () => undefined), 'unavailable');
    });

    it('delivers every change once and in revision order across an etcd restart', async function () {
      const { etcd: server } = started();
      const events: WatchEvent[] = [];
      await coord.watchPrefix(prefix, (event) => events.push(event));
      await coord.put(`${prefix}a`, '1');
      await waitFor(() => events.length === 1, { message: 'the first event' });

      await server.down();
      await server.up();
      // A fresh client writes at once; the watch reconnects only after etcd3's backoff, so it
      // must replay these from where it stopped, not from where etcd is when it reconnects.
      const writer = open();
      await writer.put(`${prefix}b`, '1');
      await writer.put(`${prefix}a`, '2');
      await writer.delete(`${prefix}b`);
      await waitFor(() => events.length >= 4, { timeoutMs: 15_000, message: 'the changes made after the restart' });
      await coord.put(`${prefix}c`, '1');
      await waitFor(() => events.length >= 5, { timeoutMs: 15_000, message: 'a change made after the watch reconnected' });
      // A last change, delivered in revision order like the others: a change delivered twice
      // (a replay from too early a revision) reaches the listener before it.
      await coord.put(`${prefix}z`, 'last');
      await waitFor(() => events.some((event) => event.type === 'put' && event.kv.key === `${prefix}z`), { message: 'the last change' });
      expect(events.map(describeEvent)).to.deep.equal([
        `put ${prefix}a=1`,
        `put ${prefix}b=1`,
        `put ${prefix}a=2`,
        `delete ${prefix}b`,
        `put ${prefix}c=1`,
        `put ${prefix}z=last`,
      ]);
      const revisions = events.map(revisionOf);
      for (let i = 1; i < revisions.length; i++) expect(revisions[i]).to.be.greaterThan(revisions[i - 1] ?? Infinity);
    });

    it('rejects a watch from a compacted revision with not_found, not retriable, and watches from the compaction on', async function () {
      await coord.put(`${prefix}a`, '1');
      const old = (await coord.get(`${prefix}a`))?.modRevision ?? 0;
      await coord.put(`${prefix}a`, '2');
      const compactedAt = (await coord.getPrefix(prefix)).revision;
      await started().admin.kv.compact({ revision: String(compactedAt), physical: true });

      const err = await expectTroupeRejection(coord.watchPrefix(prefix, () => undefined, old), 'not_found');
      expect(err.retriable).to.equal(false);

      const events: WatchEvent[] = [];
      await coord.watchPrefix(prefix, (event) => events.push(event), compactedAt);
      await coord.put(`${prefix}a`, '3');
      await waitFor(() => events.length === 1, { message: 'the change after the compaction' });
      expect(events.map(describeEvent)).to.deep.equal([`put ${prefix}a=3`]);
    });

    it('rejects invalid lease TTLs and watch revisions with invalid_argument', async function () {
      await expectTroupeRejection(coord.grantLease(0), 'invalid_argument');
      await expectTroupeRejection(coord.grantLease(Number.NaN), 'invalid_argument');
      await expectTroupeRejection(coord.watchPrefix(prefix, () => undefined, -1), 'invalid_argument');
    });
  });
});
