/**
 * A member of a Kafka consumer group, over a kafkajs consumer (`GroupConsumer` of port.ts).
 *
 * kafkajs has no rebalance listener, so the port's callbacks are derived from its events and one
 * hook (kafka-join-hook.ts):
 *
 * - **Eager revocation before every (re-)join.** kafkajs re-reads every partition from the group's
 *   committed offset after each rebalance, even a partition it keeps, so a partition is never
 *   "kept" across a rebalance here either: right before kafkajs sends a JoinGroup, this member
 *   stops delivering, waits for the batches in flight, and awaits `onRevoked` for everything it
 *   holds. Kafka's coordinator waits for every member to re-join (up to the rebalance timeout)
 *   before it assigns anything, so the new owner of a partition gets it only after the old
 *   owner's `onRevoked` resolved, which is what the port promises.
 * - **Assignment from GROUP_JOIN.** The event carries this member's new assignment; `onAssigned`
 *   is called with it (alongside a fetch of the group's committed offsets), and the first batch of
 *   a partition waits for both.
 * - **Batches** come from `eachBatch` (kafkajs serialises batches of one partition), cut into
 *   `maxBatchRecords` chunks; the member resolves an offset only after the chunk's `onRecords`
 *   resolved, so an undelivered chunk (paused, revoked, stopped, rejected) is fetched again.
 *   A batch whose fetch offset is not where the partition stands was fetched for an earlier
 *   assignment (kafkajs can re-join from inside one broker's fetch while another broker's fetch is
 *   in flight); it is dropped, a few times at most per assignment, so that a legitimate jump of
 *   kafkajs (a reset after an out-of-range offset) still goes through.
 * - **Commits** go through kafkajs with the member's generation, never backwards (the highest
 *   offset committed is remembered, starting from the group's commit read at assignment; if that
 *   read fails, from the member's own first commit).
 *
 * Limits: if the member loses its membership without re-joining
 * first (session timeout because a callback or `onRecords` blocked past `sessionTimeout`, or
 * kafkajs giving up after repeated broker failures), Kafka has already moved its partitions when
 * `onRevoked` runs; the etcd claim above the port is what keeps two owners apart then. On the
 * librdkafka mock, commits made inside `onRevoked` during a rebalance are refused (the mock
 * refuses OffsetCommit while a group is joining; Kafka accepts it) and reject with `not_owner`.
 */

import type { Cluster, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { TroupeError } from '../errors.js';
import { consumerSettings } from './arguments.js';
import { fromKafkaError, isRetriableKafkaError, kafkaErrorType } from './kafka-errors.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** First joins tried before start() gives up, and the pause before the n-th retry (× n). */
const JOIN_ATTEMPTS = 5;
const JOIN_RETRY_MS = 300;

/**
 * A first join worth trying again: a retriable failure, or INVALID_REQUEST, which librdkafka's
 * mock cluster answers when members of a new group join at the same moment (seen with two logic
 * nodes starting together); a fresh JoinGroup then succeeds. The mock gives the same answer to a
 * follower's SyncGroup that arrives after the leader's (the group is up by then; Kafka would hand
 * the follower its assignment), which kafkajs takes for fatal; a running member then joins again
 * as a fresh member (`crashed`).
 */
function joinMayBeRetried(err: unknown): boolean {
  return isRetriableKafkaError(err) || kafkaErrorType(err) === 'INVALID_REQUEST';
}
import { TurnBatch } from '../turn-batch.js';
import { adaptFetchWaits, AdaptiveFetchWait } from './kafka-fetch-wait.js';
import { hookJoins } from './kafka-join-hook.js';
import { toLogRecord } from './kafka-records.js';
import type { ConsumerListener, ConsumerOptions, GroupConsumer, LogRecord, TopicPartition } from './port.js';

/** An offset commit waiting for the end of the turn, to leave with the others in one request. */
interface PendingCommit {
  consumer: Consumer;
  offset: { topic: string; partition: number; offset: string };
  resolve(): void;
  reject(err: unknown): void;
}

export interface KafkaConsumerSettings {
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** Longest wait of a fetch for `minBytes` while records come. */
  maxWaitTimeMs: number;
  /** The same once the member's fetches came back empty for a second (kafka-fetch-wait.ts). */
  idleWaitTimeMs: number;
  minBytes: number;
  maxBytesPerPartition: number;
  /** Batches of different partitions handed to the listener at once. */
  partitionsConsumedConcurrently: number;
  /** Delay before a batch whose `onRecords` rejected is fetched and delivered again. */
  retryDelayMs: number;
}

/** What a member needs of the log that created it. */
export interface KafkaConsumerHost {
  isClosed(): boolean;
  readonly settings: KafkaConsumerSettings;
  /**
   * A kafkajs client of the member's own: kafkajs caches committed offsets per client and group,
   * and two members of one group sharing that cache would clear each other's.
   */
  createClient(): Kafka;
  /** The group's committed offsets in these topics, by `topic/partition` (absent: none). */
  committedOffsets(groupId: string, topics: readonly string[]): Promise<Map<string, bigint>>;
  left(member: KafkaGroupConsumer): void;
  reportError(error: unknown, what: string): void;
  /** A running member's consumer stopped for good (kafkajs will not restart it). */
  memberFailed(groupId: string, error: unknown): void;
}

const SETTLED: Promise<void> = Promise.resolve();

/** kafkajs' Broker has `leaveGroup` (src/broker/index.js), missing from its typings. */
interface LeaveGroupBroker {
  leaveGroup(request: { groupId: string; memberId: string }): Promise<unknown>;
}
const DECIMAL = /^(0|[1-9][0-9]*)$/;

function slotOf(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

/** One partition while this member holds it (from GROUP_JOIN to the end of its `onRevoked`). */
class HeldPartition {
  readonly topicPartition: TopicPartition;
  /** Settles once `onAssigned` and the committed-offset fetch are done; batches wait for it. */
  ready: Promise<void> = SETTLED;
  /** The fetch offset the next batch must carry; null until known. */
  position: bigint | null = null;
  /** Batches at the wrong position still dropped before the position is taken from the batch. */
  staleBudget: number;
  /** The highest offset committed for the group, -1 for none: commits never go below it. */
  committed = -1n;
  /** Commits of this partition, one after the other. */
  commits: Promise<void> = SETTLED;
  /** The `onRecords` in flight, if any. */
  delivering: Promise<void> | null = null;

  constructor(topic: string, partition: number, staleBudget: number) {
    this.topicPartition = { topic, partition };
    this.staleBudget = staleBudget;
  }
}

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

export class KafkaGroupConsumer implements GroupConsumer {
  readonly groupId: string;
  readonly topics: readonly string[];
  private readonly fromBeginning: boolean;
  private readonly maxBatchRecords: number;
  private state: State = 'new';
  private listener: ConsumerListener | null = null;
  private consumer: Consumer | null = null;
  /** Commits waiting for the end of the turn (commitWithOthers). */
  private readonly turnCommits = new TurnBatch<PendingCommit>((pending) => {
    // A rejoin between two commits of a turn replaces the kafkajs consumer: one request each.
    for (const consumer of new Set(pending.map((p) => p.consumer))) {
      const mine = pending.filter((p) => p.consumer === consumer);
      Promise.resolve()
        .then(() => consumer.commitOffsets(mine.map((p) => p.offset)))
        .then(
          () => mine.forEach((p) => p.resolve()),
          (err: unknown) => mine.forEach((p) => p.reject(err)),
        );
    }
  });
  private readonly held = new Map<string, HeldPartition>();
  private readonly paused = new Set<string>();
  /** False while revoking or stopping: batches that arrive then are dropped, not delivered. */
  private accepting = false;
  private revoking: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private starting: Promise<void> | null = null;
  /** The kafkajs cluster of the consumer (handed over by the join hook). */
  private cluster: Cluster | null = null;
  /** How long this member's fetches wait for records (kafka-fetch-wait.ts). */
  private readonly fetchWait: AdaptiveFetchWait;
  /** The cluster's group-coordinator lookup without the join hook (for `evict`). */
  private findCoordinator: Cluster['findGroupCoordinator'] | null = null;
  /** This member's id since its last join. */
  private memberId: string | null = null;
  private readonly onJoined: ((memberId: string) => void) | undefined;
  /** Brokers in the cluster at the last join: bounds how many stale batches a partition may see. */
  private brokerCount = 1;
  private firstJoin: { resolve(ready: Promise<void>): void; reject(error: unknown): void } | null = null;

  constructor(
    private readonly host: KafkaConsumerHost,
    options: ConsumerOptions,
  ) {
    const { groupId, topics, fromBeginning, maxBatchRecords } = consumerSettings(options);
    this.groupId = groupId;
    this.topics = topics;
    this.fromBeginning = fromBeginning;
    this.maxBatchRecords = maxBatchRecords;
    this.onJoined = options.onJoined;
    this.fetchWait = new AdaptiveFetchWait({ activeMs: host.settings.maxWaitTimeMs, idleMs: host.settings.idleWaitTimeMs });
  }

  /** The wait this member's next fetch asks the broker for. */
  get fetchWaitMs(): number {
    return this.fetchWait.waitMs;
  }

  /** Fetches this member has had answered. */
  get fetchCount(): number {
    return this.fetchWait.fetches;
  }

  start(listener: ConsumerListener): Promise<void> {
    if (this.host.isClosed() || this.state === 'stopping' || this.state === 'stopped') {
      return Promise.reject(new TroupeError('closed', 'consumer is stopped'));
    }
    if (this.state !== 'new') return Promise.reject(new TroupeError('invalid_argument', 'consumer already started'));
    this.state = 'starting';
    this.listener = listener;
    this.starting = this.join();
    return this.starting;
  }

  async commit(partition: TopicPartition, offset: string): Promise<void> {
    const held = this.held.get(slotOf(partition.topic, partition.partition));
    if (held === undefined) {
      throw new TroupeError('not_owner', `${partition.topic}/${partition.partition} is not assigned to this member`);
    }
    if (typeof offset !== 'string' || !DECIMAL.test(offset)) {
      throw new TroupeError('invalid_argument', `offset must be a decimal string, got ${String(offset)}`);
    }
    const value = BigInt(offset);
    const run = held.commits.then(() => this.commitHeld(held, value));
    held.commits = run.catch(() => undefined);
    return run;
  }

  /** Pauses a held partition; a partition not held is ignored, and a revoked one forgets it. */
  pause(partition: TopicPartition): void {
    const slot = slotOf(partition.topic, partition.partition);
    if (!this.held.has(slot)) return;
    this.paused.add(slot);
    this.tellKafka((consumer) => consumer.pause([{ topic: partition.topic, partitions: [partition.partition] }]));
  }

  resume(partition: TopicPartition): void {
    const slot = slotOf(partition.topic, partition.partition);
    if (!this.paused.delete(slot)) return;
    this.tellKafka((consumer) => consumer.resume([{ topic: partition.topic, partitions: [partition.partition] }]));
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /**
   * Sends the group's coordinator a LeaveGroup on behalf of `memberId`: Kafka drops the member
   * and rebalances now instead of after its session timeout. UNKNOWN_MEMBER_ID means it is gone.
   */
  async evict(memberId: string): Promise<void> {
    const find = this.findCoordinator;
    if (this.state !== 'running' || find === null) throw new TroupeError('unavailable', 'the consumer has not joined its group', { retriable: true });
    if (memberId === this.memberId) throw new TroupeError('invalid_argument', 'a member cannot evict itself');
    try {
      const broker = (await find({ groupId: this.groupId })) as unknown as LeaveGroupBroker;
      await broker.leaveGroup({ groupId: this.groupId, memberId });
    } catch (err) {
      if (kafkaErrorType(err) === 'UNKNOWN_MEMBER_ID') return;
      throw fromKafkaError(err, `evicting ${memberId} from group ${this.groupId}`);
    }
  }

  // ---- joining and leaving ----

  private async join(attempt = 1): Promise<void> {
    const settings = this.host.settings;
    const joined = new Promise<Promise<void>>((resolve, reject) => (this.firstJoin = { resolve, reject }));
    joined.catch(() => undefined);
    const consumer = this.host.createClient().consumer({
      groupId: this.groupId,
      sessionTimeout: settings.sessionTimeoutMs,
      rebalanceTimeout: settings.rebalanceTimeoutMs,
      heartbeatInterval: settings.heartbeatIntervalMs,
      maxWaitTimeInMs: settings.maxWaitTimeMs,
      minBytes: settings.minBytes,
      maxBytesPerPartition: settings.maxBytesPerPartition,
      allowAutoTopicCreation: false,
      partitionAssigners: [
        hookJoins({
          cluster: (cluster, findCoordinator) => {
            this.cluster = cluster;
            this.findCoordinator = findCoordinator;
            adaptFetchWaits(cluster, this.fetchWait);
          },
          beforeJoin: () => this.beforeJoin(),
        }),
      ],
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.joinedAs(event.payload.memberId);
      this.assigned(event.payload.memberAssignment);
    });
    consumer.on(consumer.events.CRASH, (event) => this.crashed(event.payload.error, event.payload.restart));
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [...this.topics], fromBeginning: this.fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: settings.partitionsConsumedConcurrently,
        eachBatch: (payload) => this.onBatch(payload),
      });
      // run() also resolves when the first join failed (kafkajs reports it as a crash).
      await (await joined);
      if (this.state === 'starting') this.state = 'running';
    } catch (err) {
      this.firstJoin = null;
      this.consumer = null;
      await consumer.disconnect().catch(() => undefined);
      if (attempt < JOIN_ATTEMPTS && this.state === 'starting' && joinMayBeRetried(err)) {
        this.host.reportError(err, `joining group ${this.groupId} failed (attempt ${attempt}); trying again`);
        await sleep(JOIN_RETRY_MS * attempt);
        if (this.state === 'starting') return this.join(attempt + 1);
      }
      this.state = 'stopped';
      this.accepting = false;
      this.host.left(this);
      throw fromKafkaError(err, `joining group ${this.groupId}`);
    }
  }

  /** Called by kafkajs right before every JoinGroup: gives up everything held (eager protocol). */
  private async beforeJoin(): Promise<void> {
    await this.revokeAll();
  }

  private joinedAs(memberId: string): void {
    if (memberId === this.memberId) return;
    this.memberId = memberId;
    try {
      this.onJoined?.(memberId);
    } catch (err) {
      this.host.reportError(err, 'onJoined');
    }
  }

  /** GROUP_JOIN: this member's partitions for the new generation. */
  private assigned(assignment: Record<string, number[]>): void {
    const first = this.firstJoin;
    this.firstJoin = null;
    if (this.state !== 'starting' && this.state !== 'running') {
      first?.resolve(SETTLED); // stopping: take nothing new (and let a pending start() finish)
      return;
    }
    this.brokerCount = Math.max(1, this.cluster?.getNodeIds().length ?? 1);
    const added: HeldPartition[] = [];
    for (const topic of this.topics) {
      for (const index of assignment[topic] ?? []) {
        const slot = slotOf(topic, index);
        if (this.held.has(slot)) continue; // cannot happen: the join hook revoked everything first
        const held = new HeldPartition(topic, index, this.brokerCount + 2);
        this.held.set(slot, held);
        added.push(held);
      }
    }
    this.accepting = true;
    this.tellKafka((consumer) => consumer.resume(this.topics.map((topic) => ({ topic }))));
    const ready = added.length === 0 ? SETTLED : this.prepare(added);
    for (const held of added) held.ready = ready;
    first?.resolve(ready);
  }

  /** Fetches the group's commits (for the position check and the commit floor) and calls onAssigned. */
  private async prepare(added: HeldPartition[]): Promise<void> {
    const topics = [...new Set(added.map((held) => held.topicPartition.topic))];
    const offsets = this.host.committedOffsets(this.groupId, topics).then(
      (committed) => {
        for (const held of added) {
          const offset = committed.get(slotOf(held.topicPartition.topic, held.topicPartition.partition));
          if (offset !== undefined && offset >= 0n) {
            held.position = offset;
            held.committed = offset;
          }
        }
      },
      (err: unknown) => this.host.reportError(err, 'fetching committed offsets'),
    );
    await Promise.all([offsets, this.call('onAssigned', added.map((held) => held.topicPartition))]);
  }

  /** Stops delivery, waits for what is in flight, then awaits onRevoked for every held partition. */
  private revokeAll(): Promise<void> {
    this.revoking ??= (async () => {
      this.accepting = false;
      this.tellKafka((consumer) => consumer.pause(this.topics.map((topic) => ({ topic }))));
      const all = [...this.held.values()];
      if (all.length > 0) {
        await Promise.all(all.map((held) => held.ready));
        await Promise.all(all.map((held) => held.delivering ?? SETTLED));
        await this.call('onRevoked', all.map((held) => held.topicPartition));
        // Held (so that commits are accepted) until onRevoked has settled.
        for (const held of all) this.held.delete(slotOf(held.topicPartition.topic, held.topicPartition.partition));
        for (const held of all) this.paused.delete(slotOf(held.topicPartition.topic, held.topicPartition.partition));
      }
    })().finally(() => {
      this.revoking = null;
    });
    return this.revoking;
  }

  private crashed(error: Error, restart: boolean): void {
    this.host.reportError(error, `consumer of group ${this.groupId} crashed${restart ? ', restarting' : ''}`);
    const first = this.firstJoin;
    if (first !== null) {
      this.firstJoin = null;
      first.reject(error);
      return;
    }
    // kafkajs has left the group already: revoke now, the partitions may have moved.
    const revoked = this.revokeAll();
    if (restart) return;
    if (this.state === 'running' && kafkaErrorType(error) === 'INVALID_REQUEST') void this.rejoin(revoked);
    else this.host.memberFailed(this.groupId, error);
  }

  /**
   * A running member's kafkajs consumer crashed on the mock's INVALID_REQUEST (a late SyncGroup,
   * see joinMayBeRetried): once its partitions are revoked, it joins again with a fresh kafkajs
   * consumer, with the first join's retries; only if that fails is the member failed for good.
   */
  private async rejoin(revoked: Promise<void>): Promise<void> {
    await revoked;
    if (this.state !== 'running') return;
    this.state = 'starting';
    this.consumer = null;
    this.starting = this.join();
    try {
      await this.starting;
    } catch (err) {
      if (this.stopping === null) this.host.memberFailed(this.groupId, err);
    }
  }

  private async shutdown(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'stopped';
      return;
    }
    if (this.state !== 'stopped') this.state = 'stopping';
    await this.starting?.catch(() => undefined);
    if (this.consumer === null) return;
    this.accepting = false;
    await this.revokeAll();
    try {
      await this.consumer.disconnect();
    } catch (err) {
      this.host.reportError(err, `leaving group ${this.groupId}`);
    }
    this.state = 'stopped';
    this.consumer = null;
    this.host.left(this);
  }

  // ---- delivery ----

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const slot = slotOf(batch.topic, batch.partition);
    const held = this.held.get(slot);
    if (held === undefined || !this.accepting) return;
    await held.ready;
    if (!this.delivers(slot, held) || this.isStale(held, batch as { fetchedOffset?: string })) return;
    const messages = batch.messages;
    for (let start = 0; start < messages.length; start += this.maxBatchRecords) {
      if (!this.delivers(slot, held) || !payload.isRunning()) return;
      const chunk = messages.slice(start, start + this.maxBatchRecords);
      const records = new Array<LogRecord>(chunk.length);
      for (let i = 0; i < chunk.length; i++) records[i] = toLogRecord(batch.topic, batch.partition, chunk[i]!);
      const delivered = this.deliver(held, records);
      held.delivering = delivered.then(() => undefined);
      const ok = await delivered;
      held.delivering = null;
      if (!ok) {
        // At-least-once: the chunk is not resolved, so kafkajs fetches it again after the pause.
        await new Promise((resolve) => setTimeout(resolve, this.host.settings.retryDelayMs));
        return;
      }
      const last = chunk[chunk.length - 1]!.offset;
      payload.resolveOffset(last);
      held.position = start + chunk.length >= messages.length ? BigInt(batch.lastOffset()) + 1n : BigInt(last) + 1n;
    }
  }

  private delivers(slot: string, held: HeldPartition): boolean {
    return this.accepting && this.held.get(slot) === held && !this.paused.has(slot);
  }

  /** True (and the batch dropped) when it was fetched at another position than where the partition stands. */
  private isStale(held: HeldPartition, batch: { fetchedOffset?: string }): boolean {
    if (held.position === null || batch.fetchedOffset === undefined) return false;
    if (BigInt(batch.fetchedOffset) === held.position) return false;
    if (held.staleBudget > 0) {
      held.staleBudget--;
      return true;
    }
    held.position = null; // kafkajs moved on (e.g. reset after an out-of-range offset): follow it
    return false;
  }

  /** Resolves true once the listener took the records, false if it rejected (reported). */
  private deliver(held: HeldPartition, records: LogRecord[]): Promise<boolean> {
    let result: Promise<void>;
    try {
      result = this.listener!.onRecords(held.topicPartition, records);
    } catch (err) {
      result = Promise.reject(err);
    }
    return result.then(
      () => true,
      (err: unknown) => {
        this.host.reportError(err, 'onRecords');
        return false;
      },
    );
  }

  // ---- commits ----

  private async commitHeld(held: HeldPartition, offset: bigint): Promise<void> {
    const { topic, partition } = held.topicPartition;
    if (this.held.get(slotOf(topic, partition)) !== held) {
      throw new TroupeError('not_owner', `${topic}/${partition} is not assigned to this member`);
    }
    if (offset <= held.committed) return;
    const consumer = this.consumer;
    if (consumer === null) throw new TroupeError('unavailable', 'the consumer is not connected', { retriable: true });
    try {
      await this.commitWithOthers(consumer, { topic, partition, offset: offset.toString() });
    } catch (err) {
      throw fromKafkaError(err, `committing ${topic}/${partition}`);
    }
    if (offset > held.committed) held.committed = offset;
  }

  /**
   * Commits the offset together with the other partitions' commits of the same turn, in one
   * OffsetCommit request (the partition hosts commit on a shared tick): a request per partition
   * woke the broker and this process once each. If the request fails, every commit in it
   * rejects (each partition's host retries on its next tick).
   */
  private commitWithOthers(consumer: Consumer, offset: { topic: string; partition: number; offset: string }): Promise<void> {
    return new Promise((resolve, reject) => this.turnCommits.add({ consumer, offset, resolve, reject }));
  }

  // ---- helpers ----

  private async call(callback: 'onAssigned' | 'onRevoked', partitions: TopicPartition[]): Promise<void> {
    try {
      await this.listener![callback](partitions);
    } catch (err) {
      this.host.reportError(err, callback);
    }
  }

  /** pause/resume on the kafkajs consumer; it refuses them while it is not running (nothing to do then). */
  private tellKafka(action: (consumer: Consumer) => void): void {
    const consumer = this.consumer;
    if (consumer === null) return;
    try {
      action(consumer);
    } catch {
      // not running: its next run starts unpaused, and this member re-applies nothing (revoked)
    }
  }
}
