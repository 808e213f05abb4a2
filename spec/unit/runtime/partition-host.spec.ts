/**
 * Partition hosting (actors/runtime/partition-host.ts, partition-hosting.ts) over the real
 * in-process log and coordinator, with real nact actors of a recording kind: per-key order,
 * watermark commits, pause and resume, passivation, claims, drain, fencing and lease loss.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'chai';
import { waitFor } from '../../support/wait-for.js';
import { Bench, COMMIT_INTERVAL_MS, QUIET_MS } from './hosting-bench.js';
import { THROWING, UNDECODABLE } from './recording-kind.js';

describe('PartitionHost and PartitionHosting', function () {
  let bench: Bench;

  beforeEach(async function () {
    bench = await new Bench().open();
  });

  afterEach(async function () {
    await bench.close();
  });

  describe('routing', function () {
    it('keeps the order of one key while another key of the partition proceeds past a slow one', async function () {
      await bench.startHosting();
      const { kind } = bench;
      kind.block('slow');
      await bench.produce('slow', 'slow-1');
      await bench.produce('fast', 'fast-1');
      await bench.produce('slow', 'slow-2');
      await bench.produce('fast', 'fast-2');
      await bench.produce('slow', 'slow-3');
      await bench.produce('fast', 'fast-3');

      await waitFor(() => kind.values('fast').length === 3, { message: 'every fast record' });
      expect(kind.values('fast')).to.deep.equal(['fast-1', 'fast-2', 'fast-3']);
      expect(kind.values('slow'), 'the slow actor is still busy with its first record').to.deep.equal(['slow-1']);

      kind.unblock('slow');
      await waitFor(() => kind.values('slow').length === 3, { message: 'every slow record' });
      expect(kind.values('slow')).to.deep.equal(['slow-1', 'slow-2', 'slow-3']);
      expect(kind.spawns.map((s) => s.key).sort()).to.deep.equal(['fast', 'slow'], 'one actor per key');
      await bench.waitCommitted(6);
    });

    it('skips a record that does not decode (null or throwing) and commits past it', async function () {
      await bench.startHosting();
      await bench.produce('k', 'first', UNDECODABLE, THROWING, 'last');
      await bench.waitCommitted(4);
      expect(bench.kind.values()).to.deep.equal(['first', 'last']);
    });
  });

  describe('commits', function () {
    it('commits the lowest unfinished offset while later records finish first, then advances', async function () {
      await bench.startHosting();
      const { kind } = bench;
      kind.manualAll = true;
      for (let i = 0; i < 5; i++) await bench.produce(`key-${i}`, `value-${i}`);
      await waitFor(() => kind.waiting.length === 5, { message: 'five records waiting' });

      kind.finish(0);
      await bench.waitCommitted(1);
      kind.finish(2, 3);
      await delay(QUIET_MS);
      expect(await bench.committed(), 'offset 1 is unfinished: nothing past it is committed').to.equal('1');

      kind.finish(1);
      await bench.waitCommitted(4);
      await delay(QUIET_MS);
      expect(await bench.committed(), 'offset 4 is unfinished').to.equal('4');

      kind.finish(4);
      await bench.waitCommitted(5);
    });
  });

  describe('bounded mailboxes', function () {
    it('pauses the partition at maxInFlight and resumes once half of it has finished', async function () {
      await bench.startHosting({ maxInFlight: 4, maxBatchRecords: 1 });
      const { kind } = bench;
      kind.manualAll = true;
      for (let i = 0; i < 10; i++) await bench.produce(`key-${i}`, `value-${i}`);

      await bench.waitDelivered(4);
      await delay(QUIET_MS);
      expect(kind.deliveries.length, 'paused at four in flight').to.equal(4);

      kind.finish(0);
      await delay(QUIET_MS);
      expect(kind.deliveries.length, 'three in flight is above half: still paused').to.equal(4);

      kind.finish(1);
      await bench.waitDelivered(6);
      await delay(QUIET_MS);
      expect(kind.deliveries.length, 'resumed, then paused again at four in flight').to.equal(6);

      kind.releaseAll();
      await bench.waitDelivered(10);
      expect(kind.values()).to.deep.equal(Array.from({ length: 10 }, (_, i) => `value-${i}`));
      await bench.waitCommitted(10);
    });
  });

  describe('passivation', function () {
    it('stops an idle actor and spawns a fresh one for the key on its next record', async function () {
      await bench.startHosting({ passivateAfterMs: 40 });
      const { kind } = bench;
      await bench.produce('p', 'one', 'two');
      await bench.waitDelivered(2);
      await waitFor(() => kind.stops.includes('p'), { message: 'the idle actor to stop' });

      await bench.produce('p', 'three');
      await bench.waitDelivered(3);
      const third = kind.deliveries[2]!;
      expect(third.incarnation, 'spawned again').to.equal(2);
      expect(third.handledBefore, 'with fresh state').to.equal(0);
      expect(kind.deliveries[1]!.handledBefore, 'the first incarnation kept state').to.equal(1);
    });

    it('never stops an actor that has a record in flight', async function () {
      await bench.startHosting({ passivateAfterMs: 40 });
      const { kind } = bench;
      kind.manualKeys.add('busy');
      const [busyOffset] = await bench.produce('busy', 'unfinished');
      await bench.produce('idle', 'finished');
      await bench.waitDelivered(2);

      await waitFor(() => kind.stops.includes('idle'), { message: 'the idle actor to stop' });
      await delay(150); // several passivation periods
      expect(kind.stops, 'the busy actor is kept').to.not.include('busy');

      kind.finish(busyOffset!);
      await waitFor(() => kind.stops.includes('busy'), { message: 'the busy actor to stop once idle' });
      expect(kind.spawns.filter((s) => s.key === 'busy')).to.have.length(1);
    });
  });

  describe('claims and epochs', function () {
    it('drains on revocation: waits for in-flight records, commits, then releases the claim', async function () {
      await bench.startHosting();
      const { kind } = bench;
      kind.manualAll = true;
      await bench.produce('a', 'a-1');
      await bench.produce('b', 'b-1');
      await bench.produce('c', 'c-1');
      await waitFor(() => kind.waiting.length === 3, { message: 'three records waiting' });
      kind.finish(0);
      await bench.waitCommitted(1);

      let stopped = false;
      const stopping = bench.consumer!.stop().then(() => (stopped = true));
      await delay(QUIET_MS);
      expect(stopped, 'the revocation waits for in-flight records').to.equal(false);
      expect(await bench.coord.get(bench.claimKey), 'the claim is held while draining').to.not.equal(null);
      expect(bench.committedAtRelease).to.deep.equal([]);

      kind.finish(2, 1);
      await stopping;
      expect(bench.committedAtRelease, 'released only after committing past every record').to.deep.equal(['3']);
      expect(await bench.coord.get(bench.claimKey)).to.equal(null);
      expect(await bench.committed()).to.equal('3');
      await waitFor(() => kind.stops.length === 3, { message: 'the drained actors to stop' });
      expect([...kind.stops].sort()).to.deep.equal(['a', 'b', 'c']);
    });

    it('commits the last finished offset on revocation even while a timed commit is still in flight', async function () {
      await bench.startHosting({ commitDelayMs: 40 });
      const { kind } = bench;
      kind.manualAll = true;
      await bench.produce('a', 'a-1');
      await bench.produce('b', 'b-1');
      await waitFor(() => kind.waiting.length === 2, { message: 'two records waiting' });
      kind.finish(0);
      // A timed commit of offset 1 starts within one interval and takes 40 ms: finish the last
      // record and revoke while it is in flight.
      await delay(COMMIT_INTERVAL_MS * 2);
      kind.finish(1);
      await bench.consumer!.stop();
      expect(await bench.committed(), 'the drain committed past the last record').to.equal('2');
      expect(bench.committedAtRelease).to.deep.equal(['2']);
    });

    it('hosts nothing while another node holds the claim, and starts once it is released', async function () {
      const other = await bench.coord.grantLease(10_000);
      const held = await other.claim(bench.claimKey, 'node-2');
      expect(held).to.not.equal(null);

      const starting = bench.beginHosting();
      await bench.produce('k', 'waiting-for-the-claim');
      await delay(QUIET_MS);
      expect(bench.kind.spawns, 'no actor before the claim is held').to.deep.equal([]);
      expect(bench.kind.deliveries).to.deep.equal([]);

      await other.release(bench.claimKey);
      await starting;
      await bench.waitDelivered(1);
      const claim = await bench.coord.get(bench.claimKey);
      expect(claim?.value).to.equal('node-1');
      expect(bench.kind.deliveries[0]!.unit.epoch).to.equal(claim!.createRevision);
      expect(claim!.createRevision).to.be.greaterThan(held!.createRevision);
    });

    it("gives actors the claim's create revision as epoch, and a larger one after a re-claim", async function () {
      await bench.startHosting();
      await bench.produce('k', 'first');
      await bench.waitDelivered(1);
      const firstClaim = await bench.coord.get(bench.claimKey);
      const first = bench.kind.spawns[0]!.unit;
      expect(first.unit).to.equal('test/0');
      expect(first.epoch).to.equal(firstClaim!.createRevision);

      await bench.stopHosting();
      await bench.coord.put('/unrelated/key', 'raises the revision');
      await bench.startHosting();
      await bench.produce('k', 'second');
      await bench.waitDelivered(2);
      const secondClaim = await bench.coord.get(bench.claimKey);
      const second = bench.kind.spawns[1]!.unit;
      expect(second.epoch).to.equal(secondClaim!.createRevision);
      expect(second.epoch).to.be.greaterThan(first.epoch);
      expect(bench.kind.values(), 'the first record was committed, not replayed').to.deep.equal(['first', 'second']);
    });
  });

  describe('losing the partition without a drain', function () {
    it('abandons every host when the lease is lost, committing nothing further', async function () {
      await bench.startHosting();
      const { kind } = bench;
      kind.manualAll = true;
      await bench.produce('a', 'a-1');
      await bench.produce('b', 'b-1');
      await waitFor(() => kind.waiting.length === 2, { message: 'two records waiting' });
      kind.finish(0);
      await bench.waitCommitted(1);

      bench.coord.expireLease(bench.lease.id);
      await waitFor(() => kind.stops.length === 2, { message: 'the actors to be stopped' });
      kind.finish(1);
      await bench.produce('c', 'c-1');
      await delay(QUIET_MS);
      expect(await bench.committed(), 'nothing committed after the loss').to.equal('1');
      expect(kind.values(), 'records after the loss reach no actor').to.deep.equal(['a-1', 'b-1']);
      expect(await bench.coord.get(bench.claimKey), 'the claim went with the lease').to.equal(null);
    });

    it('stops a fenced partition at once, commits nothing past the fence, and hands its records to fresh actors under a larger epoch', async function () {
      await bench.startHosting();
      const { kind } = bench;
      kind.manualAll = true;
      await bench.produce('a', 'a-1');
      await bench.produce('b', 'b-1');
      await waitFor(() => kind.waiting.length === 2, { message: 'two records waiting' });
      kind.finish(0);
      await bench.waitCommitted(1);
      const fencedEpoch = kind.deliveries[1]!.unit.epoch;

      kind.deliveries[1]!.unit.fence('a newer owner wrote');
      await waitFor(() => kind.stops.length === 2, { message: 'the fenced actors to be stopped' });
      kind.finish(1); // the fenced actor's late report is not trusted
      await waitFor(() => kind.values('b').length === 2, { message: 'b-1 handed to a fresh actor' });
      expect(await bench.committed(), 'nothing committed past the fence by the fenced actor').to.equal('1');
      const again = kind.deliveries[kind.deliveries.length - 1]!;
      expect(again).to.include({ value: 'b-1', incarnation: 2, handledBefore: 0 });
      expect(again.unit.epoch, 'a new claim, a larger epoch').to.be.greaterThan(fencedEpoch);
      expect((await bench.coord.get(bench.claimKey))?.createRevision).to.equal(again.unit.epoch);

      await bench.produce('c', 'c-1');
      await waitFor(() => kind.waiting.includes(2), { message: 'c-1 taken after the re-claim' });
      kind.finish(1, 2);
      await bench.waitCommitted(3);
      expect(bench.units.stateOf('test/0')).to.equal('hosted');
      expect(bench.escalations).to.deep.equal([]);
    });

    it('escalates a unit fenced again and again instead of re-claiming it forever', async function () {
      await bench.startHosting();
      const { kind } = bench;
      kind.manualAll = true;
      await bench.produce('a', 'a-1');
      for (let fence = 1; fence <= 3; fence++) {
        await waitFor(() => kind.deliveries.length === fence, { message: `delivery ${fence}` });
        kind.deliveries[fence - 1]!.unit.fence(`fence ${fence}`);
      }
      await waitFor(() => bench.escalations.length === 1, { message: 'the escalation' });
      expect(bench.escalations[0]).to.deep.include({ unit: 'test/0', step: 'host' });
      expect(bench.units.stateOf('test/0')).to.equal('fenced');
      expect(bench.units.ready()).to.equal(false);
    });
  });
});
