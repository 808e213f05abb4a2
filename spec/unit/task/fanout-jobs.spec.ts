/**
 * Fanout jobs on the wire (actors/records/codec.ts: encodeTask/decodeTask) and as the logic
 * side produces them (actors/logic/fanout-jobs.ts): chunking, keys, one send per batch, retry.
 */
import { expect } from 'chai';
import { FanoutJobs } from '../../../actors/logic/fanout-jobs.js';
import { decodeTask, encodeDownstream, encodeTask, encodeUpstream } from '../../../actors/records/codec.js';
import type { FanoutJobRecord } from '../../../actors/records/types.js';
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
    const jobs: FanoutJobRecord[] = [
      { type: 'fanout', conv: 'c-1', seq: 7, frame: '{"type":"msg","seq":7}', except, members: ['u-1', 'u-2'] },
      { type: 'fanout', conv: 'c-1', seq: Number.MAX_SAFE_INTEGER, frame: '{}', members: Array.from({ length: 5000 }, (_, i) => `u-${i}-ü`) },
    ];
    for (const job of jobs) expect(decodeTask(encodeTask(job))).to.deep.equal(job);
  });

  it('refuse values that are not task records with invalid_argument', function () {
    expectThrow(() => decodeTask(Uint8Array.from([0xff, 0xff, 0xff])), 'invalid_argument');
    expectThrow(() => decodeTask(new Uint8Array()), 'invalid_argument', 'no record');
    // Other topics' values: their oneof field numbers are unknown to Task (upstream `read` is 2).
    expectThrow(() => decodeTask(encodeUpstream({ type: 'read', conv: 'c', user: 'u', origin: except, seq: 1 })), 'invalid_argument');
    expectThrow(() => decodeTask(encodeDownstream({ type: 'reply', requestId: 'r' })), 'invalid_argument');
  });
});

describe('FanoutJobs', function () {
  const message = { conv: 'c-big', seq: 3, frame: '{"type":"msg"}', except };
  const members = Array.from({ length: 5001 }, (_, i) => `u-${i}`);

  it('splits the members into chunks, one job each, keyed by the conversation, all in one send', async function () {
    const producer = new RecordingProducer();
    const batch = new FanoutJobs(producer, 'im-task-spec').batch();
    batch.add(message, members, 500);
    batch.add({ ...message, seq: 4 }, members.slice(0, 10), 500);
    expect(batch.size).to.equal(12);
    await batch.flush();

    expect(producer.sends).to.have.length(1);
    const [send] = producer.sends;
    expect(send!.topic).to.equal('im-task-spec');
    expect(send!.records.map((r) => r.key)).to.deep.equal(Array(12).fill('c-big'));
    const jobs = send!.records.map((r) => decodeTask(r.value));
    expect(jobs.map((j) => [j.seq, j.members.length])).to.deep.equal([...Array(10).fill([3, 500]), [3, 1], [4, 10]]);
    expect(jobs.slice(0, 11).flatMap((j) => j.members)).to.deep.equal(members);
    for (const job of jobs) expect(job).to.deep.include({ conv: 'c-big', frame: '{"type":"msg"}', except });
    expect(batch.size, 'a flushed batch is empty').to.equal(0);
  });

  it('sends nothing for an empty batch and retries a send the log could not take', async function () {
    const producer = new RecordingProducer();
    const jobs = new FanoutJobs(producer, 'im-task-spec');
    await jobs.batch().flush();
    expect(producer.sends).to.deep.equal([]);

    producer.failures = 2;
    const batch = jobs.batch();
    batch.add(message, members.slice(0, 3), 2);
    await batch.flush();
    expect(producer.sends.map((s) => s.records.length), 'the same two jobs, three times').to.deep.equal([2, 2, 2]);
  });
});
