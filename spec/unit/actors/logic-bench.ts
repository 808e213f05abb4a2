/**
 * A logic node for actor specs, wired as bin/embedded.ts wires it but without the gateway:
 * SQLite (SqliteStore, migrated) behind GroupCommitStore, the in-process log, coordinator and
 * presence, an Outbox, FanoutJobs on `taskTopic` (consumed here by no one; see
 * spec/unit/task/task-node.ts), and PartitionHosting of upstreamKind. Specs produce upstream
 * records and read what the actors produce on the `<prefix><gatewayId>` topics of two gateways.
 *
 * The database's appendMessages can be slowed or made to fail (`appendDelayMs`,
 * `appendFailures`), and every ack seen downstream is checked against the database at the
 * moment it is read (`ackChecks`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start, stop as stopActor, type Ref } from 'nact';
import { newId } from '../../../actors/ids.js';
import type { LogicDeps } from '../../../actors/logic/deps.js';
import { FanoutJobs } from '../../../actors/logic/fanout-jobs.js';
import { Outbox } from '../../../actors/logic/outbox.js';
import { upstreamKind } from '../../../actors/logic/upstream-kind.js';
import { TroupeMetrics } from '../../../actors/metrics.js';
import { decodeDownstream, encodeUpstream } from '../../../actors/records/codec.js';
import type { ConnAddress, UpstreamRecord } from '../../../actors/records/types.js';
import { GroupCommitStore } from '../../../actors/repo/group-commit-store.js';
import type { Logger } from '../../../actors/runtime/logger.js';
import { deadLetterTopic } from '../../../actors/runtime/dead-letters.js';
import { PartitionHosting } from '../../../actors/runtime/partition-hosting.js';
import { UnitRegistry } from '../../../actors/runtime/unit-registry.js';
import { migrateLatest } from '../../../sql/migrate.js';
import { LocalCoordinator } from '../../../transport/coord/local.js';
import type { Lease } from '../../../transport/coord/port.js';
import type { TroupeError } from '../../../transport/errors.js';
import { MemoryLog } from '../../../transport/log/memory.js';
import type { GroupConsumer, LogRecord, Producer, RecordPosition, TopicPartition } from '../../../transport/log/port.js';
import { MemoryPresence } from '../../../transport/presence/memory.js';
import { openSqliteStore, type SqliteStore } from '../../../transport/store/sqlite.js';
import type { FencedBatch } from '../../../transport/store/port.js';
import { uniqueName, waitFor } from '../../support/wait-for.js';

export const GATEWAYS = ['gw1', 'gw2'] as const;
const UPSTREAM_PARTITIONS = 4;

/** A frame delivered to connections of a gateway. */
export interface Delivered {
  gatewayId: string;
  connIds: string[];
  frame: Record<string, unknown> & { type: string };
}

export interface Reply {
  gatewayId: string;
  requestId: string;
  result?: unknown;
  error?: { code: string; message: string };
}

export interface AckCheck {
  conv: string;
  seq: number;
  clientId: string;
  /** Whether the database held the acked row when the ack was read. */
  stored: boolean;
}

export interface LogLine {
  level: string;
  message: string;
  meta?: Record<string, unknown>;
}

export interface LogicSettings {
  passivateAfterMs?: number;
  /** The host's record deadline. Default 10 s. */
  recordDeadlineMs?: number;
  /** Groups with more members than this go out as fanout jobs on `taskTopic`. Default 1000. */
  largeGroupThreshold?: number;
  /** Members per fanout job. Default 500. */
  fanoutChunkSize?: number;
  /** Task pool slots a large group's members are split over. Default 1 (every job of a group under one key). */
  taskPoolSize?: number;
  /** Most members of a group. Default 20. */
  maxMembers?: number;
}

export class LogicBench {
  readonly log = new MemoryLog({ defaultPartitions: UPSTREAM_PARTITIONS });
  readonly coord = new LocalCoordinator({ initialRevision: 1000 });
  readonly presence = new MemoryPresence();
  readonly metrics = new TroupeMetrics({ defaultMetrics: false });
  readonly system: Ref<unknown> = start();
  readonly upstreamTopic = uniqueName('upstream');
  readonly downstreamPrefix = `${uniqueName('downstream')}-`;
  readonly taskTopic = uniqueName('task');
  readonly logicGroup = uniqueName('logic');
  readonly delivered: Delivered[] = [];
  readonly replies: Reply[] = [];
  readonly ackChecks: AckCheck[] = [];
  readonly logs: LogLine[] = [];
  /** Calls that reached the database's appendMessages, failed ones included. */
  readonly appendAttempts: Array<readonly FencedBatch[]> = [];
  /** Delay of every database appendMessages before it writes. */
  appendDelayMs = 0;
  /** Failures the next database appendMessages calls throw, one each, in order. */
  readonly appendFailures: TroupeError[] = [];
  /**
   * Failures the logic node's store and presence throw on cue, by method name: the next call of
   * that method rejects with the first error queued for it (the store is the repo actors call,
   * in front of the database).
   */
  readonly storeFailures = new Map<string, Cue[]>();
  readonly presenceFailures = new Map<string, Cue[]>();
  readonly units = new UnitRegistry();
  readonly deadLetterTopic = uniqueName('dead-letter');

  database!: SqliteStore;
  /** What the running logic node was given; its settings may be changed live. */
  logicDeps: LogicDeps | null = null;
  store!: GroupCommitStore;
  private dir = '';
  private lease!: Lease;
  producer!: Producer;
  private hosting: PartitionHosting<UpstreamRecord> | null = null;
  private consumer: GroupConsumer | null = null;
  private readonly downstreamConsumers: GroupConsumer[] = [];
  private readonly logger: Logger = {
    error: (message, meta) => this.logs.push({ level: 'error', message, ...(meta ? { meta } : {}) }),
    warn: (message, meta) => this.logs.push({ level: 'warn', message, ...(meta ? { meta } : {}) }),
    info: () => undefined,
    debug: () => undefined,
    child: () => this.logger,
  };
  private userCount = 0;

  static async open(): Promise<LogicBench> {
    const bench = new LogicBench();
    await bench.openPorts();
    return bench;
  }

  private async openPorts(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'troupe-logic-'));
    const { store: database, knex } = await openSqliteStore(join(this.dir, 'troupe.db'));
    await migrateLatest(knex);
    this.database = database;
    const write = database.appendMessages.bind(database);
    database.appendMessages = async (batches) => {
      this.appendAttempts.push(batches);
      if (this.appendDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.appendDelayMs));
      const failure = this.appendFailures.shift();
      if (failure !== undefined) throw failure;
      return write(batches);
    };
    this.store = new GroupCommitStore(database, { shards: 8, batchMaxRows: 500, batchMaxDelayMs: 0 });
    this.lease = await this.coord.grantLease(10_000);
    this.producer = this.log.producer();
    await this.log.createTopics([
      { topic: this.upstreamTopic, partitions: UPSTREAM_PARTITIONS },
      ...GATEWAYS.map((gw) => ({ topic: this.downstreamPrefix + gw, partitions: 1 })),
    ]);
    for (const gatewayId of GATEWAYS) {
      const consumer = this.log.consumer({ groupId: uniqueName(`gateway-${gatewayId}`), topics: [this.downstreamPrefix + gatewayId], fromBeginning: true });
      await consumer.start({
        onAssigned: async () => undefined,
        onRevoked: async () => undefined,
        onRecords: (_tp, records) => this.onDownstream(gatewayId, records),
      });
      this.downstreamConsumers.push(consumer);
    }
  }

  /** Starts the logic consumer and its hosting (as bin/embedded.ts does). */
  async startLogic(settings: LogicSettings = {}): Promise<void> {
    const deps: LogicDeps = {
      store: failingOnCue(this.store, this.storeFailures),
      outbox: new Outbox(this.producer, failingOnCue(this.presence, this.presenceFailures), this.downstreamPrefix),
      fanout: new FanoutJobs(this.producer, this.taskTopic),
      settings: {
        dedupeWindow: 1000,
        maxBatchPerConversation: 256,
        maxMembers: settings.maxMembers ?? 20,
        largeGroupThreshold: settings.largeGroupThreshold ?? 1000,
        fanoutChunkSize: settings.fanoutChunkSize ?? 500,
        taskPoolSize: settings.taskPoolSize ?? 1,
      },
      logger: this.logger,
      metrics: this.metrics,
    };
    this.logicDeps = deps;
    const hosting = new PartitionHosting<UpstreamRecord>({
      unitPrefix: 'upstream',
      cluster: 'spec',
      nodeId: 'logic-1',
      lease: this.lease,
      kind: upstreamKind(deps),
      parent: this.system,
      maxInFlight: 2000,
      commitIntervalMs: 10,
      passivateAfterMs: settings.passivateAfterMs ?? 60_000,
      drainTimeoutMs: 5000,
      supervision: {
        recordDeadlineMs: settings.recordDeadlineMs ?? 10_000,
        recordAttempts: 3,
        restartBackoffMs: 5,
        maxRestartBackoffMs: 50,
      },
      lifecycle: { claimRetryMs: 10, retryDelayMs: 5 },
      deadLetters: deadLetterTopic(this.producer, this.deadLetterTopic),
      units: this.units,
      onEscalate: (unit, step, error) => this.logs.push({ level: 'error', message: 'escalated', meta: { unit, step, error: error.message } }),
      logger: this.logger,
      metrics: this.metrics,
    });
    const consumer = this.log.consumer({ groupId: this.logicGroup, topics: [this.upstreamTopic], fromBeginning: true });
    hosting.attach(consumer);
    this.hosting = hosting;
    this.consumer = consumer;
    await consumer.start(hosting);
  }

  /** Stops logic as a SIGTERM would: drain, commit, release, stop the actors. */
  async stopLogic(): Promise<void> {
    await this.consumer?.stop();
    this.hosting?.close();
    this.consumer = null;
    this.hosting = null;
  }

  async close(): Promise<void> {
    await this.stopLogic();
    for (const consumer of this.downstreamConsumers) await consumer.stop();
    await this.producer.close();
    await this.log.close();
    await this.lease.revoke();
    await this.coord.close();
    await this.presence.close();
    await this.store.close();
    stopActor(this.system);
    await rm(this.dir, { recursive: true, force: true });
  }

  // ---- fixtures

  async user(): Promise<string> {
    const id = newId('u');
    await this.database.createUser({ id, username: `user${++this.userCount}x${id.slice(2, 10).toLowerCase()}`, displayName: id, passwordHash: 'x', createdAt: Date.now() });
    return id;
  }

  /** A group of new users; the first is the owner. */
  async group(memberCount: number): Promise<{ conv: string; members: string[] }> {
    const members: string[] = [];
    for (let i = 0; i < memberCount; i++) members.push(await this.user());
    const conv = newId('c');
    await this.database.createGroup({ id: conv, type: 'group', name: 'spec group', ownerId: members[0]!, lastSeq: 0, memberCount: members.length, createdAt: Date.now() }, members);
    return { conv, members };
  }

  async direct(a: string, b: string): Promise<string> {
    const { conv } = await this.database.getOrCreateDirect(newId('c'), a, b, Date.now());
    return conv.id;
  }

  /** Registers a live connection of `user` in presence, as a gateway does on open. */
  async connect(user: string, gatewayId: string, connId = newId('k')): Promise<ConnAddress> {
    await this.presence.add(user, { gatewayId, connId }, 60_000);
    return { gatewayId, connId };
  }

  async disconnect(user: string, conn: ConnAddress): Promise<void> {
    await this.presence.remove(user, conn.connId);
  }

  // ---- traffic

  /** Produces an upstream record keyed as the gateway keys it (conversation, or user). */
  async produce(record: UpstreamRecord): Promise<RecordPosition> {
    const key = 'conv' in record ? record.conv : record.user;
    const [position] = await this.producer.send(this.upstreamTopic, [{ key, value: encodeUpstream(record) }]);
    return position!;
  }

  async send(conv: string, from: string, origin: ConnAddress, clientId: string, text = `text of ${clientId}`): Promise<RecordPosition> {
    return this.produce({ type: 'send', conv, from, origin, clientId, body: JSON.stringify({ text }) });
  }

  /** Frames delivered to one connection, in order, optionally of one type. */
  framesTo(conn: ConnAddress, type?: string): Array<Delivered['frame']> {
    return this.delivered
      .filter((d) => d.gatewayId === conn.gatewayId && d.connIds.includes(conn.connId) && (type === undefined || d.frame.type === type))
      .map((d) => d.frame);
  }

  async waitFrames(conn: ConnAddress, type: string, count: number): Promise<Array<Delivered['frame']>> {
    await waitFor(() => this.framesTo(conn, type).length >= count, { message: `${count} ${type} frame(s) to ${conn.connId}` });
    return this.framesTo(conn, type);
  }

  async waitReply(requestId: string): Promise<Reply> {
    const find = (): Reply | undefined => this.replies.find((r) => r.requestId === requestId);
    await waitFor(() => find() !== undefined, { message: `the reply to ${requestId}` });
    return find()!;
  }

  /** The logic group's committed offset of a partition of the upstream topic. */
  committed(partition: number): Promise<string | null> {
    const tp: TopicPartition = { topic: this.upstreamTopic, partition };
    return this.log.committedOffset(this.logicGroup, tp);
  }

  /** Waits until the logic group has committed past `position`: its record was handled. */
  async waitHandled(position: RecordPosition): Promise<void> {
    await waitFor(async () => Number((await this.committed(position.partition)) ?? -1) > Number(position.offset), {
      message: `the record at ${position.partition}/${position.offset} to be handled`,
    });
  }

  async passivations(kind: 'conversation' | 'session'): Promise<number> {
    const metric = await this.metrics.passivations.get();
    return metric.values.find((v) => v.labels.kind === kind)?.value ?? 0;
  }

  private async onDownstream(gatewayId: string, records: LogRecord[]): Promise<void> {
    for (const record of records) {
      const decoded = decodeDownstream(record.value);
      if (decoded.type === 'reply') {
        const reply: Reply = { gatewayId, requestId: decoded.requestId };
        if (decoded.result !== undefined) reply.result = JSON.parse(decoded.result) as unknown;
        if (decoded.error !== undefined) reply.error = decoded.error;
        this.replies.push(reply);
        continue;
      }
      const frame = JSON.parse(decoded.frame) as Delivered['frame'];
      if (frame.type === 'ack') {
        // Checked before the ack is handed on, as a gateway would write it to the socket now.
        const conv = frame.conv as string;
        const seq = frame.seq as number;
        const page = await this.database.listMessages(conv, seq - 1, 1);
        const row = page.messages[0];
        this.ackChecks.push({ conv, seq, clientId: frame.id as string, stored: row?.seq === seq && row.clientId === frame.id });
      }
      this.delivered.push({ gatewayId, connIds: decoded.connIds, frame });
    }
  }
}

/**
 * What the next call of a method does: fail with the error, go through (`PASS`), never answer
 * (`HANG`), or go through and then fail with the error (`{ after }`: done, but the answer lost).
 */
export type Cue = TroupeError | typeof PASS | typeof HANG | { after: TroupeError };
export const PASS = 'pass';
export const HANG = 'hang';

/**
 * `target` with every method failing on cue: a call of a method whose queue in `failures` holds
 * a cue takes it off the queue and rejects with it, goes through, or hangs; an empty queue goes
 * through.
 */
export function failingOnCue<T extends object>(target: T, failures: Map<string, Cue[]>): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const cue = failures.get(String(property))?.shift();
        if (cue === HANG) return new Promise(() => undefined);
        if (typeof cue === 'object' && 'after' in cue) {
          return Promise.resolve((value as (...a: unknown[]) => unknown).apply(object, args)).then(() => Promise.reject(cue.after));
        }
        if (cue !== undefined && cue !== PASS) return Promise.reject(cue);
        return (value as (...a: unknown[]) => unknown).apply(object, args);
      };
    },
  });
}

/** Queues cues for the next calls of `method` (see failingOnCue). */
export function failNext(failures: Map<string, Cue[]>, method: string, ...cues: Cue[]): void {
  failures.set(method, [...(failures.get(method) ?? []), ...cues]);
}
