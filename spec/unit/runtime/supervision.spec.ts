/**
 * Supervision of hosted actors (actors/runtime/partition-host.ts) and the unit lifecycle
 * (unit-lifecycle.ts), with a recording kind whose actors crash or hang on cue and a lease that
 * fails on cue: every record finishes (processed, or answered and skipped, parked when poison),
 * the partition's commit point moves on, and traffic behind a failure continues.
 */
import { expect } from 'chai';
import { DEAD_LETTER_HEADERS } from '../../../actors/runtime/dead-letters.js';
import { TroupeError } from '../../../transport/errors.js';
import { waitFor } from '../../support/wait-for.js';
import { Bench } from './hosting-bench.js';

describe('supervision of hosted actors', function () {
  let bench: Bench;

  beforeEach(async function () {
    bench = await new Bench().open();
  });

  afterEach(async function () {
    await bench.close();
  });

  describe('a crashing actor', function () {
    it('is stopped and made afresh, and the fresh actor takes the record again and finishes it', async function () {
      await bench.startHosting();
      const { kind } = bench;
      kind.crashOn('flaky', 2, new TroupeError('unavailable', 'store restarting'));
      await bench.produce('k', 'before', 'flaky', 'after');
      await bench.produce('other', 'unaffected');
      await bench.waitCommitted(4);

      const flaky = kind.deliveries.filter((d) => d.value === 'flaky');
      expect(flaky.map((d) => d.incarnation), 'two crashes, then a third actor').to.deep.equal([1, 2, 3]);
      expect(flaky.map((d) => d.handledBefore), 'each fresh actor starts from nothing').to.deep.equal([1, 0, 0]);
      expect(kind.values('k')).to.deep.equal(['before', 'flaky', 'flaky', 'flaky', 'after']);
      expect(kind.values('other')).to.deep.equal(['unaffected']);
      expect(kind.refusals, 'a record that finally succeeds is not refused').to.deep.equal([]);
      expect(bench.parked).to.deep.equal([]);
    });

    it('gives up a record that crashes its actor on every attempt: answers it internal, parks it with why, and moves on', async function () {
      await bench.startHosting({ recordAttempts: 3 });
      const { kind } = bench;
      kind.crashOn('poison', 100, new TroupeError('internal', 'a bug'));
      const [, poisonOffset] = await bench.produce('k', 'before', 'poison', 'after');
      await bench.waitCommitted(3);

      expect(kind.values('k')).to.deep.equal(['before', 'poison', 'poison', 'poison', 'after']);
      expect(kind.refusals).to.have.length(1);
      expect(kind.refusals[0]).to.deep.include({ value: 'poison', code: 'internal' });
      expect(kind.refusals[0]!.incident).to.equal(`test/0@${poisonOffset}`);
      await waitFor(() => bench.parked.length === 1, { message: 'the parked record' });
      const parked = bench.parked[0]!;
      expect(parked.key).to.equal('k');
      expect(Buffer.from(parked.value).toString()).to.equal('poison');
      expect(parked.headers).to.deep.include({
        [DEAD_LETTER_HEADERS.source]: `${bench.topic}/0@${poisonOffset}`,
        [DEAD_LETTER_HEADERS.code]: 'internal',
        [DEAD_LETTER_HEADERS.error]: 'a bug',
        [DEAD_LETTER_HEADERS.attempts]: '3',
      });
      expect(bench.units.snapshot()[0]).to.include({ unit: 'test/0', state: 'hosted', parked: 1 });
    });

    it('refuses (unavailable), without parking, a record that fails with a retriable error on every attempt', async function () {
      await bench.startHosting({ recordAttempts: 2 });
      const { kind } = bench;
      kind.crashOn('outage', 100, new TroupeError('unavailable', 'presence down'));
      await bench.produce('k', 'outage', 'next');
      await bench.waitCommitted(2);
      expect(kind.refusals.map((r) => [r.value, r.code])).to.deep.equal([['outage', 'unavailable']]);
      expect(kind.values('k')).to.deep.equal(['outage', 'outage', 'next']);
      expect(bench.parked, 'the record is fine; its dependency was not').to.deep.equal([]);
    });
    it('finishes a record given up even when answering its requester hangs', async function () {
      await bench.startHosting({ recordAttempts: 1, recordDeadlineMs: 150 });
      const { kind } = bench;
      kind.hangRefusals = true;
      kind.crashOn('unanswerable', 1, new TroupeError('unavailable', 'presence down'));
      await bench.produce('k', 'unanswerable', 'next');
      await bench.waitCommitted(2);
      expect(kind.refusals.map((r) => r.value)).to.deep.equal(['unanswerable']);
      expect(kind.values('k')).to.deep.equal(['unanswerable', 'next']);
    });
  });

  describe('a hanging actor', function () {
    it('is restarted when an attempt passes the record deadline; after its attempts the record is parked and answered unavailable, and the key goes on', async function () {
      await bench.startHosting({ recordDeadlineMs: 150, recordAttempts: 2 });
      const { kind } = bench;
      kind.block('stuck'); // its actor never returns from the handler
      await bench.produce('stuck', 'hangs', 'queued');
      await bench.produce('free', 'meanwhile');
      await waitFor(() => kind.values('free').length === 1, { message: 'another key proceeds past the hung one' });
      await waitFor(() => kind.refusals.length === 1, { message: 'the hung record given up', timeoutMs: 5000 });
      kind.unblock('stuck');
      await bench.waitCommitted(3);

      expect(kind.refusals[0]).to.deep.include({ value: 'hangs', code: 'unavailable' });
      expect(kind.values('stuck').filter((v) => v === 'hangs'), 'one attempt per deadline').to.have.length(2);
      expect(kind.values('stuck')).to.include('queued');
      await waitFor(() => bench.parked.length === 1, { message: 'the hung record parked' });
      expect(bench.parked[0]!.headers[DEAD_LETTER_HEADERS.code]).to.equal('timeout');
    });

    it('makes the unit unready while a record stays unfinished past the stuck threshold, and ready again after', async function () {
      await bench.startHosting({ recordDeadlineMs: 60_000 });
      const { kind } = bench;
      kind.manualAll = true;
      const [offset] = await bench.produce('slow', 'held');
      await waitFor(() => kind.waiting.length === 1, { message: 'the record taken' });
      expect(bench.units.ready(), 'a fresh record is not stuck').to.equal(true);
      await waitFor(() => !bench.units.ready(), { message: 'the unit to turn unready' });
      expect(bench.units.problems()[0]).to.match(/^test\/0 has a record unfinished for \d+ s$/);
      expect(bench.units.snapshot()[0]!.inFlight).to.equal(1);

      kind.finish(offset!);
      await waitFor(() => bench.units.ready(), { message: 'ready again' });
    });
  });

  describe('keys no actor name could hold', function () {
    it('finishes records of malformed keys like any other, in order per key', async function () {
      await bench.startHosting();
      const keys = ["' OR 1=1 --", '../..', 'a/b', '%2F%00', 'nul\u0000char', 'emoji 😀', 'x'.repeat(10_000), '{"json":1}', ''];
      for (const key of keys) await bench.produce(key === '' ? ' ' : key, 'one', 'two');
      await bench.waitCommitted(keys.length * 2);
      for (const key of keys) expect(bench.kind.values(key === '' ? ' ' : key), JSON.stringify(key.slice(0, 20))).to.deep.equal(['one', 'two']);
    });
  });

  describe('the unit lifecycle', function () {
    it('retries a claim that fails while the coordinator blips, then hosts', async function () {
      bench.claimFailures.push(new TroupeError('unavailable', 'etcd unreachable'), new TroupeError('timeout', 'etcd slow'));
      await bench.startHosting();
      await bench.produce('k', 'served');
      await bench.waitCommitted(1);
      expect(bench.claimFailures).to.deep.equal([]);
      expect(bench.units.stateOf('test/0')).to.equal('hosted');
      expect(bench.escalations).to.deep.equal([]);
    });

    it('escalates a claim that keeps failing, and reports the unit not ready', async function () {
      for (let i = 0; i < 20; i++) bench.claimFailures.push(new TroupeError('unavailable', 'etcd unreachable'));
      await bench.startHosting();
      await waitFor(() => bench.escalations.length === 1, { message: 'the escalation' });
      expect(bench.escalations[0]).to.deep.include({ unit: 'test/0', step: 'claim' });
      expect(bench.units.ready()).to.equal(false);
      expect(bench.units.problems()[0]).to.match(/^test\/0 is fenced: claim failed/);
    });

    it("adopts the node's own claim left behind (a release that failed) with its epoch", async function () {
      const orphan = await bench.lease.claim(bench.claimKey, 'node-1');
      await bench.startHosting();
      await bench.produce('k', 'adopted');
      await bench.waitDelivered(1);
      expect(bench.kind.deliveries[0]!.unit.epoch).to.equal(orphan!.createRevision);
    });

    it('retries a release that fails, then releases; escalates one that keeps failing', async function () {
      await bench.startHosting();
      bench.releaseFailures.push(new TroupeError('unavailable', 'etcd unreachable'));
      await bench.stopHosting();
      expect(await bench.coord.get(bench.claimKey), 'released after the retry').to.equal(null);
      expect(bench.escalations).to.deep.equal([]);

      await bench.startHosting();
      for (let i = 0; i < 20; i++) bench.releaseFailures.push(new TroupeError('unavailable', 'etcd unreachable'));
      await bench.stopHosting();
      expect(bench.escalations.map((e) => e.step)).to.deep.equal(['release']);
      expect(await bench.coord.get(bench.claimKey), 'still held: the escalation (exit) lets the lease take it').to.not.equal(null);
    });
  });
});
