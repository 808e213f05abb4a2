/**
 * Coalesces concurrent `Producer.send` calls of the Kafka log into kafkajs `sendBatch` requests.
 *
 * kafkajs sends every `send()` as its own produce request, and an idempotent producer keeps one
 * request in flight per broker, so a gateway producing one record per chat message would pay a
 * full round trip per record. Here one request is in flight at a time; calls that arrive
 * meanwhile wait and leave together in the next request (up to `maxBatchBytes`, at least one
 * call). A request does not leave at once either: it waits for `setImmediate`, so that every
 * call made in the same turn of the event loop (the answers to one fetched batch of records)
 * joins it, or for `lingerMs` when that is set, so that calls made in separate turns (frames
 * of separate sockets) join it too: each request wakes the broker and then this process,
 * which on small machines costs more CPU than the records (docs/architecture.md, "Where the
 * cluster's CPU goes"). Each call still resolves only once the request holding its records was acknowledged
 * (acks=all), with the position of each of its records; if that request fails, every call in it
 * rejects (some of their records may have been appended: the port allows it).
 *
 * With one request in flight, records of one partition are appended in the order of the calls.
 *
 * Positions: the partitioner below (the port's `partitionFor`, which is also kafkajs' default
 * rule) remembers the partition it gave each message, and kafkajs keeps the messages of one
 * partition in the order given, so a record's offset is its partition's base offset in the
 * response plus the number of records of that partition before it in the request.
 */

import type { Message, RecordMetadata, TopicMessages } from 'kafkajs';
import { TroupeError } from '../errors.js';
import { partitionFor } from './partitioner.js';
import type { RecordPosition } from './port.js';

/** A kafkajs message whose key is always a string (the port's keys are never empty). */
export interface KeyedMessage extends Message {
  key: string;
}

export type SendBatch = (topicMessages: TopicMessages[]) => Promise<RecordMetadata[]>;

interface PendingCall {
  topic: string;
  messages: KeyedMessage[];
  bytes: number;
  resolve(positions: RecordPosition[]): void;
  reject(error: unknown): void;
}

/** Default cap on the bytes (keys and values) of one coalesced request: well under Kafka's 1 MB. */
const DEFAULT_MAX_BATCH_BYTES = 512 * 1024;

export class SendBatcher {
  private readonly queue: PendingCall[] = [];
  private inFlight = false;
  /** A flush is scheduled (setImmediate or the linger timer). */
  private scheduled = false;
  /** The partition the partitioner chose for each message of a request in flight. */
  private readonly chosen = new WeakMap<Message, number>();

  /** kafkajs' `createPartitioner` result: the port's rule, remembering each choice. */
  readonly partitioner = ({ partitionMetadata, message }: { partitionMetadata: unknown[]; message: Message }): number => {
    const partition = partitionFor(String(message.key), partitionMetadata.length);
    this.chosen.set(message, partition);
    return partition;
  };

  constructor(
    private readonly sendBatch: SendBatch,
    private readonly maxBatchBytes = DEFAULT_MAX_BATCH_BYTES,
    /** How long the first call of a request waits for others; 0 waits for the end of the turn only. */
    private readonly lingerMs = 0,
  ) {}

  /** Queues the messages; resolves with their positions once they are appended. */
  send(topic: string, messages: KeyedMessage[]): Promise<RecordPosition[]> {
    let bytes = 0;
    for (const message of messages) bytes += message.key.length + (message.value?.length ?? 0);
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, messages, bytes, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.inFlight || this.scheduled) return;
    this.scheduled = true;
    const go = (): void => {
      this.scheduled = false;
      this.flush();
    };
    if (this.lingerMs > 0) setTimeout(go, this.lingerMs);
    else setImmediate(go);
  }

  private flush(): void {
    if (this.inFlight || this.queue.length === 0) return;
    let taken = 1;
    let bytes = this.queue[0]!.bytes;
    while (taken < this.queue.length && bytes + this.queue[taken]!.bytes <= this.maxBatchBytes) {
      bytes += this.queue[taken]!.bytes;
      taken++;
    }
    const calls = this.queue.splice(0, taken);
    this.inFlight = true;
    void this.run(calls).finally(() => {
      this.inFlight = false;
      this.flush();
    });
  }

  private async run(calls: PendingCall[]): Promise<void> {
    const byTopic = new Map<string, KeyedMessage[]>();
    for (const call of calls) {
      const messages = byTopic.get(call.topic);
      if (messages === undefined) byTopic.set(call.topic, [...call.messages]);
      else for (const message of call.messages) messages.push(message);
    }
    let results: RecordMetadata[];
    try {
      results = await this.sendBatch([...byTopic].map(([topic, messages]) => ({ topic, messages })));
    } catch (err) {
      for (const call of calls) call.reject(err);
      return;
    }
    const next = new Map<string, bigint>();
    for (const result of results) {
      if (result.baseOffset !== undefined) next.set(`${result.topicName}/${result.partition}`, BigInt(result.baseOffset));
    }
    for (const call of calls) {
      try {
        call.resolve(call.messages.map((message) => this.positionOf(call.topic, message, next)));
      } catch (err) {
        call.reject(err);
      }
    }
  }

  private positionOf(topic: string, message: Message, next: Map<string, bigint>): RecordPosition {
    const partition = this.chosen.get(message);
    const slot = `${topic}/${partition}`;
    const offset = next.get(slot);
    if (partition === undefined || offset === undefined) {
      throw new TroupeError('internal', `kafka produce: no acknowledgement for ${slot}`);
    }
    next.set(slot, offset + 1n);
    return { partition, offset: offset.toString() };
  }
}
