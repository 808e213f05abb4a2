/**
 * Fanout jobs on the wire (actors/records/codec.ts: encodeTask/decodeTask) and as the logic
 * side produces them (actors/logic/fanout-jobs.ts, member-slots.ts): chunking per pool slot,
 * keys, one send per batch, retry.
 */
import { expect } from 'chai';
import { FanoutJobs, MAX_SEND_BYTES } from '../../../actors/logic/fanout-jobs.js';
import { bySlot, memberHash, SlotDigests, slotOf } from '../../../actors/logic/member-slots.js';
import { decodeTask, encodeDownstream, encodeTask, encodeUpstream } from '../../../actors/records/codec.js';
import type { FanoutJobRecord, TaskRecord } from '../../../actors/records/types.js';
import { TroupeError } from '../../../transport/errors.js';
import type { ProduceRecord, Producer, RecordPosition } from '../../../transport/log/port.js';
import { expectThrow } from '../auth/expect-rejection.js';

const except = { gatewayId: 'gw-1', connId: 'conn-1' };

/** A producer that records every send and can fail the first ones. */
class RecordingProducer implements Producer {
  readonly sends: Array<{ topic: string; records: ProduceRecord[] }> = [];
  failures = 0;

  async send(topic: string, records: ProduceRecord[]): Promise<RecordPosition[]> {
    this.sends.push({ topic, records });
    if (this.failures > 0) {
      this.failures--;
      throw new TroupeError('unavailable', 'log down');
    }
    return records.map((_, i) => ({ partition: 0, offset: String(i) }));
  }

  async close(): Promise<void> {}
}

describe('fanout job records', function () {
  it('round-trip with and without the left-out connection, at the largest safe seq', function () {
    const jobs: TaskRecord[] = [
      { type: 'fanout', conv: 'c-1', seq: 7, frames: ['{"type":"msg","seq":7}'], except, members: ['u-1', 'u-2'] },
      { type: 'fanout', conv: 'c-1', seq: Number.MAX_SAFE_INTEGER, frames: ['{}'], members: Array.from({ length: 5000 }, (_, i) => `u-${i}-ü`) },
      { type: 'fanout', conv: 'c-1', seq: 0, frames: ['{"type":"member","n":1}', '{"type":"member","n":2}'], exceptUser: 'u-1', members: ['u-1', 'u-2'] },
      { type: 'announce', conv: 'c-1', conversation: '{"id":"c-1","memberCount":100000}', members: ['u-1', 'u-2'], readSeqs: [0, 42] },
      { type: 'fanout', conv: 'c-1', seq: 8, frames: ['{"type":"msg","seq":8}'], except, members: [], wholeSlot: { slot: 15, poolSize: 16, count: 6250, hash: 0xffffffff, countedAt: Number.MAX_SAFE_INTEGER } },
      { type: 'announce', conv: 'c-1', conversation: '{}', members: [], readSeqs: [], wholeSlot: { slot: 0, poolSize: 1, count: 0, hash: 0, countedAt: 0 } },
      { type: 'members', conv: 'c-1', added: ['u-3', 'u-4'], removed: ['u-1'], cursors: [{ user: 'u-2', seq: Number.MAX_SAFE_INTEGER }] },
      { type: 'members', conv: 'c-1', added: [], removed: [], cursors: [] },
    ];
    for (const job of jobs) expect(decodeTask(encodeTask(job))).to.deep.equal(job);
  });

  it('refuse a fanout job without a frame and an announce job whose cursors do not match its members', function () {
    expectThrow(() => encodeTask({ type: 'fanout', conv: 'c', seq: 0, frames: [], members: ['u'] }), 'invalid_argument', 'no frame');
    const lopsided = encodeTask({ type: 'announce', conv: 'c', conversation: '{}', members: ['u-1', 'u-2'], readSeqs: [1] });
    expectThrow(() => decodeTask(lopsided), 'invalid_argument', 'read cursors');
    const outside = encodeTask({ type: 'fanout', conv: 'c', seq: 0, frames: ['{}'], members: [], wholeSlot: { slot: 16, poolSize: 16, count: 1, hash: 1, countedAt: 1 } });
    expectThrow(() => decodeTask(outside), 'invalid_argument', 'slot 16 of a pool of 16');
    const both = encodeTask({ type: 'fanout', conv: 'c', seq: 0, frames: ['{}'], members: ['u'], wholeSlot: { slot: 0, poolSize: 16, count: 1, hash: 1, countedAt: 1 } });
    expectThrow(() => decodeTask(both), 'invalid_argument', 'both its members and a whole slot');
  });

  it('refuse values that are not task records with invalid_argument', function () {
    expectThrow(() => decodeTask(Uint8Array.from([0xff, 0xff, 0xff])), 'invalid_argument');
    expectThrow(() => decodeTask(new Uint8Array()), 'invalid_argument', 'no record');
    // Other topics' values: their oneof field numbers are unknown to Task (upstream `read` is 2).
    expectThrow(() => decodeTask(encodeUpstream({ type: 'read', conv: 'c', user: 'u', origin: except, seq: 1 })), 'invalid_argument');
    expectThrow(() => decodeTask(encodeDownstream({ type: 'reply', requestId: 'r' })), 'invalid_argument');
  });
});

describe('member slots', function () {
  const members = Array.from({ length: 10_000 }, (_, i) => `u_${i.toString(36).padStart(16, '0')}`);

  it('spread a group evenly over the pool, each member in the slot of its id', function () {
    const slots = bySlot(members, 16);
    const sizes = slots.map((s) => s.length);
    expect(sizes.reduce((a, b) => a + b)).to.equal(members.length);
    expect(Math.min(...sizes), 'no slot far below an even share').to.be.greaterThan(members.length / 16 / 2);
    expect(Math.max(...sizes), 'no slot far above an even share').to.be.lessThan((members.length / 16) * 2);
    for (const [slot, users] of slots.entries()) for (const user of users) expect(slotOf(user, 16)).to.equal(slot);
  });

  it('digest each slot by count and an order-free hash, which a join and its leave cancel', function () {
    const digests = new SlotDigests(members, 16, 1);
    const reversed = new SlotDigests([...members].reverse(), 16, 1);
    expect(reversed.nonEmpty(), 'the order of the members does not matter').to.deep.equal(digests.nonEmpty());
    const before = digests.nonEmpty();
    expect(before.map((d) => d.count)).to.deep.equal(bySlot(members, 16).map((s) => s.length));
    digests.add('u_newcomer');
    const slot = slotOf('u_newcomer', 16);
    expect(digests.nonEmpty()[slot]).to.deep.equal({ slot, poolSize: 16, count: before[slot]!.count + 1, hash: (before[slot]!.hash ^ memberHash('u_newcomer')) >>> 0, countedAt: digests.countedAt });
    digests.remove('u_newcomer');
    expect(digests.nonEmpty()).to.deep.equal(before);
    expect(new SlotDigests(['u-1'], 4).nonEmpty(), 'empty slots are left out').to.have.length(1);
  });

  it('hash ids with FNV-1a: distinct for ids that differ in one character', function () {
    expect(memberHash('')).to.equal(0x811c9dc5);
    expect(memberHash('a')).to.equal(0xe40c292c);
    const hashes = new Set(members.map(memberHash));
    expect(hashes.size, 'no collisions among 10,000 ids').to.equal(members.length);
  });
});

describe('FanoutJobs', function () {
  const members = Array.from({ length: 5001 }, (_, i) => `u-${i}`);
  const msg = (chunk: string[]): FanoutJobRecord => ({ type: 'fanout', conv: 'c-big', seq: 3, frames: ['{"type":"msg"}'], except, members: chunk });

  it('splits each slot into chunks, one job each, keyed by conversation and slot, all in one send', async function () {
    const producer = new RecordingProducer();
    const batch = new FanoutJobs(producer, 'im-task-spec').batch();
    const slots = bySlot(members, 4);
    batch.add('c-big', slots, 500, msg);
    batch.add('c-big', [[], members.slice(0, 10)], 500, (chunk) => ({ ...msg(chunk), seq: 4 }));
    const perSlot = slots.map((s) => Math.ceil(s.length / 500));
    const total = perSlot.reduce((a, b) => a + b) + 1;
    expect(batch.size).to.equal(total);
    await batch.flush();

    expect(producer.sends).to.have.length(1);
    const [send] = producer.sends;
    expect(send!.topic).to.equal('im-task-spec');
    const expectedKeys = [...perSlot.flatMap((n, slot) => Array(n).fill(`c-big#${slot}`)), 'c-big#1'];
    expect(send!.records.map((r) => r.key)).to.deep.equal(expectedKeys);
    const jobs = send!.records.map((r) => decodeTask(r.value) as FanoutJobRecord);
    expect(jobs.every((j) => j.members.length <= 500)).to.equal(true);
    expect(jobs.slice(0, -1).flatMap((j) => j.members), 'the chunks cover the members once, slot by slot').to.deep.equal(slots.flat());
    expect(jobs.at(-1)).to.deep.include({ seq: 4, members: members.slice(0, 10) });
    for (const job of jobs) expect(job).to.deep.include({ conv: 'c-big', frames: ['{"type":"msg"}'], except });
    expect(batch.size, 'a flushed batch is empty').to.equal(0);
  });

  it(`cuts a batch of more than ${MAX_SEND_BYTES} bytes into sends under it, in order (Kafka refuses record batches over 1 MB)`, async function () {
    const producer = new RecordingProducer();
    const batch = new FanoutJobs(producer, 'im-task-spec').batch();
    const many = Array.from({ length: 100_000 }, (_, i) => `u_${i.toString(36).padStart(16, '0')}`);
    batch.add('c-big', bySlot(many, 16), 500, msg);
    const count = batch.size;
    await batch.flush();
    expect(producer.sends.length, 'several sends').to.be.greaterThan(1);
    for (const send of producer.sends) {
      const bytes = send.records.reduce((n, r) => n + r.value.byteLength, 0);
      expect(bytes).to.be.at.most(MAX_SEND_BYTES);
    }
    const jobs = producer.sends.flatMap((s) => s.records.map((r) => decodeTask(r.value) as FanoutJobRecord));
    expect(jobs).to.have.length(count);
    expect(jobs.flatMap((j) => j.members), 'every member once, in the order added').to.deep.equal(bySlot(many, 16).flat());
  });

  it('makes one job per slot digested, naming no member, and one change job per slot a change touches, in the order added', async function () {
    const producer = new RecordingProducer();
    const batch = new FanoutJobs(producer, 'im-task-spec').batch();
    const digests = new SlotDigests(members, 4).nonEmpty();
    const joined = ['u-new-1', 'u-new-2', 'u-new-3'];
    batch.addChange('c-big', 4, { added: joined, removed: ['u-7'], cursors: [{ user: 'u-9', seq: 5 }] });
    batch.addWhole('c-big', digests, (wholeSlot) => ({ ...msg([]), wholeSlot }));
    await batch.flush();
    const records = producer.sends[0]!.records;
    const changes = records.filter((r) => decodeTask(r.value).type === 'members');
    const touched = new Set([...joined, 'u-7', 'u-9'].map((u) => slotOf(u, 4)));
    expect(changes.map((r) => r.key).sort()).to.deep.equal([...touched].map((slot) => `c-big#${slot}`).sort());
    expect(records.slice(0, changes.length), 'the changes go first').to.deep.equal(changes);
    const perUser = changes.map((r) => decodeTask(r.value)).flatMap((j) => (j.type === 'members' ? [...j.added, ...j.removed, ...j.cursors.map((c) => c.user)] : []));
    expect(perUser.sort()).to.deep.equal([...joined, 'u-7', 'u-9'].sort());
    for (const r of changes) {
      const job = decodeTask(r.value);
      if (job.type !== 'members') throw new Error('a members job was expected');
      for (const user of [...job.added, ...job.removed, ...job.cursors.map((c) => c.user)]) expect(r.key).to.equal(`c-big#${slotOf(user, 4)}`);
    }
    const whole = records.slice(changes.length).map((r) => ({ key: r.key, job: decodeTask(r.value) as FanoutJobRecord }));
    expect(whole.map((w) => w.key)).to.deep.equal(digests.map((d) => `c-big#${d.slot}`));
    for (const [i, { job }] of whole.entries()) expect(job).to.deep.include({ members: [], wholeSlot: digests[i] });
    expect(whole.reduce((n, w) => n + w.job.wholeSlot!.count, 0)).to.equal(members.length);
  });

  it('sends nothing for an empty batch and retries a send the log could not take', async function () {
    const producer = new RecordingProducer();
    const jobs = new FanoutJobs(producer, 'im-task-spec');
    await jobs.batch().flush();
    expect(producer.sends).to.deep.equal([]);

    producer.failures = 2;
    const batch = jobs.batch();
    batch.add('c-big', [members.slice(0, 3)], 2, msg);
    await batch.flush();
    expect(producer.sends.map((s) => s.records.length), 'the same two jobs, three times').to.deep.equal([2, 2, 2]);
  });
});
