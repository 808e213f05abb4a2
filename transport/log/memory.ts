/**
 * The in-process partitioned log of the embedded mode (docs/architecture.md, "Shape").
 *
 * Not a test double: `npm start` runs all production traffic through it, so it keeps every
 * guarantee of port.ts (spec/contract/log.contract.ts proves it) and stays bounded for a server
 * that runs for months. Records are held in memory only: a restart loses them, as it loses every
 * other in-process state of the embedded mode.
 *
 * - Partitioning, offsets and groups behave as in Kafka: `partitionFor` picks the partition,
 *   offsets count from "0", and a group's partitions are split by range over its members
 *   (memory-group.ts), moved only after the old owner's `onRevoked` resolved.
 * - Unknown topics are created on first produce with `defaultPartitions` partitions (as Kafka's
 *   auto-creation and the librdkafka mock do); members subscribed to a topic before it exists
 *   receive its partitions when it is created.
 * - Retention: a partition drops the records that every group that has ever subscribed to the
 *   topic has committed past, and keeps at most `maxRetainedPerPartition` records, dropping the
 *   oldest. As with Kafka's retention, a member that falls further behind than that cap loses
 *   the dropped records and continues at the oldest one kept.
 * - Records are shared, not copied: producers must not change a value after `send`, and
 *   listeners must not change the records they receive (every group gets the same objects).
 */

import { TroupeError } from '../errors.js';
import { checkTopicName, positiveInteger } from './arguments.js';
import { ProducerHandle } from './producer-handle.js';
import { MemoryGroupConsumer, type ConsumerHost, type ListenerCallback } from './memory-consumer.js';
import { ConsumerGroup } from './memory-group.js';
import { MemoryPartition } from './memory-partition.js';
import { partitionFor } from './partitioner.js';
import type {
  ConsumerOptions,
  GroupConsumer,
  Log,
  LogHeaders,
  ProduceRecord,
  Producer,
  RecordPosition,
  TopicPartition,
  TopicSpec,
} from './port.js';

export interface MemoryLogOptions {
  /** Partitions of a topic created by producing to it. Default 4. */
  defaultPartitions?: number;
  /** Most records kept per partition; the oldest beyond it are dropped. Default 100 000. */
  maxRetainedPerPartition?: number;
  /** Delay before a batch whose `onRecords` rejected is delivered again. Default 250 ms. */
  retryDelayMs?: number;
  /**
   * Told about every rejected listener callback (the log carries on: see memory-consumer.ts).
   * Default: a process warning.
   */
  onListenerError?: (error: unknown, callback: ListenerCallback) => void;
}

/** Headers of records produced without any; frozen because every such record shares it. */
const NO_HEADERS: LogHeaders = Object.freeze({}) as LogHeaders;

export class MemoryLog implements Log {
  private readonly topics = new Map<string, MemoryPartition[]>();
  private readonly groups = new Map<string, ConsumerGroup>();
  /** Every group that has ever subscribed to a topic: retention waits for all of their commits. */
  private readonly groupsByTopic = new Map<string, Set<string>>();
  private readonly members = new Set<MemoryGroupConsumer>();
  private readonly defaultPartitions: number;
  private readonly maxRetained: number;
  private readonly host: ConsumerHost;
  private closing: Promise<void> | null = null;

  constructor(options: MemoryLogOptions = {}) {
    this.defaultPartitions = positiveInteger(options.defaultPartitions ?? 4, 'defaultPartitions');
    this.maxRetained = positiveInteger(options.maxRetainedPerPartition ?? 100_000, 'maxRetainedPerPartition');
    const retryDelayMs = options.retryDelayMs ?? 250;
    const onListenerError = options.onListenerError ?? warnListenerError;
    // The narrow view of the log its consumers get (kept off the public surface).
    this.host = {
      isClosed: () => this.closing !== null,
      retryDelayMs,
      groupFor: (groupId, member) => this.groupFor(groupId, member),
      left: (member) => this.members.delete(member),
      partition: (topic, index) => this.topics.get(topic)?.[index],
      committed: (partition) => partition.trimCommitted(this.groupsByTopic.get(partition.topic) ?? []),
      reportListenerError: onListenerError,
    };
  }

  async createTopics(topics: TopicSpec[]): Promise<void> {
    this.assertOpen();
    for (const spec of topics) {
      checkTopicName(spec.topic);
      positiveInteger(spec.partitions, `partitions of ${spec.topic}`);
    }
    for (const spec of topics) if (!this.topics.has(spec.topic)) this.createTopic(spec.topic, spec.partitions);
  }

  async partitionCount(topic: string): Promise<number> {
    this.assertOpen();
    const partitions = this.topics.get(topic);
    if (partitions === undefined) throw new TroupeError('not_found', `no topic ${topic}`);
    return partitions.length;
  }

  producer(): Producer {
    return new ProducerHandle((topic, records) => this.append(topic, records));
  }

  consumer(options: ConsumerOptions): GroupConsumer {
    return new MemoryGroupConsumer(this.host, options);
  }

  async committedOffset(groupId: string, partition: TopicPartition): Promise<string | null> {
    this.assertOpen();
    const offset = this.topics.get(partition.topic)?.[partition.partition]?.committed(groupId);
    return offset === undefined ? null : String(offset);
  }

  async endOffset(partition: TopicPartition): Promise<string> {
    return String(this.existingPartition(partition).end);
  }

  /** Offset of the oldest retained record of a partition (Kafka's low watermark). Memory only. */
  async earliestOffset(partition: TopicPartition): Promise<string> {
    return String(this.existingPartition(partition).earliest);
  }

  /** Stops every consumer (each gets `onRevoked`); producers and calls then reject with `closed`. */
  close(): Promise<void> {
    this.closing ??= Promise.all([...this.members].map((member) => member.stop())).then(() => {
      this.topics.clear();
    });
    return this.closing;
  }

  /** The producers' path: validates every record, then appends them all; never awaits. */
  private append(topic: string, records: readonly ProduceRecord[]): RecordPosition[] {
    this.assertOpen();
    for (const record of records) {
      if (typeof record.key !== 'string' || record.key === '') {
        throw new TroupeError('invalid_argument', 'a record key must be a non-empty string');
      }
      if (!(record.value instanceof Uint8Array)) {
        throw new TroupeError('invalid_argument', 'a record value must be a Uint8Array');
      }
    }
    const partitions = this.topics.get(topic) ?? this.createTopic(checkTopicName(topic), this.defaultPartitions);
    const timestamp = Date.now();
    const positions = new Array<RecordPosition>(records.length);
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      const partition = partitions[partitionFor(record.key, partitions.length)]!;
      const appended = partition.append(record.key, record.value, record.headers ?? NO_HEADERS, timestamp);
      positions[i] = { partition: appended.partition, offset: appended.offset };
    }
    return positions;
  }

  private assertOpen(): void {
    if (this.closing !== null) throw new TroupeError('closed', 'the log is closed');
  }

  private createTopic(topic: string, count: number): MemoryPartition[] {
    const partitions: MemoryPartition[] = [];
    for (let i = 0; i < count; i++) partitions.push(new MemoryPartition(topic, i, this.maxRetained));
    this.topics.set(topic, partitions);
    for (const group of this.groups.values()) if (group.subscribesTo(topic)) void group.rebalance();
    return partitions;
  }

  private existingPartition(partition: TopicPartition): MemoryPartition {
    this.assertOpen();
    const found = this.topics.get(partition.topic)?.[partition.partition];
    if (found === undefined) throw new TroupeError('not_found', `no partition ${partition.topic}/${partition.partition}`);
    return found;
  }

  private groupFor(groupId: string, member: MemoryGroupConsumer): ConsumerGroup {
    this.members.add(member);
    for (const topic of member.topics) {
      let groups = this.groupsByTopic.get(topic);
      if (groups === undefined) this.groupsByTopic.set(topic, (groups = new Set()));
      groups.add(groupId);
    }
    let group = this.groups.get(groupId);
    if (group === undefined) {
      group = new ConsumerGroup(
        groupId,
        (topic) => this.topics.get(topic)?.length,
        (empty) => {
          if (this.groups.get(groupId) === empty) this.groups.delete(groupId);
        },
      );
      this.groups.set(groupId, group);
    }
    return group;
  }
}

function warnListenerError(error: unknown, callback: ListenerCallback): void {
  const detail = error instanceof Error ? error.message : String(error);
  process.emitWarning(`log consumer listener ${callback} failed: ${detail}`, { code: 'TROUPE_LOG_LISTENER' });
}
