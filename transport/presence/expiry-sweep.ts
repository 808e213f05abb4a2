/**
 * Background expiry for the in-process presence and cache (memory.ts, memory-cache.ts).
 *
 * Lookups drop the expired entries they meet; this sweep drops the ones nobody looks up again
 * (a user who never comes back), so memory stays bounded. It walks the map a slice at a time on
 * an unref'd timer, resuming where it stopped, so a map of millions of entries never pauses the
 * event loop for a full pass and the timer never holds the process open.
 */
import { performance } from 'node:perf_hooks';

export interface ExpirySweepOptions {
  /** Time between two slices. */
  intervalMs: number;
  /** Map entries examined per slice. */
  batch: number;
}

export class ExpirySweep<K, V> {
  private cursor: Iterator<[K, V]> | undefined;
  private readonly timer: NodeJS.Timeout;

  /** `expired(key, value, now)` may trim `value` in place; it returns true when the whole entry is to go. */
  constructor(
    private readonly map: Map<K, V>,
    private readonly expired: (key: K, value: V, now: number) => boolean,
    private readonly options: ExpirySweepOptions,
  ) {
    this.timer = setInterval(() => this.step(), options.intervalMs);
    this.timer.unref();
  }

  /** Examines the next slice of the map (a Map iterator tolerates deletions while it walks). */
  step(now: number = performance.now()): void {
    this.cursor ??= this.map.entries();
    for (let examined = 0; examined < this.options.batch; examined++) {
      const next = this.cursor.next();
      if (next.done === true) {
        this.cursor = undefined;
        return;
      }
      const [key, value] = next.value;
      if (this.expired(key, value, now)) this.map.delete(key);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.cursor = undefined;
  }
}
