/**
 * SendBatcher (transport/log/kafka-send-batcher.ts) against a fake `sendBatch` that partitions
 * like kafkajs (through the batcher's partitioner) and answers with base offsets: calls of one
 * turn leave in one request, a linger gathers calls of separate turns, one request is in flight
 * at a time, positions follow each partition's order, and a failed request rejects every call
 * in it.
 */
import { expect } from 'chai';
import type { RecordMetadata, TopicMessages } from 'kafkajs';
import { SendBatcher, type KeyedMessage } from '../../transport/log/kafka-send-batcher.js';
import { waitFor } from '../support/wait-for.js';

const PARTITIONS = [0, 1, 2];

class FakeBroker {
  requests: TopicMessages[][] = [];
  private readonly next = new Map<string, number>();
  failNext: Error | null = null;
  /** While set, requests wait for `release()`. */
  private held: Array<() => void> | null = null;
  batcher!: SendBatcher;

  readonly sendBatch = async (topicMessages: TopicMessages[]): Promise<RecordMetadata[]> => {
    this.requests.push(topicMessages);
    if (this.held !== null) await new Promise<void>((resolve) => this.held!.push(resolve));
    if (this.failNext !== null) {
      const error = this.failNext;
      this.failNext = null;
      throw error;
    }
    const results: RecordMetadata[] = [];
    for (const { topic, messages } of topicMessages) {
      const counts = new Map<number, number>();
      for (const message of messages) {
        const partition = this.batcher.partitioner({ partitionMetadata: PARTITIONS, message });
        counts.set(partition, (counts.get(partition) ?? 0) + 1);
      }
      for (const [partition, count] of counts) {
        const slot = `${topic}/${partition}`;
        const base = this.next.get(slot) ?? 0;
        this.next.set(slot, base + count);
        results.push({ topicName: topic, partition, errorCode: 0, baseOffset: String(base) });
      }
    }
    return results;
  };

  hold(): void {
    this.held = [];
  }

  release(): void {
    const waiting = this.held ?? [];
    this.held = null;
    for (const resolve of waiting) resolve();
  }
}

function message(key: string, value = 'v'): KeyedMessage {
  return { key, value };
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('SendBatcher', function () {
  let broker: FakeBroker;

  function batcher(lingerMs = 0): SendBatcher {
    broker = new FakeBroker();
    broker.batcher = new SendBatcher(broker.sendBatch, undefined, lingerMs);
    return broker.batcher;
  }

  it('sends the calls of one turn as one request, each resolving with its own positions', async function () {
    const b = batcher();
    const [first, second] = await Promise.all([b.send('t', [message('k1'), message('k1')]), b.send('t', [message('k1')]), b.send('u', [message('k2')])]);
    expect(broker.requests).to.have.length(1);
    expect(broker.requests[0]!.map((t) => t.topic).sort()).to.deep.equal(['t', 'u']);
    expect(first!.map((p) => p.offset)).to.deep.equal(['0', '1']);
    expect(second!.map((p) => p.offset)).to.deep.equal(['2']);
    expect(new Set([...first!, ...second!].map((p) => p.partition)).size).to.equal(1);
  });

  it('without a linger, sends calls of separate turns separately', async function () {
    const b = batcher();
    await b.send('t', [message('a')]);
    await b.send('t', [message('a')]);
    expect(broker.requests).to.have.length(2);
  });

  it('with a linger, gathers calls of separate turns into one request', async function () {
    const b = batcher(500);
    const calls = [b.send('t', [message('a')])];
    await nextTurn();
    calls.push(b.send('t', [message('a')]));
    await nextTurn();
    expect(broker.requests).to.have.length(0);
    const positions = await Promise.all(calls);
    expect(broker.requests).to.have.length(1);
    expect(positions.map((p) => p[0]!.offset)).to.deep.equal(['0', '1']);
  });

  it('keeps one request in flight: calls made meanwhile leave together once it is answered', async function () {
    const b = batcher();
    broker.hold();
    const first = b.send('t', [message('a')]);
    await waitFor(() => broker.requests.length === 1, { message: 'the first request to leave' });
    const later = [b.send('t', [message('a')]), b.send('t', [message('b')])];
    await nextTurn();
    expect(broker.requests).to.have.length(1);
    broker.release();
    await first;
    await Promise.all(later);
    expect(broker.requests).to.have.length(2);
    expect(broker.requests[1]![0]!.messages).to.have.length(2);
  });

  it('rejects every call of a failed request with its error, and sends the next calls afresh', async function () {
    const b = batcher();
    broker.failNext = new Error('broker down (on cue)');
    const results = await Promise.allSettled([b.send('t', [message('a')]), b.send('t', [message('b')])]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).to.have.property('message', 'broker down (on cue)');
    const [position] = await b.send('t', [message('a')]);
    expect(position!.offset).to.equal('0');
  });
});
