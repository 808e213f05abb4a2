/**
 * A task node for specs, wired as the task role wires it: an Outbox on a LogicBench's in-process
 * log and presence, and PartitionHosting of taskKind over the bench's task topic (real
 * LocalCoordinator claims, watermark commits). It also records, through consumers of their own,
 * every record on the downstream topics of the given gateways and every fanout job produced.
 */
import { Outbox } from '../../../actors/logic/outbox.js';
import { decodeDownstream, decodeTask } from '../../../actors/records/codec.js';
import type { TaskRecord } from '../../../actors/records/types.js';
import type { Logger } from '../../../actors/runtime/logger.js';
import { PartitionHosting } from '../../../actors/runtime/partition-hosting.js';
import { MemberDirectory } from '../../../actors/task/member-directory.js';
import { TASK_UNIT_PREFIX, taskKind } from '../../../actors/task/task-kind.js';
import type { Store } from '../../../transport/store/port.js';
import type { Lease } from '../../../transport/coord/port.js';
import type { GroupConsumer, LogRecord, Producer } from '../../../transport/log/port.js';
import type { Presence } from '../../../transport/presence/port.js';
import type { LogicBench, LogLine } from '../actors/logic-bench.js';
import { uniqueName } from '../../support/wait-for.js';

export const TASK_PARTITIONS = 4;

/** One downstream record seen on a gateway's topic. */
export interface Seen {
  gatewayId: string;
  type: 'deliver' | 'reply';
  connIds: string[];
  frame?: Record<string, unknown> & { type: string };
}

export interface TaskNodeOptions {
  /** Gateways whose downstream topics are recorded (created when missing). */
  gateways: readonly string[];
  /** The task node's producer; default a plain one of the bench's log. */
  producer?: Producer;
  /** The task node's presence; default the bench's. */
  presence?: Presence;
  /** The task consumer group (another node's, to take over its partitions); default a new one. */
  group?: string;
  /** Longest a revocation waits for in-flight jobs. Default 5000. */
  drainTimeoutMs?: number;
  /** Where the node reads large groups' members; default the bench's store. */
  store?: Store;
  /** Members per presence lookup. Default the task role's. */
  chunkSize?: number;
}

export class TaskNode {
  readonly group: string;
  readonly downstream: Seen[] = [];
  readonly jobs: Array<{ key: string; partition: number; job: TaskRecord }> = [];
  readonly logs: LogLine[] = [];
  /** Every read of a group's members from the store. */
  readonly groupReads: Array<{ conv: string; reason: string; count: number }> = [];
  /** The node's copy of large groups' members. */
  members!: MemberDirectory;
  private readonly consumers: GroupConsumer[] = [];
  private hosting: PartitionHosting<TaskRecord> | null = null;
  private consumer: GroupConsumer | null = null;
  private lease!: Lease;
  private ownProducer: Producer | null = null;
  private readonly logger: Logger = {
    error: (message, meta) => this.logs.push({ level: 'error', message, ...(meta ? { meta } : {}) }),
    warn: (message, meta) => this.logs.push({ level: 'warn', message, ...(meta ? { meta } : {}) }),
    info: () => undefined,
    debug: () => undefined,
    child: () => this.logger,
  };

  private constructor(
    private readonly bench: LogicBench,
    group: string | undefined,
  ) {
    this.group = group ?? uniqueName('task');
  }

  static async start(bench: LogicBench, options: TaskNodeOptions): Promise<TaskNode> {
    const node = new TaskNode(bench, options.group);
    await node.open(options);
    return node;
  }

  private async open(options: TaskNodeOptions): Promise<void> {
    const { bench } = this;
    await bench.log.createTopics([
      { topic: bench.taskTopic, partitions: TASK_PARTITIONS },
      ...options.gateways.map((gw) => ({ topic: bench.downstreamPrefix + gw, partitions: 1 })),
    ]);
    for (const gatewayId of options.gateways) {
      await this.record([bench.downstreamPrefix + gatewayId], (r) => this.onDownstream(gatewayId, r));
    }
    await this.record([bench.taskTopic], (r) => this.jobs.push({ key: r.key, partition: r.partition, job: decodeTask(r.value) }));

    this.lease = await bench.coord.grantLease(10_000);
    const producer = options.producer ?? (this.ownProducer = bench.log.producer());
    const hosting = new PartitionHosting<TaskRecord>({
      unitPrefix: TASK_UNIT_PREFIX,
      cluster: 'spec',
      nodeId: 'task-1',
      lease: this.lease,
      kind: taskKind({
        outbox: new Outbox(producer, options.presence ?? bench.presence, bench.downstreamPrefix),
        members: this.members = new MemberDirectory(options.store ?? bench.store, { onLoad: (conv, reason, count) => this.groupReads.push({ conv, reason, count }) }),
        ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
        logger: this.logger,
        retryDelayMs: 5,
        maxRetryDelayMs: 20,
      }),
      parent: bench.system,
      maxInFlight: 256,
      commitIntervalMs: 10,
      passivateAfterMs: 60_000,
      drainTimeoutMs: options.drainTimeoutMs ?? 5000,
      supervision: { recordDeadlineMs: 10_000, recordAttempts: 3, restartBackoffMs: 5, maxRestartBackoffMs: 50 },
      lifecycle: { claimRetryMs: 10, retryDelayMs: 5 },
      onEscalate: (unit, step, error) => this.logs.push({ level: 'error', message: 'escalated', meta: { unit, step, error: error.message } }),
      logger: this.logger,
    });
    const consumer = bench.log.consumer({ groupId: this.group, topics: [bench.taskTopic], fromBeginning: true });
    hosting.attach(consumer);
    this.hosting = hosting;
    this.consumer = consumer;
    await consumer.start(hosting);
  }

  /** The task group's committed offset of a task partition. */
  committed(partition: number): Promise<string | null> {
    return this.bench.log.committedOffset(this.group, { topic: this.bench.taskTopic, partition });
  }

  /** Deliveries of `msg` frames, optionally of one conversation. */
  msgDeliveries(conv?: string): Seen[] {
    return this.downstream.filter((s) => s.frame?.type === 'msg' && (conv === undefined || s.frame.conv === conv));
  }

  async close(): Promise<void> {
    await this.consumer?.stop();
    this.hosting?.close();
    for (const consumer of this.consumers) await consumer.stop();
    await this.ownProducer?.close();
    await this.lease.revoke();
  }

  private async record(topics: string[], onRecord: (record: LogRecord) => void): Promise<void> {
    const consumer = this.bench.log.consumer({ groupId: uniqueName('recorder'), topics, fromBeginning: true });
    await consumer.start({
      onAssigned: async () => undefined,
      onRevoked: async () => undefined,
      onRecords: async (_tp, records) => {
        for (const record of records) onRecord(record);
      },
    });
    this.consumers.push(consumer);
  }

  private onDownstream(gatewayId: string, record: LogRecord): void {
    const decoded = decodeDownstream(record.value);
    if (decoded.type === 'reply') {
      this.downstream.push({ gatewayId, type: 'reply', connIds: [] });
      return;
    }
    const frame = JSON.parse(decoded.frame) as Seen['frame'];
    this.downstream.push({ gatewayId, type: 'deliver', connIds: decoded.connIds, ...(frame ? { frame } : {}) });
  }
}
