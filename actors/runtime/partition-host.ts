/**
 * Hosts the actors of one log partition (docs/architecture.md, "The partition host") and supervises them.
 *
 * Each record is routed to the actor of its key, spawned on first use. One actor handles its
 * records one at a time and in offset order (its mailbox, mailbox.ts), so records of one key keep their
 * order while different keys proceed concurrently. An actor calls `done()` of each envelope
 * when it has finished the record (its effects are durable and its answers produced); the host
 * commits the lowest unfinished offset (Watermark), so a crash replays and never skips.
 *
 * Every record the host takes finishes, whatever the actor does (docs/architecture.md, "Supervision: every record finishes"):
 * - an actor whose handler rejects has crashed; an attempt at a record that runs past
 *   `recordDeadlineMs` has hung. Either way the actor is stopped, and after a backoff that
 *   doubles with each consecutive failure of its key a fresh one is made (its state rebuilt
 *   from storage) and handed the key's unfinished records again, in order;
 * - a record that failed `recordAttempts` times is given up: its requester is answered (the
 *   kind's `refuse`: `unavailable` when a dependency was down, `internal` otherwise), and when
 *   the record itself is the problem (it hung every attempt, or failed with an error that is not
 *   retriable, or does not decode) it is parked in the dead-letter topic first. Then it is
 *   finished, so the records behind it move on.
 * Actor names are the host's own counters, never the key: no key, however malformed, can make
 * spawning throw.
 *
 * Mailboxes are bounded by the records in flight per partition: at `maxInFlight` the partition
 * is paused (no more fetching), and resumed at half of it. Idle actors (nothing in flight for
 * `passivateAfterMs`) are stopped by the host itself; since every message reaches an actor
 * through the host, an actor is never stopped with a message on its way.
 */
import { spawn, stop, type Ref } from 'nact';
import { asTroupeError, TroupeError } from '../../transport/errors.js';
import type { GroupConsumer, LogRecord, TopicPartition } from '../../transport/log/port.js';
import type { TroupeMetrics } from '../metrics.js';
import type { DeadLetters } from './dead-letters.js';
import type { Envelope, HostedActor, HostedKind, UnitContext } from './hosted-kind.js';
import type { Logger } from './logger.js';
import { Mailbox, type MailboxOwner } from './mailbox.js';
import { Chore } from './shared-interval.js';
import { carriesTrace, contextFromHeaders, type Context } from './tracing.js';
import type { UnitProbe } from './unit-registry.js';
import { Watermark } from './watermark.js';

export interface SupervisionSettings {
  /** Longest one attempt at a record may take before its actor is deemed hung. */
  recordDeadlineMs: number;
  /** Attempts at a record, the first included, before it is given up. */
  recordAttempts: number;
  /** Pause before re-making a failed actor; doubles per consecutive failure of its key. */
  restartBackoffMs: number;
  maxRestartBackoffMs: number;
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
  supervision: SupervisionSettings;
  /** Where poison records are parked; without it they are logged (whole) and skipped. */
  deadLetters?: DeadLetters;
  logger: Logger;
  metrics?: TroupeMetrics;
}

/**
 * One record taken from the log and not yet finished; it is also the envelope its actor gets
 * (one object and one closure per record, as light as the hot path allows).
 */
class Delivery<M> implements Envelope<M> {
  /** Failed attempts so far. */
  failures = 0;
  /** The actor generation it was last handed to; 0 while it waits for its actor. */
  generation = 0;
  /** When the current attempt was handed to the actor (ms); its deadline runs from here. */
  startedAt = 0;
  finished = false;
  /** Given up: being parked and answered; never handed to an actor again. */
  givenUp = false;
  readonly done: () => void;

  constructor(
    readonly offset: number,
    readonly key: string,
    readonly message: M,
    readonly record: LogRecord,
    readonly trace: Context | undefined,
    readonly takenAt: number,
    finish: (delivery: Delivery<M>) => void,
  ) {
    this.done = () => finish(this);
  }
}

/** Which actor a mailbox serves: its key's slot, in the generation it was made for. */
class MailboxToken<M> {
  constructor(
    readonly slot: Slot<M>,
    readonly generation: number,
  ) {}
}

/** A message an actor posted to itself. */
class SelfPost {
  constructor(readonly value: unknown) {}
}

/** The actor of one key, across its restarts. */
interface Slot<M> {
  key: string;
  kind: string;
  /** Raised at every (re)spawn; an envelope, crash or post of an older generation is stale. */
  generation: number;
  ref: Mailbox<Delivery<M> | SelfPost, MailboxToken<M>> | null;
  actor: HostedActor<M> | null;
  /** Deliveries of this key not finished. */
  inFlight: number;
  lastActive: number;
  /** Consecutive failures, for the backoff; cleared when a record finishes. */
  failures: number;
  restartTimer: NodeJS.Timeout | null;
}

type FailureCause = 'crash' | 'deadline';

export class PartitionHost<M> {
  private readonly node: Ref<unknown>;
  private readonly slots = new Map<string, Slot<M>>();
  /** Unfinished deliveries by offset, in offset order. */
  private readonly deliveries = new Map<number, Delivery<M>>();
  private watermark: Watermark | null = null;
  private lastCommitted = -1;
  private committing: Promise<void> | null = null;
  private paused = false;
  private stopped = false;
  private isSuspended = false;
  /** Generations are numbered host-wide: every actor made gets the next one. */
  private generations = 0;
  private parkedCount = 0;
  /** This partition's periodic chores, woken when they have work (see shared-interval.ts). */
  private readonly commitChore: Chore;
  private readonly sweepChore: Chore;
  private readonly deadlineChore: Chore;
  private drainWaiters: Array<() => void> = [];
  private readonly partitionLabel: { topic: string; partition: string };
  /** Every key's mailbox hands its messages here, with its slot and generation (mailbox.ts). */
  private readonly mailboxOwner: MailboxOwner<Delivery<M> | SelfPost, MailboxToken<M>> = {
    handle: (token, message) => this.step(token.slot, token.generation, message),
    bug: (token, err) => this.options.logger.error('partition host step threw (a bug)', { key: token.slot.key, error: (err as Error).message }),
  };
  /** This partition's children of the depth gauges (labels resolved once, not per update). */
  private readonly depthGauges: { depth: { set(v: number): void }; oldest: { set(v: number): void } } | null;

  constructor(private readonly options: PartitionHostOptions<M>) {
    const { tp } = options;
    this.node = spawn(options.parent, (state: undefined) => state, encodeURIComponent(`${tp.topic}-${tp.partition}`));
    this.partitionLabel = { topic: tp.topic, partition: String(tp.partition) };
    const metrics = options.metrics;
    this.depthGauges =
      metrics === undefined ? null : { depth: metrics.mailboxDepth.labels(this.partitionLabel), oldest: metrics.oldestInFlightSeconds.labels(this.partitionLabel) };
    // A child exists in the exposition only once set: a hosted partition shows from the start.
    this.depthGauges?.depth.set(0);
    this.depthGauges?.oldest.set(0);
    // Shared with the process's other partitions (shared-interval.ts): one wakeup per period,
    // their commits leave as one request, and none of them ticks while the partition is idle.
    const sweepEvery = Math.max(50, Math.min(60_000, Math.floor(options.passivateAfterMs / 4)));
    const deadlineEvery = Math.max(10, Math.min(1000, Math.floor(options.supervision.recordDeadlineMs / 4)));
    this.commitChore = new Chore(options.commitIntervalMs, () => {
      void this.commit();
      // Until everything taken is finished and committed (the last round also zeroes the gauges).
      return !this.stopped && (this.deliveries.size > 0 || this.committing !== null || (this.watermark !== null && this.watermark.committable() > this.lastCommitted));
    });
    this.sweepChore = new Chore(sweepEvery, () => {
      this.passivateIdle();
      return !this.stopped && this.slots.size > 0;
    });
    this.deadlineChore = new Chore(deadlineEvery, () => {
      this.enforceDeadlines();
      return !this.stopped && this.deliveries.size > 0;
    });
  }

  get inFlight(): number {
    return this.watermark?.inFlight ?? 0;
  }

  get activeActors(): number {
    return this.slots.size;
  }

  /** Fenced: no actor runs, records are kept (and taken in) until `resume` or `abandon`. */
  get suspended(): boolean {
    return this.isSuspended;
  }

  /**
   * Stops every actor at once and keeps every unfinished record (the unit was fenced: what the
   * actors hold may be stale). Nothing is committed past them.
   */
  suspend(): void {
    if (this.stopped || this.isSuspended) return;
    this.isSuspended = true;
    this.stopAllActors();
    // What the fenced actors still report is not trusted: their records get fresh envelopes, and
    // the old ones count as finished to them. (Records being given up keep theirs.)
    for (const [offset, old] of this.deliveries) {
      if (old.givenUp) continue;
      const fresh = new Delivery(offset, old.key, old.message, old.record, old.trace, old.takenAt, this.finishedByActor);
      fresh.failures = old.failures;
      old.finished = true;
      this.deliveries.set(offset, fresh);
    }
  }

  /** Fresh actors (state rebuilt from storage) take every unfinished record again, in order. */
  resume(): void {
    if (this.stopped || !this.isSuspended) return;
    this.isSuspended = false;
    const now = Date.now();
    for (const delivery of this.deliveries.values()) {
      const slot = this.slotFor(delivery.key, now);
      slot.inFlight++;
      if (!delivery.givenUp && slot.ref !== null) this.handTo(slot, delivery, now);
    }
  }

  /** Live figures for the unit registry (`/units`, readiness). */
  probe(): UnitProbe {
    return { inFlight: this.deliveries.size, oldestInFlightMs: this.oldestInFlightMs(), parked: this.parkedCount };
  }

  /** Takes a batch from the consumer: tracks and dispatches each record, pausing when full. Never throws. */
  accept(records: readonly LogRecord[]): void {
    if (this.stopped) return;
    const now = Date.now();
    this.commitChore.wake();
    this.deadlineChore.wake();
    for (const record of records) {
      const offset = Number(record.offset);
      this.watermark ??= new Watermark(offset);
      this.watermark.track(offset);
      const decoded = this.decode(record);
      if (decoded === null) {
        void this.parkUndecodable(record, offset);
        continue;
      }
      const trace = carriesTrace(record.headers) ? contextFromHeaders(record.headers) : undefined;
      const delivery = new Delivery(offset, decoded.key, decoded.message, record, trace, now, this.finishedByActor);
      this.deliveries.set(offset, delivery);
      if (this.isSuspended) continue; // taken by `resume`
      const slot = this.slotFor(decoded.key, now);
      slot.inFlight++;
      slot.lastActive = now;
      // A key whose actor is restarting keeps its records until the fresh actor takes them all.
      if (slot.ref !== null) this.handTo(slot, delivery, now);
    }
    // The depth gauges follow at the next commit tick (updateDepth), not per batch: a scrape
    // reads them seconds apart, and setting them per batch was a measurable cost per record.
    if (!this.paused && this.inFlight >= this.options.maxInFlight) {
      this.paused = true;
      this.options.consumer.pause(this.options.tp);
      this.options.metrics?.partitionsPaused.inc({ topic: this.options.tp.topic });
    }
  }

  /**
   * Stops intake and waits (up to `timeoutMs`) for in-flight records to finish, commits, and
   * stops every actor. Records still unfinished at the timeout are abandoned uncommitted: the
   * next owner replays them. Deadlines keep running meanwhile, so a hung record cannot hold a
   * drain longer than its attempts take.
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

  // ---- records in

  private decode(record: LogRecord): { key: string; message: M } | null {
    try {
      return this.options.kind.decode(record);
    } catch (err) {
      this.options.logger.warn('record does not decode', { ...this.position(record), error: asTroupeError(err).message });
      return null;
    }
  }

  private slotFor(key: string, now: number): Slot<M> {
    let slot = this.slots.get(key);
    if (slot === undefined) {
      const kind = this.options.kind.kindOf(key);
      slot = { key, kind, generation: 0, ref: null, actor: null, inFlight: 0, lastActive: now, failures: 0, restartTimer: null };
      this.slots.set(key, slot);
      this.sweepChore.wake();
      this.options.metrics?.activeActors.inc({ kind });
      this.spawnActor(slot);
    }
    return slot;
  }

  /** Makes the slot's actor; a kind whose `create` throws has crashed like any other actor. */
  private spawnActor(slot: Slot<M>): boolean {
    const generation = (slot.generation = ++this.generations);
    let ref: Mailbox<Delivery<M> | SelfPost, MailboxToken<M>> | null = null;
    try {
      ref = new Mailbox(this.mailboxOwner, new MailboxToken(slot, generation));
      const post = (value: unknown): void => {
        if (slot.generation === generation && slot.ref !== null) slot.ref.post(new SelfPost(value));
      };
      slot.actor = this.options.kind.create(slot.key, this.options.unit, post);
      slot.ref = ref;
      return true;
    } catch (raw) {
      ref?.stop();
      slot.ref = null;
      slot.actor = null;
      this.failed(slot, this.oldestOf(slot), asTroupeError(raw), 'crash');
      return false;
    }
  }

  private handTo(slot: Slot<M>, delivery: Delivery<M>, now: number): void {
    delivery.generation = slot.generation;
    delivery.startedAt = now;
    slot.ref?.post(delivery);
  }

  /** `done()` of every delivery: a record is finished once, whoever finishes it first. */
  private readonly finishedByActor = (delivery: Delivery<M>): void => this.complete(delivery, true);

  /** Runs one message in the actor; a rejection is a crash of that generation. */
  private async step(slot: Slot<M>, generation: number, message: Delivery<M> | SelfPost): Promise<undefined> {
    const actor = slot.actor;
    if (slot.generation !== generation || actor === null) return; // a stopped generation
    const delivery = message instanceof Delivery ? message : undefined;
    if (delivery !== undefined && (delivery.finished || delivery.generation !== generation)) return;
    try {
      if (delivery !== undefined) await actor.handle(delivery);
      else if (actor.handleInternal !== undefined) await actor.handleInternal((message as SelfPost).value);
    } catch (raw) {
      if (slot.generation !== generation || this.stopped) return;
      this.failed(slot, delivery ?? this.oldestOf(slot), asTroupeError(raw), 'crash');
    }
  }

  // ---- supervision

  /**
   * An attempt failed (the actor crashed, or hung past the deadline): the actor is stopped and
   * re-made after a backoff; the record is given up once it has failed `recordAttempts` times.
   */
  private failed(slot: Slot<M>, victim: Delivery<M> | undefined, error: TroupeError, cause: FailureCause): void {
    const { logger, metrics, supervision, unit } = this.options;
    metrics?.recordFailures.inc({ topic: this.options.tp.topic, kind: slot.kind, outcome: cause });
    if (victim !== undefined) victim.failures++;
    logger.warn(cause === 'deadline' ? 'actor hung past its record deadline; restarting it' : 'actor crashed; restarting it', {
      unit: unit.unit,
      kind: slot.kind,
      ...(victim !== undefined ? { offset: victim.offset, attempt: victim.failures } : {}),
      code: error.code,
      error: error.message,
    });
    this.restart(slot);
    if (victim !== undefined && victim.failures >= supervision.recordAttempts) void this.giveUp(victim, error, cause);
  }

  private restart(slot: Slot<M>): void {
    this.stopActor(slot);
    slot.failures++;
    this.options.metrics?.actorRestarts.inc({ kind: slot.kind });
    const { restartBackoffMs, maxRestartBackoffMs } = this.options.supervision;
    const delay = Math.min(maxRestartBackoffMs, restartBackoffMs * 2 ** Math.min(slot.failures - 1, 20));
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      if (this.stopped || this.slots.get(slot.key) !== slot) return;
      if (!this.spawnActor(slot)) return;
      const now = Date.now();
      for (const delivery of this.deliveries.values()) {
        if (delivery.key === slot.key && !delivery.givenUp) this.handTo(slot, delivery, now);
      }
    }, delay);
    slot.restartTimer.unref();
  }

  /** Parks the record if it is poison, answers its requester, then finishes it. */
  private async giveUp(delivery: Delivery<M>, error: TroupeError, cause: FailureCause): Promise<void> {
    delivery.givenUp = true;
    const incident = `${this.options.unit.unit}@${delivery.offset}`;
    const poison = cause === 'deadline' || !error.retriable;
    const { logger, metrics, kind } = this.options;
    logger.error(poison ? 'record failed on every attempt; parking it' : 'record failed on every attempt; refusing it', {
      incident,
      key: delivery.key.slice(0, 100),
      attempts: delivery.failures,
      code: error.code,
      error: error.message,
    });
    if (poison) await this.park(delivery.record, cause === 'deadline' ? new TroupeError('timeout', `no attempt finished within ${this.options.supervision.recordDeadlineMs} ms`) : error, delivery.failures, kind.kindOf(delivery.key));
    else metrics?.recordFailures.inc({ topic: this.options.tp.topic, kind: kind.kindOf(delivery.key), outcome: 'refused' });
    // The requester learns that it may try again (`unavailable`) or that this is a bug (`internal`).
    const answer = cause === 'deadline' || error.retriable ? new TroupeError('unavailable', 'try again') : new TroupeError('internal', `internal error (${incident})`);
    try {
      if (kind.refuse !== undefined) await this.bounded(kind.refuse(delivery.message, answer, incident), 'answering the requester');
    } catch (err) {
      logger.warn('could not answer the requester of a record given up', { incident, error: asTroupeError(err).message });
    }
    this.complete(delivery, false);
  }

  private async park(record: LogRecord, error: TroupeError, attempts: number, kind: string): Promise<void> {
    this.parkedCount++;
    this.options.metrics?.recordsParked.inc({ topic: record.topic, kind });
    const deadLetters = this.options.deadLetters;
    try {
      if (deadLetters === undefined) throw new TroupeError('unavailable', 'no dead-letter topic configured');
      await this.bounded(deadLetters.park(record, error, attempts), 'parking');
    } catch (err) {
      // Not even the dead-letter topic took it: the log line is the last copy.
      this.options.logger.error('could not park a record; logging it whole', {
        ...this.position(record),
        key: record.key.slice(0, 200),
        value: Buffer.from(record.value).toString('base64'),
        error: asTroupeError(err).message,
      });
    }
  }

  /**
   * `work`, or a `timeout` once a record deadline has passed: answering or parking a record given
   * up must not hold it (and the partition's commit point) any more than its handler may.
   */
  private bounded<T>(work: Promise<T>, what: string): Promise<T> {
    const ms = this.options.supervision.recordDeadlineMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TroupeError('timeout', `${what} took longer than ${ms} ms`)), ms);
      timer.unref();
    });
    return Promise.race([work, late]).finally(() => clearTimeout(timer));
  }

  private async parkUndecodable(record: LogRecord, offset: number): Promise<void> {
    await this.park(record, new TroupeError('invalid_argument', 'the record does not decode'), 1, 'undecodable');
    this.finish(offset);
  }

  /** Gives each slot whose current attempt ran past the deadline one failure (its oldest record). */
  private enforceDeadlines(): void {
    if (this.stopped || this.deliveries.size === 0) return;
    const limit = Date.now() - this.options.supervision.recordDeadlineMs;
    let expired: Map<Slot<M>, Delivery<M>> | null = null;
    for (const delivery of this.deliveries.values()) {
      if (delivery.generation === 0 || delivery.givenUp || delivery.startedAt > limit) continue;
      const slot = this.slots.get(delivery.key);
      if (slot === undefined || slot.generation !== delivery.generation) continue;
      expired ??= new Map();
      if (!expired.has(slot)) expired.set(slot, delivery);
    }
    if (expired === null) return;
    for (const [slot, delivery] of expired) {
      this.failed(slot, delivery, new TroupeError('timeout', `record not finished within ${this.options.supervision.recordDeadlineMs} ms`), 'deadline');
    }
  }

  /** The key's oldest unfinished delivery that is still being attempted. */
  private oldestOf(slot: Slot<M>): Delivery<M> | undefined {
    for (const delivery of this.deliveries.values()) if (delivery.key === slot.key && !delivery.givenUp) return delivery;
    return undefined;
  }

  // ---- records out

  /** A delivery is finished: by its actor (`ok`), or given up. Later calls are ignored. */
  private complete(delivery: Delivery<M>, ok: boolean): void {
    if (delivery.finished) return;
    delivery.finished = true;
    this.deliveries.delete(delivery.offset);
    const slot = this.slots.get(delivery.key);
    if (slot !== undefined) {
      slot.inFlight--;
      slot.lastActive = Date.now();
      if (ok) slot.failures = 0;
    }
    this.finish(delivery.offset);
  }

  private finish(offset: number): void {
    const watermark = this.watermark;
    if (watermark === null) return;
    watermark.finish(offset);
    this.commitChore.wake();
    if (this.paused && watermark.inFlight <= this.options.maxInFlight / 2 && !this.stopped) {
      this.paused = false;
      this.options.consumer.resume(this.options.tp);
    }
    if (this.deliveries.size === 0 && watermark.inFlight === 0 && this.drainWaiters.length > 0) {
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

  // ---- actor lifetimes

  private passivateIdle(): void {
    const idleBefore = Date.now() - this.options.passivateAfterMs;
    for (const [key, slot] of this.slots) {
      if (slot.inFlight === 0 && slot.restartTimer === null && slot.lastActive < idleBefore) {
        this.slots.delete(key);
        this.stopActor(slot);
        this.options.metrics?.activeActors.dec({ kind: slot.kind });
        this.options.metrics?.passivations.inc({ kind: slot.kind });
      }
    }
  }

  private stopActor(slot: Slot<M>): void {
    slot.generation = ++this.generations; // whatever the old actor still reports is stale from here on
    try {
      slot.actor?.stop?.();
    } catch (err) {
      this.options.logger.warn('actor stop hook failed', { kind: slot.kind, error: asTroupeError(err).message });
    }
    slot.ref?.stop();
    slot.ref = null;
    slot.actor = null;
  }

  private stopAllActors(): void {
    for (const slot of this.slots.values()) {
      if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
      slot.restartTimer = null;
      this.stopActor(slot);
      this.options.metrics?.activeActors.dec({ kind: slot.kind });
    }
    this.slots.clear();
  }

  private oldestInFlightMs(): number {
    for (const delivery of this.deliveries.values()) return Date.now() - delivery.takenAt;
    return 0;
  }

  private updateDepth(): void {
    this.depthGauges?.depth.set(this.inFlight);
    this.depthGauges?.oldest.set(this.oldestInFlightMs() / 1000);
  }

  private position(record: LogRecord): Record<string, unknown> {
    return { topic: record.topic, partition: record.partition, offset: record.offset };
  }

  private shutdown(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.commitChore.cancel();
    this.sweepChore.cancel();
    this.deadlineChore.cancel();
    this.stopAllActors();
    stop(this.node);
    this.options.metrics?.mailboxDepth.remove(this.partitionLabel);
    this.options.metrics?.oldestInFlightSeconds.remove(this.partitionLabel);
    for (const wake of this.drainWaiters) wake();
    this.drainWaiters = [];
  }
}
