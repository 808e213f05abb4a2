/**
 * The delivery loop of one partition assigned to one member of a group (memory.ts).
 *
 * It hands the partition's records to the member's listener in batches, in offset order, and
 * starts the next batch only once the listener's promise of the previous one settled. A loop that
 * has caught up registers with the partition and sleeps until the next append wakes it (no
 * polling); a paused loop simply does not re-register, so idle and paused partitions cost nothing.
 * Different partitions have different loops and so are delivered concurrently.
 */

import type { AppendWaiter, MemoryPartition } from './memory-partition.js';
import type { LogRecord, TopicPartition } from './port.js';

export interface FetcherSettings {
  maxBatchRecords: number;
  /** Delay before a batch whose `onRecords` rejected is delivered again. */
  retryDelayMs: number;
  deliver(partition: TopicPartition, records: LogRecord[]): Promise<void>;
  /** Told about every rejected `onRecords`; the batch is then redelivered. */
  onDeliveryError(error: unknown): void;
}

/**
 * Consecutive batches delivered without giving the event loop a turn. A listener that resolves
 * at once would otherwise keep a backlog in one long chain of microtasks, starving I/O.
 */
const BATCHES_BEFORE_YIELD = 16;

const SETTLED: Promise<void> = Promise.resolve();

export class PartitionFetcher implements AppendWaiter {
  /** The object handed to every callback of this partition. */
  readonly topicPartition: TopicPartition;
  private position = 0;
  private active = false;
  private paused = false;
  private scheduled = false;
  private inFlight: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private yieldHandle: NodeJS.Immediate | null = null;
  private streak = 0;

  constructor(
    readonly partition: MemoryPartition,
    private readonly settings: FetcherSettings,
  ) {
    this.topicPartition = { topic: partition.topic, partition: partition.index };
  }

  /** Starts delivering at `position` (clamped to what is retained). */
  start(position: number): void {
    this.position = position;
    this.active = true;
    this.pump();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.wake();
  }

  /** Schedules a delivery attempt in a microtask (coalesced). */
  wake(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(this.onScheduled);
  }

  /**
   * Stops delivering; resolves once the batch in flight (if any) has settled, so the caller can
   * call `onRevoked` strictly after the partition's last `onRecords`.
   */
  stop(): Promise<void> {
    this.active = false;
    this.partition.cancelWait(this);
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.yieldHandle !== null) clearImmediate(this.yieldHandle);
    this.retryTimer = null;
    this.yieldHandle = null;
    return this.inFlight ?? SETTLED;
  }

  private readonly onScheduled = (): void => {
    this.scheduled = false;
    this.pump();
  };

  private readonly onYielded = (): void => {
    this.yieldHandle = null;
    this.pump();
  };

  private readonly onRetry = (): void => {
    this.retryTimer = null;
    this.pump();
  };

  private pump(): void {
    if (!this.active || this.paused || this.inFlight !== null) return;
    if (this.retryTimer !== null || this.yieldHandle !== null) return;
    const partition = this.partition;
    // A member that fell behind the retention cap continues at the oldest record kept.
    if (this.position < partition.earliest) this.position = partition.earliest;
    if (this.position >= partition.end) {
      this.streak = 0;
      partition.waitForAppend(this);
      return;
    }
    const first = this.position;
    const batch = partition.read(first, this.settings.maxBatchRecords);
    this.position = first + batch.length;
    let delivered: Promise<void>;
    try {
      delivered = this.settings.deliver(this.topicPartition, batch);
    } catch (err) {
      delivered = Promise.reject(err);
    }
    this.inFlight = delivered.then(
      () => this.delivered(),
      (err: unknown) => this.failed(err, first),
    );
  }

  private delivered(): void {
    this.inFlight = null;
    if (!this.active) return;
    if (++this.streak >= BATCHES_BEFORE_YIELD) {
      this.streak = 0;
      this.yieldHandle = setImmediate(this.onYielded);
      return;
    }
    this.pump();
  }

  /** At-least-once: the failed batch is delivered again, from its first record, after a delay. */
  private failed(err: unknown, first: number): void {
    this.inFlight = null;
    this.settings.onDeliveryError(err);
    if (!this.active) return;
    this.position = first;
    this.retryTimer = setTimeout(this.onRetry, this.settings.retryDelayMs);
  }
}
