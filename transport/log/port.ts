/**
 * The partitioned log port: the mailbox feed of every actor (docs/architecture.md).
 *
 * Implementations: `memory.ts` (embedded mode, in-process) and, in cluster mode, Kafka through
 * kafkajs. Both pass spec/contract/log.contract.ts. The hard parts of consuming (per-key order,
 * watermark commits, pause on a full mailbox, claims) live above this port, in
 * actors/runtime/partition-host.ts; implementations only move records.
 *
 * Guarantees every implementation gives:
 * - **Partitioning.** A record's partition is `partitionFor(key, partitionCount)` from
 *   `partitioner.ts`, the same murmur2 rule as kafkajs' default partitioner, so a key lands on
 *   the same partition in both modes.
 * - **Order.** Within one partition, records are appended and delivered in offset order.
 *   Offsets are decimal strings (Kafka's int64), strictly increasing within a partition.
 * - **Durability.** `Producer.send` resolves only after every record of the call is appended
 *   (Kafka: acks=all). On rejection, none, some or all records may have been appended; the
 *   caller retries and the consumer side de-duplicates.
 * - **Consumer groups.** Each partition of a subscribed topic is assigned to at most one member
 *   of a group at a time. Before a partition moves to another member, the old member's
 *   `onRevoked` is awaited (it finishes or abandons its in-flight records and commits).
 * - **Commits.** A committed offset is the offset of the next record to read. A newly assigned
 *   partition starts at the group's committed offset, or (none committed) at the earliest
 *   retained record when `fromBeginning` is true, else at the end.
 * - **At-least-once.** A record whose offset is not committed may be delivered again (after a
 *   crash or a rebalance); handlers must be idempotent.
 */

export interface LogHeaders {
  [name: string]: string;
}

export interface ProduceRecord {
  /** Partitioning key: a conversation id, a user id, … Never empty. */
  key: string;
  value: Uint8Array;
  headers?: LogHeaders;
}

export interface LogRecord {
  topic: string;
  partition: number;
  /** Decimal string, as in Kafka. */
  offset: string;
  key: string;
  value: Uint8Array;
  headers: LogHeaders;
  /** Append time, ms since the epoch. */
  timestamp: number;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
}

export interface RecordPosition {
  partition: number;
  offset: string;
}

export interface Producer {
  /**
   * Appends the records to `topic`, each to the partition of its key; resolves with their
   * positions in the order given. Rejects with a TroupeError: `unavailable` (retriable) when
   * the log cannot take them now, `closed` after `close()`.
   */
  send(topic: string, records: ProduceRecord[]): Promise<RecordPosition[]>;
  close(): Promise<void>;
}

/** What a consumer tells its owner. All callbacks for one partition are called in order. */
export interface ConsumerListener {
  /** Partitions newly assigned to this member. Records of them arrive only after this resolves. */
  onAssigned(partitions: TopicPartition[]): Promise<void>;
  /**
   * Partitions being taken away. The consumer delivers no further records of them and awaits
   * this before another member may receive them; the owner finishes (or abandons) in-flight
   * records and commits here. Also called with every assigned partition on `stop()`.
   */
  onRevoked(partitions: TopicPartition[]): Promise<void>;
  /**
   * A batch of records of one partition, in offset order. The consumer does not deliver the
   * next batch of that partition until this resolves, so an owner should enqueue and return,
   * and use `pause()` to stop intake when its mailboxes are full.
   */
  onRecords(partition: TopicPartition, records: LogRecord[]): Promise<void>;
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /** Where a partition with no committed offset starts. Default false (the end). */
  fromBeginning?: boolean;
  /** Most records in one `onRecords` call. Default 500. */
  maxBatchRecords?: number;
  /**
   * Called after a join with this member's id in the group, whenever it is new (a member removed
   * from the group may join again under another), so that the owner can publish it for `evict`.
   */
  onJoined?: (memberId: string) => void;
}

export interface GroupConsumer {
  /** Joins the group and starts delivering. Resolves once the member has joined. */
  start(listener: ConsumerListener): Promise<void>;
  /**
   * Commits `offset` (the next offset to read) for the partition. Only valid while the
   * partition is assigned to this member: otherwise rejects with `not_owner`.
   * A commit never moves a partition's committed offset backwards.
   */
  commit(partition: TopicPartition, offset: string): Promise<void>;
  /** Stops fetching the partition until `resume`; batches already delivered are unaffected. */
  pause(partition: TopicPartition): void;
  resume(partition: TopicPartition): void;
  /** Revokes every assigned partition (awaiting `onRevoked`), leaves the group. Idempotent. */
  stop(): Promise<void>;
  /**
   * Removes another member of this consumer's group, by the id its `onJoined` gave, now rather
   * than when its session runs out: its partitions go to the remaining members. Meant for a
   * member whose process is known to be gone (docs/architecture.md, "Failover"): a live member
   * is not asked to revoke first (it may deliver until it notices, then joins again), so the
   * claims above the port keep owners apart. An unknown id (already gone) is not an
   * error; rejects with `unavailable` when the group cannot be reached, `invalid_argument` for
   * this member's own id.
   */
  evict(memberId: string): Promise<void>;
}

export interface Log {
  /** Creates topics that do not exist yet; existing ones are left as they are. */
  createTopics(topics: TopicSpec[]): Promise<void>;
  /** The partition count of a topic; `not_found` if it does not exist. */
  partitionCount(topic: string): Promise<number>;
  producer(): Producer;
  consumer(options: ConsumerOptions): GroupConsumer;
  /** The committed offset of a group for a partition, or null when none. */
  committedOffset(groupId: string, partition: TopicPartition): Promise<string | null>;
  /** The offset the next appended record of the partition will get. */
  endOffset(partition: TopicPartition): Promise<string>;
  close(): Promise<void>;
}
