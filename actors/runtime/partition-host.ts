/**
 * Hosts the actors of one log partition (DESIGN.md: "partition host").
 *
 * Each record is routed to the actor of its key, spawned on first use. One actor handles its
 * records one at a time and in offset order (nact's mailbox), so records of one key keep their
 * order while different keys proceed concurrently. An actor calls `done()` of each envelope
 * when it has finished the record (its effects are durable and its answers produced); the host
 * commits the lowest unfinished offset (Watermark), so a crash replays and never skips.
 *
 * Mailboxes are bounded by the records in flight per partition: at `maxInFlight` the partition
 * is paused (no more fetching), and resumed at half of it. Idle actors (nothing in flight for
 * `passivateAfterMs`) are stopped by the host itself; since every message reaches an actor
 * through the host, an actor is never stopped with a message on its way.
 */
import { dispatch, spawnStateless, stop, type Ref } from 'nact';
import type { GroupConsumer, LogRecord, TopicPartition } from '../../transport/log/port.js';
import type { TroupeMetrics } from '../metrics.js';
import type { Logger } from './logger.js';
import { carriesTrace, contextFromHeaders, type Context } from './tracing.js';
import { Watermark } from './watermark.js';

/** What an actor receives from its host: one record's message, and how to say it is finished. */
export interface Envelope<M> {
  message: M;
  /** Marks the record finished; call exactly once. */
  done: () => void;
  /** The trace context the record's headers carried (tracing.ts), if any: the parent of its spans. */
  trace?: Context;
}

/** The placement unit a host serves, and its fencing epoch (the claim's create revision). */
export interface UnitContext {
  /** e.g. `upstream/3`. */
  unit: string;
  epoch: number;
  /** Stops the host at once, without committing: an actor found the unit fenced. */
  fence(reason: string): void;
}

/** How records of a topic become actors and messages. */
export interface HostedKind<M> {
  /** Actor kind for metrics, given the record's key. */
  kindOf(key: string): string;
  /** Decodes a record; null for one that cannot be decoded (logged and skipped). */
  decode(record: LogRecord): { key: string; message: M } | null;
  /** Spawns the actor of `key` under `parent`. Its messages are Envelope<M>. */
  spawn(parent: Ref<unknown>, key: string, unit: UnitContext): Ref<Envelope<M>>;
}

export interface PartitionHostOptions<M> {
  tp: TopicPartition;
  consumer: GroupConsumer;
  kind: HostedKind<M>;
  /** nact parent under which this partition's node is spawned. */
  parent: Ref<unknown>;
  unit: UnitContext;
  maxInFlight: number;
  commitIntervalMs: number;
  passivateAfterMs: number;
  logger: Logger;
  metrics?: TroupeMetrics;
}

interface HostedActor<M> {
  ref: Ref<Envelope<M>>;
  kind: string;
  inFlight: number;
  lastActive: number;
}

export class PartitionHost<M> {
  private readonly node: Ref<unknown>;
  private readonly actors = new Map<string, HostedActor<M>>();
  private watermark: Watermark | null = null;
  private lastCommitted = -1;
  private committing: Promise<void> | null = null;
  private paused = false;
  private stopped = false;
  private readonly commitTimer: NodeJS.Timeout;
  private readonly sweepTimer: NodeJS.Timeout;
  private drainWaiters: Array<() => void> = [];
  private readonly partitionLabel: { topic: string; partition: string };

  constructor(private readonly options: PartitionHostOptions<M>) {
    const { tp } = options;
    this.node = spawnStateless(options.parent, () => undefined, `${tp.topic}-${tp.partition}`);
    this.partitionLabel = { topic: tp.topic, partition: String(tp.partition) };
    this.commitTimer = setInterval(() => void this.commit(), options.commitIntervalMs);
    this.commitTimer.unref();
    const sweepEvery = Math.max(50, Math.min(60_000, Math.floor(options.passivateAfterMs / 4)));
    this.sweepTimer = setInterval(() => this.passivateIdle(), sweepEvery);
    this.sweepTimer.unref();
  }

  get inFlight(): number {
    return this.watermark?.inFlight ?? 0;
  }

  get activeActors(): number {
    return this.actors.size;
  }

  /** Takes a batch from the consumer: tracks and dispatches each record, pausing when full. */
  accept(records: readonly LogRecord[]): void {
    if (this.stopped) return;
    for (const record of records) {
      const offset = Number(record.offset);
      this.watermark ??= new Watermark(offset);
      this.watermark.track(offset);
      const decoded = this.decode(record);
      if (decoded === null) {
        this.watermark.finish(offset);
        continue;
      }
      const actor = this.actorFor(decoded.key);
      actor.inFlight++;
      actor.lastActive = Date.now();
      let finished = false;
      const done = (): void => {
        if (finished) return;
        finished = true;
        actor.inFlight--;
        actor.lastActive = Date.now();
        this.finish(offset);
      };
      // Extracted only when the headers carry one: an untraced record costs nothing here.
      const trace = carriesTrace(record.headers) ? contextFromHeaders(record.headers) : undefined;
      dispatch(actor.ref, { message: decoded.message, done, trace });
    }
    this.updateDepth();
    if (!this.paused && this.inFlight >= this.options.maxInFlight) {
      this.paused = true;
      this.options.consumer.pause(this.options.tp);
      this.options.metrics?.partitionsPaused.inc({ topic: this.options.tp.topic });
    }
  }

  /**
   * Stops intake and waits (up to `timeoutMs`) for in-flight records to finish, commits, and
   * stops every actor. Records still unfinished at the timeout are abandoned uncommitted: the
   * next owner replays them.
   */
  async drain(timeoutMs: number): Promise<void> {
    if (this.stopped) return;
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        this.drainWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    // A timed commit still in flight carries an older offset: let it land, then commit the last.
    while (this.committing !== null) await this.committing;
    await this.commit();
    this.shutdown();
  }

  /** Stops at once without committing (the unit was fenced or the lease lost). */
  abandon(): void {
    this.shutdown();
  }

  private decode(record: LogRecord): { key: string; message: M } | null {
    try {
      const decoded = this.options.kind.decode(record);
      if (decoded === null) this.options.logger.warn('skipping undecodable record', { topic: record.topic, partition: record.partition, offset: record.offset });
      return decoded;
    } catch (err) {
      this.options.logger.warn('skipping undecodable record', { offset: record.offset, error: (err as Error).message });
      return null;
    }
  }

  private actorFor(key: string): HostedActor<M> {
    let actor = this.actors.get(key);
    if (actor === undefined) {
      const kind = this.options.kind.kindOf(key);
      actor = { ref: this.options.kind.spawn(this.node, key, this.options.unit), kind, inFlight: 0, lastActive: Date.now() };
      this.actors.set(key, actor);
      this.options.metrics?.activeActors.inc({ kind });
    }
    return actor;
  }

  private finish(offset: number): void {
    const watermark = this.watermark;
    if (watermark === null) return;
    watermark.finish(offset);
    if (this.paused && watermark.inFlight <= this.options.maxInFlight / 2 && !this.stopped) {
      this.paused = false;
      this.options.consumer.resume(this.options.tp);
    }
    if (watermark.inFlight === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  private async commit(): Promise<void> {
    if (this.committing) return this.committing;
    const watermark = this.watermark;
    if (watermark === null || this.stopped) return;
    this.updateDepth();
    const offset = watermark.committable();
    if (offset <= this.lastCommitted) return;
    this.committing = (async () => {
      try {
        await this.options.consumer.commit(this.options.tp, String(offset));
        this.lastCommitted = offset;
      } catch (err) {
        this.options.logger.warn('offset commit failed; will retry', { ...this.partitionLabel, offset, error: (err as Error).message });
      } finally {
        this.committing = null;
      }
    })();
    return this.committing;
  }

  private passivateIdle(): void {
    const idleBefore = Date.now() - this.options.passivateAfterMs;
    for (const [key, actor] of this.actors) {
      if (actor.inFlight === 0 && actor.lastActive < idleBefore) {
        this.actors.delete(key);
        stop(actor.ref);
        this.options.metrics?.activeActors.dec({ kind: actor.kind });
        this.options.metrics?.passivations.inc({ kind: actor.kind });
      }
    }
  }

  private updateDepth(): void {
    this.options.metrics?.mailboxDepth.set(this.partitionLabel, this.inFlight);
  }

  private shutdown(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.commitTimer);
    clearInterval(this.sweepTimer);
    for (const actor of this.actors.values()) {
      stop(actor.ref); // nact 7 does not stop the children of a stopped actor
      this.options.metrics?.activeActors.dec({ kind: actor.kind });
    }
    this.actors.clear();
    stop(this.node);
    this.options.metrics?.mailboxDepth.remove(this.partitionLabel);
    for (const wake of this.drainWaiters) wake();
    this.drainWaiters = [];
  }
}
