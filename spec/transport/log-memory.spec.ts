/**
 * The in-process log: the shared log contract, then what only the memory implementation
 * promises (retention, auto-created topics, redelivery of failed batches, a clean close).
 */

import { expect } from 'chai';
import type { ListenerCallback } from '../../transport/log/memory-consumer.js';
import { MemoryLog, type MemoryLogOptions } from '../../transport/log/memory.js';
import { partitionFor } from '../../transport/log/partitioner.js';
import type { ConsumerListener, GroupConsumer, LogRecord, TopicPartition } from '../../transport/log/port.js';
import { describeLogContract } from '../contract/log.contract.js';
import { expectTroupeRejection } from '../support/expect-rejection.js';
import { uniqueName, waitFor } from '../support/wait-for.js';

describeLogContract('MemoryLog', async () => {
  const log = new MemoryLog();
  return { log, cleanup: () => log.close() };
});

const encoder = new TextEncoder();

/** A listener that keeps what it receives; commits are left to the test. */
function collecting(records: LogRecord[], held?: Set<number>): ConsumerListener {
  return {
    onAssigned: async (partitions) => partitions.forEach((tp) => held?.add(tp.partition)),
    onRevoked: async (partitions) => partitions.forEach((tp) => held?.delete(tp.partition)),
    onRecords: async (_tp, batch) => void records.push(...batch),
  };
}

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout' || kind === 'Immediate').length;
}

describe('MemoryLog', () => {
  let log: MemoryLog;
  let consumers: GroupConsumer[];

  function open(options: MemoryLogOptions = {}): MemoryLog {
    log = new MemoryLog(options);
    return log;
  }

  async function started(groupId: string, topics: string[], listener: ConsumerListener, fromBeginning = true) {
    const consumer = log.consumer({ groupId, topics, fromBeginning });
    consumers.push(consumer);
    await consumer.start(listener);
    return consumer;
  }

  /** Sends `count` records to partition 0 of a one-partition topic. */
  async function fill(topic: string, count: number, from = 0): Promise<void> {
    await log.producer().send(
      topic,
      Array.from({ length: count }, (_, i) => ({ key: 'k', value: encoder.encode(`v${from + i}`) })),
    );
  }

  beforeEach(() => {
    consumers = [];
  });

  afterEach(async () => {
    await Promise.all(consumers.map((consumer) => consumer.stop()));
    await log.close();
  });

  describe('retention', () => {
    it('drops the records every subscribed group has committed past', async () => {
      open();
      const topic = uniqueName('t');
      const tp = { topic, partition: 0 };
      await log.createTopics([{ topic, partitions: 1 }]);
      await fill(topic, 10);
      const seenA: LogRecord[] = [];
      const seenB: LogRecord[] = [];
      const a = await started(uniqueName('ga'), [topic], collecting(seenA));
      const b = await started(uniqueName('gb'), [topic], collecting(seenB));
      await waitFor(() => seenA.length === 10 && seenB.length === 10, { message: 'both groups read all' });

      await a.commit(tp, '6');
      expect(await log.earliestOffset(tp), 'group B has not committed').to.equal('0');
      await b.commit(tp, '3');
      expect(await log.earliestOffset(tp)).to.equal('3');
      await b.commit(tp, '8');
      expect(await log.earliestOffset(tp), 'the lowest commit is A at 6').to.equal('6');

      const late: LogRecord[] = [];
      await started(uniqueName('late'), [topic], collecting(late));
      await waitFor(() => late.length === 4, { message: 'the retained records' });
      expect(late.map((r) => r.offset)).to.deep.equal(['6', '7', '8', '9']);
    });

    it('keeps records for a group that subscribed but left without committing', async () => {
      open();
      const topic = uniqueName('t');
      const tp = { topic, partition: 0 };
      await log.createTopics([{ topic, partitions: 1 }]);
      await fill(topic, 5);
      const idle = log.consumer({ groupId: uniqueName('idle'), topics: [topic] });
      await idle.start(collecting([]));
      await idle.stop();
      const seen: LogRecord[] = [];
      const reader = await started(uniqueName('reader'), [topic], collecting(seen));
      await waitFor(() => seen.length === 5, { message: 'five records' });
      await reader.commit(tp, '5');
      expect(await log.earliestOffset(tp)).to.equal('0');
    });

    it('caps a partition at maxRetainedPerPartition and a lagging member continues at the oldest kept', async () => {
      open({ maxRetainedPerPartition: 10 });
      const topic = uniqueName('t');
      const tp = { topic, partition: 0 };
      await log.createTopics([{ topic, partitions: 1 }]);
      const groupId = uniqueName('g');
      await fill(topic, 4);
      const early: LogRecord[] = [];
      const first = await started(groupId, [topic], collecting(early));
      await waitFor(() => early.length === 4, { message: 'four records' });
      await first.commit(tp, '2');
      await first.stop();

      await fill(topic, 21, 4);
      expect(await log.earliestOffset(tp)).to.equal('15');
      expect(await log.endOffset(tp)).to.equal('25');

      const resumed: LogRecord[] = [];
      await started(groupId, [topic], collecting(resumed));
      await waitFor(() => resumed.length === 10, { message: 'the ten retained records' });
      expect(resumed[0]!.offset, 'offsets 2 to 14 were dropped').to.equal('15');
      expect(resumed.map((r) => new TextDecoder().decode(r.value))).to.deep.equal(
        Array.from({ length: 10 }, (_, i) => `v${15 + i}`),
      );
    });

    it('reads the right records across many trims and compactions', async () => {
      open({ maxRetainedPerPartition: 300 });
      const topic = uniqueName('t');
      await log.createTopics([{ topic, partitions: 1 }]);
      for (let round = 0; round < 50; round++) await fill(topic, 100, round * 100);
      const seen: LogRecord[] = [];
      await started(uniqueName('g'), [topic], collecting(seen));
      await waitFor(() => seen.length === 300, { message: '300 retained records' });
      seen.forEach((r, i) => {
        expect(r.offset).to.equal(String(4700 + i));
        expect(new TextDecoder().decode(r.value)).to.equal(`v${4700 + i}`);
      });
    });
  });

  describe('topics', () => {
    it('creates an unknown topic on produce with defaultPartitions partitions', async () => {
      open({ defaultPartitions: 6 });
      const topic = uniqueName('t');
      const [position] = await log.producer().send(topic, [{ key: 'user-1', value: new Uint8Array([1]) }]);
      expect(await log.partitionCount(topic)).to.equal(6);
      expect(position).to.deep.equal({ partition: partitionFor('user-1', 6), offset: '0' });
    });

    it('assigns the partitions of a topic created after the member subscribed', async () => {
      open();
      const topic = uniqueName('t');
      const held = new Set<number>();
      const seen: LogRecord[] = [];
      await started(uniqueName('g'), [topic], collecting(seen, held));
      expect(held.size).to.equal(0);
      await log.createTopics([{ topic, partitions: 3 }]);
      await waitFor(() => held.size === 3, { message: 'the new topic assigned' });
      await log.producer().send(topic, [{ key: 'k', value: new Uint8Array([7]) }]);
      await waitFor(() => seen.length === 1, { message: 'the record' });
    });

    it('rejects a topic name Kafka would refuse', async () => {
      open();
      await expectTroupeRejection(log.createTopics([{ topic: 'bad name', partitions: 1 }]), 'invalid_argument');
      await expectTroupeRejection(log.producer().send('bad/name', [{ key: 'k', value: new Uint8Array() }]), 'invalid_argument');
    });

    it('rejects a record with an empty key and appends none of the call', async () => {
      open();
      const topic = uniqueName('t');
      await log.createTopics([{ topic, partitions: 1 }]);
      const send = log.producer().send(topic, [
        { key: 'k', value: new Uint8Array() },
        { key: '', value: new Uint8Array() },
      ]);
      await expectTroupeRejection(send, 'invalid_argument');
      expect(await log.endOffset({ topic, partition: 0 })).to.equal('0');
    });
  });

  describe('delivery', () => {
    it('gives the event loop a turn while draining a backlog to a listener that resolves at once', async () => {
      open();
      const topic = uniqueName('t');
      await log.createTopics([{ topic, partitions: 1 }]);
      await fill(topic, 5000);
      const seen: LogRecord[] = [];
      const consumer = log.consumer({ groupId: uniqueName('g'), topics: [topic], fromBeginning: true, maxBatchRecords: 10 });
      consumers.push(consumer);
      let seenWhenLoopTurned = -1;
      setImmediate(() => (seenWhenLoopTurned = seen.length));
      await consumer.start(collecting(seen));
      await waitFor(() => seen.length === 5000, { message: 'the whole backlog' });
      expect(seenWhenLoopTurned).to.be.within(0, 4999);
    });
  });

  describe('failing listeners', () => {
    it('reports a rejected onRecords and delivers the batch again', async () => {
      const errors: ListenerCallback[] = [];
      open({ retryDelayMs: 5, onListenerError: (_err, callback) => errors.push(callback) });
      const topic = uniqueName('t');
      await log.createTopics([{ topic, partitions: 1 }]);
      const deliveries: string[][] = [];
      await started(uniqueName('g'), [topic], {
        onAssigned: async () => {},
        onRevoked: async () => {},
        onRecords: async (_tp: TopicPartition, batch: LogRecord[]) => {
          deliveries.push(batch.map((r) => r.offset));
          if (deliveries.length === 1) throw new Error('mailbox broke');
        },
      });
      await fill(topic, 2);
      await waitFor(() => deliveries.length === 2, { message: 'the redelivery' });
      expect(deliveries[1]).to.deep.equal(deliveries[0]);
      expect(errors).to.deep.equal(['onRecords']);
    });
  });

  describe('close', () => {
    it('revokes every consumer, then rejects producers and new consumers with closed', async () => {
      open();
      const topic = uniqueName('t');
      await log.createTopics([{ topic, partitions: 2 }]);
      const held = new Set<number>();
      await started(uniqueName('g'), [topic], collecting([], held));
      expect(held.size).to.equal(2);
      const producer = log.producer();
      await log.close();
      expect(held.size, 'onRevoked called for every partition').to.equal(0);
      await expectTroupeRejection(producer.send(topic, [{ key: 'k', value: new Uint8Array() }]), 'closed');
      await expectTroupeRejection(log.consumer({ groupId: 'g', topics: [topic] }).start(collecting([])), 'closed');
      await expectTroupeRejection(log.endOffset({ topic, partition: 0 }), 'closed');
    });

    it('leaves no timer running after close, even with a redelivery pending', async () => {
      open({ retryDelayMs: 60_000, onListenerError: () => {} });
      const topic = uniqueName('t');
      await log.createTopics([{ topic, partitions: 1 }]);
      const before = activeTimers(); // after an await, so mocha's own test timer is counted too
      let failed = false;
      await started(uniqueName('g'), [topic], {
        onAssigned: async () => {},
        onRevoked: async () => {},
        onRecords: async () => {
          failed = true;
          throw new Error('always fails');
        },
      });
      await fill(topic, 1);
      await waitFor(() => failed, { message: 'the failing delivery' });
      await waitFor(() => activeTimers() > before, { message: 'the redelivery timer' });
      await log.close();
      expect(activeTimers()).to.equal(before);
    });
  });
});
