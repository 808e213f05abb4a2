/**
 * The contract of the partitioned log port (transport/log/port.ts), written once and run against
 * every implementation: the in-process log now, Kafka through kafkajs in cluster mode.
 *
 * Every test uses its own topics and groups, so a shared broker needs no clean-up between tests.
 * Waits allow 10 s (a real broker rebalances in seconds); nothing sleeps to let time pass, except
 * where a listener simulates slow work.
 */

import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { partitionFor } from '../../transport/log/partitioner.js';
import type {
  ConsumerListener,
  ConsumerOptions,
  GroupConsumer,
  Log,
  LogRecord,
  ProduceRecord,
  TopicPartition,
} from '../../transport/log/port.js';
import { expectTroupeRejection } from '../support/expect-rejection.js';
import { uniqueName, waitFor } from '../support/wait-for.js';

export interface LogFixture {
  log: Log;
  cleanup(): Promise<void>;
}

const PARTITIONS = 4;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function record(key: string, value: string): ProduceRecord {
  return { key, value: encoder.encode(value) };
}

function text(r: LogRecord): string {
  return decoder.decode(r.value);
}

function tpKey(tp: TopicPartition): string {
  return `${tp.topic}/${tp.partition}`;
}

/** A key of `prefix` that lands on `partition` of a topic of `count` partitions. */
function keyFor(prefix: string, partition: number, count = PARTITIONS): string {
  for (let i = 0; ; i++) {
    const key = `${prefix}-${i}`;
    if (partitionFor(key, count) === partition) return key;
  }
}

/** Who holds which partition right now, across the members of one test; notes any overlap. */
class Ownership {
  readonly owner = new Map<string, string>();
  readonly violations: string[] = [];
  /** Every callback in the order it ran: `${member} ${event} ${topic/partition}`. */
  readonly events: string[] = [];
}

/** A listener that records everything it is told and checks it against the shared ownership. */
class RecordingListener implements ConsumerListener {
  readonly records: LogRecord[] = [];
  readonly batches: { partition: TopicPartition; records: LogRecord[] }[] = [];
  readonly held = new Set<string>();
  readonly revoked: TopicPartition[] = [];
  /** Hooks that let a test slow a callback down or observe it. */
  beforeRevokeDone?: (partitions: TopicPartition[]) => Promise<void>;
  duringRecords?: (partition: TopicPartition, records: LogRecord[]) => Promise<void>;

  constructor(
    readonly name: string,
    private readonly ownership = new Ownership(),
  ) {}

  async onAssigned(partitions: TopicPartition[]): Promise<void> {
    for (const tp of partitions) {
      const key = tpKey(tp);
      const current = this.ownership.owner.get(key);
      if (current !== undefined && current !== this.name) {
        this.ownership.violations.push(`${this.name} assigned ${key} while ${current} holds it`);
      }
      this.ownership.owner.set(key, this.name);
      this.ownership.events.push(`${this.name} assigned ${key}`);
      this.held.add(key);
    }
  }

  async onRevoked(partitions: TopicPartition[]): Promise<void> {
    await this.beforeRevokeDone?.(partitions);
    for (const tp of partitions) {
      const key = tpKey(tp);
      if (this.ownership.owner.get(key) === this.name) this.ownership.owner.delete(key);
      this.ownership.events.push(`${this.name} revoked ${key}`);
      this.held.delete(key);
      this.revoked.push(tp);
    }
  }

  async onRecords(partition: TopicPartition, records: LogRecord[]): Promise<void> {
    const key = tpKey(partition);
    if (this.ownership.owner.get(key) !== this.name) {
      this.ownership.violations.push(`${this.name} got records of ${key} held by ${this.ownership.owner.get(key) ?? 'nobody'}`);
    }
    this.ownership.events.push(`${this.name} records ${key}`);
    this.batches.push({ partition, records });
    this.records.push(...records);
    await this.duringRecords?.(partition, records);
  }

  valuesOf(partition: number): string[] {
    return this.records.filter((r) => r.partition === partition).map(text);
  }
}

export function describeLogContract(name: string, factory: () => Promise<LogFixture>): void {
  describe(`log contract: ${name}`, function () {
    this.timeout(30_000);

    let fixture: LogFixture;
    let log: Log;
    let consumers: GroupConsumer[];

    beforeEach(async () => {
      fixture = await factory();
      log = fixture.log;
      consumers = [];
    });

    afterEach(async () => {
      await Promise.all(consumers.map((consumer) => consumer.stop()));
      await fixture.cleanup();
    });

    async function topicOf(partitions = PARTITIONS): Promise<string> {
      const topic = uniqueName('log-contract');
      await log.createTopics([{ topic, partitions }]);
      return topic;
    }

    async function started(options: ConsumerOptions, listener: ConsumerListener): Promise<GroupConsumer> {
      const consumer = log.consumer(options);
      consumers.push(consumer);
      await consumer.start(listener);
      return consumer;
    }

    async function waitForHeld(listener: RecordingListener, count: number): Promise<void> {
      await waitFor(() => listener.held.size === count, { message: `${listener.name} to hold ${count} partitions` });
    }

    describe('producing', () => {
      it('puts each record on the partition partitionFor gives its key', async () => {
        const topic = await topicOf();
        const keys = Array.from({ length: 40 }, (_, i) => uniqueName(`key${i}`));
        const positions = await log.producer().send(topic, keys.map((key) => record(key, key)));
        positions.forEach((position, i) => {
          expect(position.partition, keys[i]).to.equal(partitionFor(keys[i]!, PARTITIONS));
        });

        const listener = new RecordingListener('a');
        await started({ groupId: uniqueName('g'), topics: [topic], fromBeginning: true }, listener);
        await waitFor(() => listener.records.length === keys.length, { message: 'every record' });
        for (const r of listener.records) {
          expect(r.topic).to.equal(topic);
          expect(r.key).to.equal(text(r));
          expect(r.partition, r.key).to.equal(partitionFor(r.key, PARTITIONS));
        }
      });

      it('resolves with one position per record, in the order given, offsets counting up per partition', async () => {
        const topic = await topicOf();
        const key = keyFor(uniqueName('k'), 2);
        const other = keyFor(uniqueName('o'), 1);
        const producer = log.producer();
        const first = await producer.send(topic, [record(key, 'a'), record(other, 'x'), record(key, 'b')]);
        const second = await producer.send(topic, [record(key, 'c')]);
        expect(first).to.deep.equal([
          { partition: 2, offset: '0' },
          { partition: 1, offset: '0' },
          { partition: 2, offset: '1' },
        ]);
        expect(second).to.deep.equal([{ partition: 2, offset: '2' }]);
        expect(await log.endOffset({ topic, partition: 2 })).to.equal('3');
        await producer.close();
      });

      it('rejects send with closed after the producer is closed', async () => {
        const topic = await topicOf();
        const producer = log.producer();
        await producer.close();
        await expectTroupeRejection(producer.send(topic, [record('k', 'v')]), 'closed');
      });
    });

    describe('topics and offsets', () => {
      it('createTopics leaves an existing topic as it is', async () => {
        const topic = uniqueName('log-contract');
        const other = uniqueName('log-contract');
        await log.createTopics([{ topic, partitions: 3 }]);
        await log.createTopics([{ topic, partitions: 3 }]);
        await log.createTopics([
          { topic, partitions: 5 },
          { topic: other, partitions: 2 },
        ]);
        expect(await log.partitionCount(topic)).to.equal(3);
        expect(await log.partitionCount(other)).to.equal(2);
      });

      it('partitionCount rejects an unknown topic with not_found', async () => {
        await expectTroupeRejection(log.partitionCount(uniqueName('log-missing')), 'not_found');
      });

      it('endOffset and committedOffset report where a partition and a group stand', async () => {
        const topic = await topicOf();
        const groupId = uniqueName('g');
        const tp = { topic, partition: 1 };
        const key = keyFor(uniqueName('k'), 1);
        expect(await log.endOffset(tp)).to.equal('0');
        expect(await log.committedOffset(groupId, tp)).to.equal(null);

        await log.producer().send(topic, [record(key, 'a'), record(key, 'b'), record(key, 'c')]);
        expect(await log.endOffset(tp)).to.equal('3');
        expect(await log.endOffset({ topic, partition: 0 })).to.equal('0');

        const listener = new RecordingListener('a');
        const consumer = await started({ groupId, topics: [topic], fromBeginning: true }, listener);
        await waitFor(() => listener.records.length === 3, { message: 'three records' });
        await consumer.commit(tp, '2');
        expect(await log.committedOffset(groupId, tp)).to.equal('2');
        expect(await log.committedOffset(uniqueName('other-group'), tp)).to.equal(null);
      });
    });

    describe('consuming', () => {
      it('delivers each partition in offset order, consecutive offsets, batches of at most maxBatchRecords', async () => {
        const topic = await topicOf();
        const keys = Array.from({ length: 5 }, (_, i) => uniqueName(`k${i}`));
        const producer = log.producer();
        const sent = new Map<string, string[]>();
        for (let round = 0; round < 12; round++) {
          await producer.send(topic, keys.map((key) => record(key, `${key}#${round}`)));
          for (const key of keys) sent.set(key, [...(sent.get(key) ?? []), `${key}#${round}`]);
        }

        const listener = new RecordingListener('a');
        await started({ groupId: uniqueName('g'), topics: [topic], fromBeginning: true, maxBatchRecords: 7 }, listener);
        await waitFor(() => listener.records.length === 60, { message: 'all 60 records' });

        for (const batch of listener.batches) {
          expect(batch.records.length).to.be.within(1, 7);
          for (const r of batch.records) expect(r.partition).to.equal(batch.partition.partition);
        }
        for (let p = 0; p < PARTITIONS; p++) {
          const offsets = listener.records.filter((r) => r.partition === p).map((r) => BigInt(r.offset));
          offsets.forEach((offset, i) => expect(offset, `partition ${p}`).to.equal(BigInt(i)));
        }
        for (const key of keys) {
          expect(listener.records.filter((r) => r.key === key).map(text)).to.deep.equal(sent.get(key));
        }
      });

      it('a new group with fromBeginning starts at the earliest record', async () => {
        const topic = await topicOf();
        const key = keyFor(uniqueName('k'), 0);
        await log.producer().send(topic, ['a', 'b', 'c'].map((v) => record(key, v)));
        const listener = new RecordingListener('a');
        await started({ groupId: uniqueName('g'), topics: [topic], fromBeginning: true }, listener);
        await waitFor(() => listener.records.length === 3, { message: 'three records' });
        expect(listener.records.map((r) => r.offset)).to.deep.equal(['0', '1', '2']);
        expect(listener.valuesOf(0)).to.deep.equal(['a', 'b', 'c']);
      });

      it('a new group without fromBeginning skips what was produced before it joined', async () => {
        const topic = await topicOf();
        const key = keyFor(uniqueName('k'), 3);
        const producer = log.producer();
        await producer.send(topic, ['old-1', 'old-2'].map((v) => record(key, v)));
        const listener = new RecordingListener('a');
        await started({ groupId: uniqueName('g'), topics: [topic] }, listener);
        await waitForHeld(listener, PARTITIONS);
        // Where "the end" is fixed may lag the join a little on a real broker: keep producing
        // until a new record arrives. An old record would have to come before it.
        let sentNew = 0;
        await waitFor(
          async () => {
            if (listener.records.length > 0) return true;
            await producer.send(topic, [record(key, `new-${sentNew++}`)]);
            return false;
          },
          { intervalMs: 50, message: 'a record produced after the join' },
        );
        expect(listener.valuesOf(3)[0]).to.match(/^new-/);
        expect(listener.valuesOf(3)).to.not.include.members(['old-1', 'old-2']);
      });

      it('a restarted member resumes at the committed offset and gets the uncommitted records again', async () => {
        const topic = await topicOf();
        const groupId = uniqueName('g');
        const key = keyFor(uniqueName('k'), 2);
        const tp = { topic, partition: 2 };
        await log.producer().send(topic, Array.from({ length: 10 }, (_, i) => record(key, `v${i}`)));

        const first = new RecordingListener('first');
        const consumer = await started({ groupId, topics: [topic], fromBeginning: true }, first);
        await waitFor(() => first.records.length === 10, { message: 'ten records' });
        await consumer.commit(tp, first.records[6]!.offset);
        await consumer.stop();
        expect(await log.committedOffset(groupId, tp)).to.equal(first.records[6]!.offset);

        const second = new RecordingListener('second');
        await started({ groupId, topics: [topic], fromBeginning: false }, second);
        await waitFor(() => second.records.length === 4, { message: 'the four uncommitted records' });
        expect(second.records.map((r) => r.offset)).to.deep.equal(first.records.slice(6).map((r) => r.offset));
        expect(second.valuesOf(2)).to.deep.equal(['v6', 'v7', 'v8', 'v9']);
      });

      it('a commit never moves the committed offset backwards', async () => {
        const topic = await topicOf();
        const groupId = uniqueName('g');
        const key = keyFor(uniqueName('k'), 0);
        const tp = { topic, partition: 0 };
        await log.producer().send(topic, Array.from({ length: 8 }, (_, i) => record(key, `v${i}`)));
        const listener = new RecordingListener('a');
        const consumer = await started({ groupId, topics: [topic], fromBeginning: true }, listener);
        await waitFor(() => listener.records.length === 8, { message: 'eight records' });
        await consumer.commit(tp, '5');
        await consumer.commit(tp, '2');
        expect(await log.committedOffset(groupId, tp)).to.equal('5');
        await consumer.commit(tp, '7');
        expect(await log.committedOffset(groupId, tp)).to.equal('7');
      });

      it('commit rejects with not_owner for a partition the member does not hold', async () => {
        const topic = await topicOf();
        const elsewhere = await topicOf();
        const listener = new RecordingListener('a');
        const consumer = await started({ groupId: uniqueName('g'), topics: [topic], fromBeginning: true }, listener);
        await waitForHeld(listener, PARTITIONS);
        await consumer.commit({ topic, partition: 0 }, '0');
        await expectTroupeRejection(consumer.commit({ topic: elsewhere, partition: 0 }, '0'), 'not_owner');
        await consumer.stop();
        await expectTroupeRejection(consumer.commit({ topic, partition: 0 }, '0'), 'not_owner');
      });

      it('pause stops delivery of one partition and resume continues it', async () => {
        const topic = await topicOf();
        const pausedKey = keyFor(uniqueName('p'), 0);
        const runningKey = keyFor(uniqueName('r'), 1);
        const listener = new RecordingListener('a');
        const consumer = await started({ groupId: uniqueName('g'), topics: [topic], fromBeginning: true }, listener);
        await waitForHeld(listener, PARTITIONS);

        consumer.pause({ topic, partition: 0 });
        const producer = log.producer();
        await producer.send(topic, [record(pausedKey, 'held-back')]);
        await producer.send(topic, [record(runningKey, 'flows')]);
        await waitFor(() => listener.valuesOf(1).includes('flows'), { message: 'the unpaused partition' });
        expect(listener.valuesOf(0)).to.deep.equal([]);

        consumer.resume({ topic, partition: 0 });
        await waitFor(() => listener.valuesOf(0).includes('held-back'), { message: 'the resumed partition' });
      });

      it('calls onRevoked only after the in-flight onRecords of the partition resolved', async () => {
        const topic = await topicOf();
        const key = keyFor(uniqueName('k'), 0);
        const listener = new RecordingListener('a');
        let release!: () => void;
        const released = new Promise<void>((resolve) => (release = resolve));
        let finished = false;
        listener.duringRecords = async () => {
          await released;
          finished = true;
        };
        let finishedAtRevoke: boolean | undefined;
        listener.beforeRevokeDone = async () => {
          finishedAtRevoke ??= finished;
        };
        const consumer = await started({ groupId: uniqueName('g'), topics: [topic], fromBeginning: true }, listener);
        await log.producer().send(topic, [record(key, 'slow')]);
        await waitFor(() => listener.records.length === 1, { message: 'the record' });
        const stopped = consumer.stop();
        // Give stop() time to run ahead if it does not wait for the batch.
        await sleep(50);
        release();
        await stopped;
        expect(finishedAtRevoke).to.equal(true);
      });

      it('stop revokes every held partition, once, and is idempotent', async () => {
        const topic = await topicOf();
        const listener = new RecordingListener('a');
        const consumer = await started({ groupId: uniqueName('g'), topics: [topic] }, listener);
        await waitForHeld(listener, PARTITIONS);
        await consumer.stop();
        await consumer.stop();
        const revoked = listener.revoked.map((tp) => tp.partition).sort((a, b) => a - b);
        expect(revoked).to.deep.equal([0, 1, 2, 3]);
        expect(listener.revoked.every((tp) => tp.topic === topic)).to.equal(true);
        expect(listener.held.size).to.equal(0);
      });
    });

    describe('consumer groups', () => {
      async function splitBetweenTwo(topic: string, groupId: string, ownership: Ownership) {
        const a = new RecordingListener('A', ownership);
        const b = new RecordingListener('B', ownership);
        const consumerA = await started({ groupId, topics: [topic], fromBeginning: true }, a);
        await waitForHeld(a, PARTITIONS);
        const consumerB = await started({ groupId, topics: [topic], fromBeginning: true }, b);
        await waitFor(() => a.held.size > 0 && b.held.size > 0 && a.held.size + b.held.size === PARTITIONS, {
          message: 'A and B to split the partitions',
        });
        return { a, b, consumerA, consumerB };
      }

      it('two members split the partitions and never hold one at the same time', async () => {
        const topic = await topicOf();
        const ownership = new Ownership();
        const { a, b } = await splitBetweenTwo(topic, uniqueName('g'), ownership);
        for (const key of a.held) expect(b.held.has(key), key).to.equal(false);

        const keys = Array.from({ length: PARTITIONS }, (_, p) => keyFor(uniqueName('k'), p));
        await log.producer().send(topic, keys.flatMap((key) => [record(key, `${key}-1`), record(key, `${key}-2`)]));
        await waitFor(() => a.records.length + b.records.length === 2 * PARTITIONS, { message: 'every record' });
        for (const r of a.records) expect(a.held.has(tpKey(r)), `A got ${tpKey(r)}`).to.equal(true);
        for (const r of b.records) expect(b.held.has(tpKey(r)), `B got ${tpKey(r)}`).to.equal(true);
        expect(ownership.violations).to.deep.equal([]);
      });

      it('evict removes another member by its id: its partitions are revoked, and a live one joins again', async () => {
        const topic = await topicOf();
        const groupId = uniqueName('g');
        const ownership = new Ownership();
        const a = new RecordingListener('A', ownership);
        const b = new RecordingListener('B', ownership);
        const idsOfA: string[] = [];
        const idsOfB: string[] = [];
        const consumerA = await started({ groupId, topics: [topic], fromBeginning: true, onJoined: (id) => idsOfA.push(id) }, a);
        await waitForHeld(a, PARTITIONS);
        await started({ groupId, topics: [topic], fromBeginning: true, onJoined: (id) => idsOfB.push(id) }, b);
        await waitFor(() => a.held.size > 0 && b.held.size > 0 && a.held.size + b.held.size === PARTITIONS, { message: 'A and B to split the partitions' });
        expect(idsOfA).to.have.length.greaterThan(0);
        const evictedId = idsOfB[idsOfB.length - 1]!;
        const heldByB = [...b.held];

        await expectTroupeRejection(consumerA.evict(idsOfA[idsOfA.length - 1]!), 'invalid_argument');
        await consumerA.evict('no-such-member');
        await consumerA.evict(evictedId);
        await waitFor(() => heldByB.every((key) => b.revoked.some((tp) => tpKey(tp) === key)), { message: 'B to have its partitions revoked' });
        await waitFor(() => a.held.size > 0 && b.held.size > 0 && a.held.size + b.held.size === PARTITIONS, { message: 'A and B to split the partitions again' });
        await consumerA.evict(evictedId); // gone already
      });

      it("a leaving member's partitions go to another member only after its onRevoked resolved", async () => {
        const topic = await topicOf();
        const ownership = new Ownership();
        const { a, b, consumerA } = await splitBetweenTwo(topic, uniqueName('g'), ownership);
        const leftByA = [...a.held];
        let revokeDone = false;
        a.beforeRevokeDone = async () => {
          await sleep(100); // the owner finishing its in-flight work and committing
          ownership.events.push('A onRevoked done');
          revokeDone = true;
        };
        const from = ownership.events.length;

        await consumerA.stop();
        expect(revokeDone, 'stop() resolves after onRevoked').to.equal(true);
        await waitForHeld(b, PARTITIONS);

        const events = ownership.events.slice(from);
        const done = events.indexOf('A onRevoked done');
        expect(done).to.be.greaterThan(-1);
        for (const key of leftByA) {
          const assignedToB = events.indexOf(`B assigned ${key}`);
          expect(assignedToB, `B assigned ${key}`).to.be.greaterThan(done);
        }
        expect(ownership.violations).to.deep.equal([]);
      });
    });
  });
}
