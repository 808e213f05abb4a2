/**
 * Counters shared by every gateway of a cluster, so that a per-key limit holds for the cluster as
 * a whole: spreading attempts over N gateways must not buy N times the attempts. They back the
 * cluster-wide limits on failed logins (shared-login-failures.ts) and on username look-ups
 * (lookup-limiter.ts).
 *
 * Counts live in the Cache port's atomic counters, one per key and per fixed window
 * (`<key>:<window number>`), which expire by themselves. Fixed windows let a key counted at the
 * end of one window count again at the start of the next, at most twice a limit across a window
 * boundary; each gateway's local windows (count-windows.ts) narrow that.
 *
 * A cache that cannot be reached is logged and ignored (fail open): logins and look-ups must not
 * stop when Redis does, and the local limits still hold.
 */
import type { Cache } from '../../transport/presence/port.js';
import type { Logger } from '../runtime/logger.js';

export interface SharedCountsOptions {
  cache: Cache;
  /** Default one minute. */
  windowMs?: number;
  now?: () => number;
  logger: Logger;
  /** What is counted, for the log lines of a cache that cannot be reached (`failed logins`). */
  what: string;
}

/** Counts of the current window, and the ms until it ends (the wait a refusal suggests). */
export interface WindowCounts {
  counts: number[];
  retryAfterMs: number;
}

export class SharedCounts {
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(private readonly options: SharedCountsOptions) {
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** The counts of `keys` in the current window; null when the cache cannot be reached. */
  async read(keys: readonly string[]): Promise<WindowCounts | null> {
    const { window, retryAfterMs } = this.window();
    try {
      const counts = await this.options.cache.getMany(keys.map((key) => `${key}:${window}`));
      return { counts: counts.map((c) => Number(c ?? 0)), retryAfterMs };
    } catch (err) {
      this.options.logger.warn(`shared counts of ${this.options.what} unavailable; local limits only`, { error: (err as Error).message });
      return null;
    }
  }

  /** Adds one to each of `keys` in the current window: their new counts; null when the cache cannot be reached. */
  async add(keys: readonly string[]): Promise<WindowCounts | null> {
    const { window, retryAfterMs } = this.window();
    try {
      const counts = await Promise.all(keys.map((key) => this.options.cache.increment(`${key}:${window}`, this.windowMs)));
      return { counts, retryAfterMs };
    } catch (err) {
      this.options.logger.warn(`could not count ${this.options.what} in the shared cache`, { error: (err as Error).message });
      return null;
    }
  }

  private window(): { window: number; retryAfterMs: number } {
    const now = this.now();
    const window = Math.floor(now / this.windowMs);
    return { window, retryAfterMs: (window + 1) * this.windowMs - now };
  }
}
