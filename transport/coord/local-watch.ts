/**
 * Watch delivery for the in-process coordinator (local.ts): a bounded history of recent events
 * for `fromRevision` replays, and per-watch queues that hand events to listeners
 * asynchronously, in revision order, each exactly once.
 */
import { TroupeError } from '../errors.js';
import type { WatchEvent, Watcher } from './port.js';

/** Events kept for replays by default: a watch may start this many changes in the past. */
export const DEFAULT_HISTORY_LIMIT = 10_000;

function revisionOf(event: WatchEvent): number {
  return event.type === 'put' ? event.kv.modRevision : event.modRevision;
}

/** Rethrows a listener's error outside the delivery loop (like a throwing EventEmitter listener). */
function rethrowLater(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}

/**
 * One watch. Events are queued synchronously as the store changes and delivered in a
 * microtask, so a listener never runs inside a store operation, yet sees every change in the
 * order the store made them. A listener must not throw: its error is rethrown as an uncaught
 * exception, and later events are still delivered.
 */
class LocalWatch implements Watcher {
  private queue: WatchEvent[] = [];
  private scheduled = false;
  private active = true;

  constructor(
    readonly prefix: string,
    private readonly listener: (event: WatchEvent) => void,
    private readonly unregister: (watch: LocalWatch) => void,
  ) {}

  enqueue(event: WatchEvent): void {
    if (!this.active) return;
    this.queue.push(event);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.drain);
    }
  }

  /** Stops delivery at once: events already queued are dropped. Idempotent. */
  stop(): void {
    this.active = false;
    this.queue = [];
  }

  async cancel(): Promise<void> {
    if (!this.active) return;
    this.stop();
    this.unregister(this);
  }

  /** Events queued while the listener runs go to a fresh queue and a later drain, after these. */
  private readonly drain = (): void => {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const event of batch) {
      if (!this.active) return;
      try {
        this.listener(event);
      } catch (err) {
        rethrowLater(err);
      }
    }
  };
}

/**
 * The watches of one store and the history they replay from. The history is a ring of the last
 * `historyLimit` events; a watch asking to start before it rejects with `not_found` (not
 * retriable: the caller reads again with `getPrefix` and watches from the revision it returns),
 * as etcd answers a watch from a compacted revision.
 */
export class WatchHub {
  private readonly ring: Array<WatchEvent | undefined>;
  /** Index of the oldest event in `ring`. */
  private start = 0;
  private size = 0;
  /** Every event with a larger revision is still in the history. */
  private compactedRevision = 0;
  private readonly watches = new Set<LocalWatch>();

  constructor(historyLimit: number = DEFAULT_HISTORY_LIMIT) {
    if (!Number.isSafeInteger(historyLimit) || historyLimit < 1) {
      throw new TroupeError('invalid_argument', `watch history limit must be a positive integer, got ${historyLimit}`);
    }
    this.ring = new Array<WatchEvent | undefined>(historyLimit);
  }

  /** Records a change and queues it for every watch whose prefix matches its key. */
  publish(event: WatchEvent): void {
    const capacity = this.ring.length;
    if (this.size === capacity) {
      const dropped = this.ring[this.start];
      if (dropped !== undefined) this.compactedRevision = revisionOf(dropped);
      this.ring[this.start] = event;
      this.start = (this.start + 1) % capacity;
    } else {
      this.ring[(this.start + this.size) % capacity] = event;
      this.size++;
    }
    const key = event.type === 'put' ? event.kv.key : event.key;
    for (const watch of this.watches) {
      if (key.startsWith(watch.prefix)) watch.enqueue(event);
    }
  }

  /** Starts a watch; with `fromRevision`, the kept changes after it are queued first. */
  watch(prefix: string, listener: (event: WatchEvent) => void, fromRevision?: number): Watcher {
    if (fromRevision !== undefined) {
      if (!Number.isSafeInteger(fromRevision) || fromRevision < 0) {
        throw new TroupeError('invalid_argument', `fromRevision must be a non-negative integer, got ${fromRevision}`);
      }
      if (fromRevision < this.compactedRevision) {
        throw new TroupeError(
          'not_found',
          `revision ${fromRevision} is older than the kept watch history (compacted at ${this.compactedRevision}); ` +
            'read again with getPrefix and watch from its revision',
          { retriable: false },
        );
      }
    }
    const watch = new LocalWatch(prefix, listener, (w) => this.watches.delete(w));
    if (fromRevision !== undefined) this.replay(watch, fromRevision);
    this.watches.add(watch);
    return watch;
  }

  /** Stops every watch (the store is closing). */
  closeAll(): void {
    for (const watch of this.watches) watch.stop();
    this.watches.clear();
  }

  private replay(watch: LocalWatch, fromRevision: number): void {
    const capacity = this.ring.length;
    for (let i = 0; i < this.size; i++) {
      const event = this.ring[(this.start + i) % capacity];
      if (event === undefined || revisionOf(event) <= fromRevision) continue;
      const key = event.type === 'put' ? event.kv.key : event.key;
      if (key.startsWith(watch.prefix)) watch.enqueue(event);
    }
  }
}
