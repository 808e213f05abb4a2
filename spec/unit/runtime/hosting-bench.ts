/**
 * One node's hosting of a one-partition topic for runtime specs: the real in-process log and
 * coordinator, a real nact system, PartitionHosting of a RecordingKind, a dead-letter topic, a
 * unit registry and recorded escalations. Shared by partition-host.spec.ts and supervision.spec.ts.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { start, stop as stopActor, type Ref } from 'nact';
import { deadLetterTopic } from '../../../actors/runtime/dead-letters.js';
import { silentLogger } from '../../../actors/runtime/logger.js';
import { PartitionHosting } from '../../../actors/runtime/partition-hosting.js';
import { UnitRegistry } from '../../../actors/runtime/unit-registry.js';
import { LocalCoordinator } from '../../../transport/coord/local.js';
import type { Lease } from '../../../transport/coord/port.js';
import type { TroupeError } from '../../../transport/errors.js';
import { MemoryLog } from '../../../transport/log/memory.js';
import type { ConsumerListener, GroupConsumer, LogRecord, TopicPartition } from '../../../transport/log/port.js';
import { uniqueName, waitFor } from '../../support/wait-for.js';
import { RecordingKind, type TestMessage } from './recording-kind.js';

export const COMMIT_INTERVAL_MS = 10;
/** How long a negative check watches: many commit intervals and fetch turns. */
export const QUIET_MS = 80;

export interface HostingSettings {
  maxInFlight?: number;
  recordDeadlineMs?: number;
  recordAttempts?: number;
  passivateAfterMs?: number;
  maxBatchRecords?: number;
  /** Delay added to every offset commit, as a remote broker would take. */
  commitDelayMs?: number;
}

/** A GroupConsumer of the memory log whose commits take a while (like Kafka's). */
function slowCommits(inner: GroupConsumer, delayMs: number): GroupConsumer {
  return {
    start: (listener: ConsumerListener) => inner.start(listener),
    commit: async (tp: TopicPartition, offset: string) => {
      await delay(delayMs);
      await inner.commit(tp, offset);
    },
    pause: (tp) => inner.pause(tp),
    resume: (tp) => inner.resume(tp),
    stop: () => inner.stop(),
    evict: (memberId) => inner.evict(memberId),
  };
}

/** One node's hosting of a one-partition topic, on a fresh log, coordinator and actor system. */
export class Bench {
  readonly log = new MemoryLog();
  readonly coord = new LocalCoordinator();
  readonly system: Ref<unknown> = start();
  readonly topic = uniqueName('hosted');
  readonly group = uniqueName('group');
  readonly cluster = uniqueName('cluster');
  readonly tp: TopicPartition = { topic: this.topic, partition: 0 };
  readonly claimKey = `/troupe/${this.cluster}/claims/test/0`;
  readonly kind = new RecordingKind();
  readonly deadLetterTopic = uniqueName('dead-letter');
  /** Stuck after 1 s, so that a spec can see a hung record make the node unready. */
  readonly units = new UnitRegistry({ stuckAfterMs: 1000 });
  /** Records parked in the dead-letter topic, as a reader of that topic sees them. */
  readonly parked: LogRecord[] = [];
  /** Failures the next claims (or releases) throw, one each, in order: a coordinator blip on cue. */
  readonly claimFailures: TroupeError[] = [];
  readonly releaseFailures: TroupeError[] = [];
  readonly escalations: Array<{ unit: string; step: string; code: string }> = [];
  /** Committed offset seen at each claim release, in order. */
  readonly committedAtRelease: Array<string | null> = [];
  lease!: Lease;
  hosting: PartitionHosting<TestMessage> | null = null;
  consumer: GroupConsumer | null = null;
  private readonly producer = this.log.producer();
  private deadLetterReader: GroupConsumer | null = null;

  async open(): Promise<this> {
    await this.log.createTopics([
      { topic: this.topic, partitions: 1 },
      { topic: this.deadLetterTopic, partitions: 1 },
    ]);
    this.lease = this.spyOnRelease(await this.coord.grantLease(10_000));
    this.deadLetterReader = this.log.consumer({ groupId: uniqueName('dead-letter-reader'), topics: [this.deadLetterTopic], fromBeginning: true });
    await this.deadLetterReader.start({
      onAssigned: async () => undefined,
      onRevoked: async () => undefined,
      onRecords: async (_tp, records) => void this.parked.push(...records),
    });
    return this;
  }

  /** Starts a hosting and its consumer; resolves when the consumer has joined (partition hosted). */
  async startHosting(settings: HostingSettings = {}): Promise<void> {
    await this.beginHosting(settings);
  }

  /** Starts a hosting; returns the consumer's start promise without awaiting it. */
  beginHosting(settings: HostingSettings = {}): Promise<void> {
    const hosting = new PartitionHosting<TestMessage>({
      unitPrefix: 'test',
      cluster: this.cluster,
      nodeId: 'node-1',
      lease: this.lease,
      kind: this.kind,
      parent: this.system,
      maxInFlight: settings.maxInFlight ?? 100,
      commitIntervalMs: COMMIT_INTERVAL_MS,
      passivateAfterMs: settings.passivateAfterMs ?? 60_000,
      drainTimeoutMs: 5_000,
      supervision: {
        recordDeadlineMs: settings.recordDeadlineMs ?? 10_000,
        recordAttempts: settings.recordAttempts ?? 3,
        restartBackoffMs: 5,
        maxRestartBackoffMs: 20,
      },
      lifecycle: { claimRetryMs: 10, retryDelayMs: 5 },
      deadLetters: deadLetterTopic(this.producer, this.deadLetterTopic),
      units: this.units,
      onEscalate: (unit, step, error) => this.escalations.push({ unit, step, code: error.code }),
      logger: silentLogger,
    });
    const raw = this.log.consumer({ groupId: this.group, topics: [this.topic], fromBeginning: true, maxBatchRecords: settings.maxBatchRecords ?? 500 });
    const consumer = settings.commitDelayMs === undefined ? raw : slowCommits(raw, settings.commitDelayMs);
    hosting.attach(consumer);
    this.hosting = hosting;
    this.consumer = consumer;
    return consumer.start(hosting);
  }

  /** Stops the consumer (revoking: drain, commit, release) and the hosting's actors. */
  async stopHosting(): Promise<void> {
    await this.consumer?.stop();
    this.hosting?.close();
    this.consumer = null;
    this.hosting = null;
  }

  /** Appends one record per value, all with `key`; returns their offsets. */
  async produce(key: string, ...values: string[]): Promise<number[]> {
    const positions = await this.producer.send(
      this.topic,
      values.map((value) => ({ key, value: Buffer.from(value) })),
    );
    return positions.map((p) => Number(p.offset));
  }

  committed(): Promise<string | null> {
    return this.log.committedOffset(this.group, this.tp);
  }

  async waitCommitted(offset: number): Promise<void> {
    await waitFor(async () => (await this.committed()) === String(offset), { message: `commit of offset ${offset}`, timeoutMs: 3000 });
  }

  async waitDelivered(count: number): Promise<void> {
    await waitFor(() => this.kind.deliveries.length >= count, { message: `${count} deliveries`, timeoutMs: 3000 });
  }

  async close(): Promise<void> {
    this.kind.releaseAll();
    await this.stopHosting();
    await this.deadLetterReader?.stop();
    await this.producer.close();
    await this.log.close();
    await this.coord.close();
    stopActor(this.system);
  }

  /** Wraps the lease so that every release records the committed offset at that moment. */
  private spyOnRelease(inner: Lease): Lease {
    return {
      id: inner.id,
      ttlMs: inner.ttlMs,
      claim: async (key, value) => {
        const failure = this.claimFailures.shift();
        if (failure !== undefined) throw failure;
        return inner.claim(key, value);
      },
      put: (key, value) => inner.put(key, value),
      release: async (key) => {
        const failure = this.releaseFailures.shift();
        if (failure !== undefined) throw failure;
        this.committedAtRelease.push(await this.committed());
        await inner.release(key);
      },
      onLost: (listener) => inner.onLost(listener),
      revoke: () => inner.revoke(),
    };
  }
}

