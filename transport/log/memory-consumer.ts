/**
 * A member of a consumer group of the in-process log (memory.ts): it holds the partitions the
 * group gave it, runs one delivery loop (memory-fetcher.ts) per partition, and checks commits
 * against what it holds.
 *
 * Callback order per partition is `onAssigned`, then batches of `onRecords`, then `onRevoked`
 * once the last batch settled. A rejected `onAssigned` or `onRevoked` is reported to the log's
 * error hook and otherwise treated as done (the group must not stall on one member); a rejected
 * `onRecords` is reported and the batch delivered again.
 *
 * `stop()` waits for the group's rebalance, which waits for this member's callbacks: awaiting
 * `stop()` (or the log's `close()`) inside a callback of this consumer never resolves. Call it
 * from outside, or without awaiting it there.
 */

import { TroupeError } from '../errors.js';
import { consumerSettings } from './arguments.js';
import type { ConsumerGroup, GroupMember } from './memory-group.js';
import { PartitionFetcher, type FetcherSettings } from './memory-fetcher.js';
import type { MemoryPartition } from './memory-partition.js';
import type { ConsumerListener, ConsumerOptions, GroupConsumer, LogRecord, TopicPartition } from './port.js';

export type ListenerCallback = 'onAssigned' | 'onRevoked' | 'onRecords';

/** What a member needs of the log that created it. */
export interface ConsumerHost {
  isClosed(): boolean;
  readonly retryDelayMs: number;
  /** Adds the member to its group (creating the group if needed). */
  groupFor(groupId: string, member: MemoryGroupConsumer): ConsumerGroup;
  /** Called once the member has left its group. */
  left(member: MemoryGroupConsumer): void;
  partition(topic: string, index: number): MemoryPartition | undefined;
  /** Called after a commit, so the partition can drop what every group has read. */
  committed(partition: MemoryPartition): void;
  reportListenerError(error: unknown, callback: ListenerCallback): void;
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;

export class MemoryGroupConsumer implements GroupConsumer, GroupMember {
  readonly groupId: string;
  readonly topics: readonly string[];
  private readonly fromBeginning: boolean;
  private readonly fetcherSettings: FetcherSettings;
  private listener: ConsumerListener | null = null;
  private group: ConsumerGroup | null = null;
  /** Held partitions: topic → partition index → its delivery loop. */
  private readonly assigned = new Map<string, Map<number, PartitionFetcher>>();
  private state: 'new' | 'running' | 'stopped' = 'new';
  private stopping: Promise<void> | null = null;
  private currentId: string | null = null;
  private readonly onJoined: ((memberId: string) => void) | undefined;

  constructor(
    private readonly host: ConsumerHost,
    options: ConsumerOptions,
  ) {
    const { groupId, topics, fromBeginning, maxBatchRecords } = consumerSettings(options);
    this.groupId = groupId;
    this.topics = topics;
    this.fromBeginning = fromBeginning;
    this.onJoined = options.onJoined;
    this.fetcherSettings = {
      maxBatchRecords,
      retryDelayMs: host.retryDelayMs,
      deliver: (partition, records) => this.deliver(partition, records),
      onDeliveryError: (error) => host.reportListenerError(error, 'onRecords'),
    };
  }

  async start(listener: ConsumerListener): Promise<void> {
    if (this.host.isClosed() || this.state === 'stopped') throw new TroupeError('closed', 'consumer is stopped');
    if (this.state === 'running') throw new TroupeError('invalid_argument', 'consumer already started');
    this.state = 'running';
    this.listener = listener;
    this.group = this.host.groupFor(this.groupId, this);
    await this.group.join(this);
  }

  async commit(partition: TopicPartition, offset: string): Promise<void> {
    const fetcher = this.assigned.get(partition.topic)?.get(partition.partition);
    if (fetcher === undefined) {
      throw new TroupeError('not_owner', `${partition.topic}/${partition.partition} is not assigned to this member`);
    }
    const value = typeof offset === 'string' && DECIMAL.test(offset) ? Number(offset) : NaN;
    if (!Number.isSafeInteger(value)) {
      throw new TroupeError('invalid_argument', `offset must be a decimal string, got ${String(offset)}`);
    }
    fetcher.partition.commit(this.groupId, value);
    this.host.committed(fetcher.partition);
  }

  /** Pauses a held partition; a partition not held is ignored, and a revoked one forgets it. */
  pause(partition: TopicPartition): void {
    this.assigned.get(partition.topic)?.get(partition.partition)?.pause();
  }

  resume(partition: TopicPartition): void {
    this.assigned.get(partition.topic)?.get(partition.partition)?.resume();
  }

  stop(): Promise<void> {
    this.stopping ??= this.leave();
    return this.stopping;
  }

  async evict(memberId: string): Promise<void> {
    if (this.state !== 'running' || this.group === null) throw new TroupeError('closed', 'consumer is not running');
    if (memberId === this.currentId) throw new TroupeError('invalid_argument', 'a member cannot evict itself');
    await this.group.evict(memberId);
  }

  get memberId(): string | null {
    return this.currentId;
  }

  joined(memberId: string): void {
    this.currentId = memberId;
    this.onJoined?.(memberId);
  }

  /** Removed by another member: a running member joins again (under a new id), as a Kafka member does once it notices. */
  evicted(): void {
    if (this.state !== 'running' || this.group === null) return;
    void this.group.join(this);
  }

  async revokeExcept(keep: readonly TopicPartition[]): Promise<void> {
    const moving: PartitionFetcher[] = [];
    for (const [topic, byIndex] of this.assigned) {
      for (const [index, fetcher] of byIndex) {
        if (!keep.some((tp) => tp.topic === topic && tp.partition === index)) moving.push(fetcher);
      }
    }
    if (moving.length === 0) return;
    await Promise.all(moving.map((fetcher) => fetcher.stop()));
    await this.call('onRevoked', moving.map((fetcher) => fetcher.topicPartition));
    // Held (so commits are accepted) until onRevoked has settled.
    for (const fetcher of moving) {
      const byIndex = this.assigned.get(fetcher.topicPartition.topic);
      byIndex?.delete(fetcher.topicPartition.partition);
      if (byIndex?.size === 0) this.assigned.delete(fetcher.topicPartition.topic);
    }
  }

  async assign(target: readonly TopicPartition[]): Promise<void> {
    const added: PartitionFetcher[] = [];
    for (const { topic, partition: index } of target) {
      let byIndex = this.assigned.get(topic);
      if (byIndex?.has(index)) continue;
      const partition = this.host.partition(topic, index);
      if (partition === undefined) continue;
      if (byIndex === undefined) this.assigned.set(topic, (byIndex = new Map()));
      const fetcher = new PartitionFetcher(partition, this.fetcherSettings);
      byIndex.set(index, fetcher);
      added.push(fetcher);
    }
    if (added.length === 0) return;
    await this.call('onAssigned', added.map((fetcher) => fetcher.topicPartition));
    if (this.state !== 'running') return; // stopping: the next rebalance revokes them
    for (const fetcher of added) fetcher.start(this.startPosition(fetcher.partition));
  }

  /** The group's commit, else the oldest retained record or the end (`fromBeginning`). */
  private startPosition(partition: MemoryPartition): number {
    const committed = partition.committed(this.groupId);
    if (committed !== undefined) return committed;
    return this.fromBeginning ? partition.earliest : partition.end;
  }

  private async leave(): Promise<void> {
    const group = this.group;
    this.state = 'stopped';
    if (group === null) return;
    await group.leave(this);
    this.host.left(this);
  }

  private deliver(partition: TopicPartition, records: LogRecord[]): Promise<void> {
    return this.listener!.onRecords(partition, records);
  }

  private async call(callback: 'onAssigned' | 'onRevoked', partitions: TopicPartition[]): Promise<void> {
    try {
      await this.listener![callback](partitions);
    } catch (err) {
      this.host.reportListenerError(err, callback);
    }
  }
}
