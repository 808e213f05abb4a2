/**
 * Windowed counts per key behind Troupe's per-key limits: failed logins (login-limiter.ts) and
 * username look-ups (lookup-limiter.ts) are limited by the same windows.
 */
/** Suggested wait when only attempts still under way stand in the way (they settle fast). */
const PENDING_RETRY_MS = 1000;

interface Window {
  start: number;
  count: number;
}

/**
 * Counts per key (failed logins, username look-ups) in fixed windows that start at a key's first
 * count, with a limit per window.
 *
 * The map is kept in order of window start (a new window is re-inserted at the end), so expired
 * windows are always at its front: each write drops them from there, in time proportional to
 * what it drops, and past `maxEntries` the oldest go first. Memory is thus bounded by the keys
 * counted within one window, and by `maxEntries` in any case.
 */
export class CountWindows {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.windows.size;
  }

  /** Attempts under way per key (held between `hold` and `release`). */
  private readonly pending = new Map<string, number>();

  /**
   * Ms until `key` may try again, or 0 when it may. Attempts still under way count as failures
   * that may yet happen: always when `strict`, otherwise only once the key has failed in this
   * window (so a clean key is never held back by its own successful logins in parallel).
   */
  retryAfter(key: string, now: number, strict = false): number {
    if (this.limit <= 0) return 0;
    const w = this.windows.get(key);
    const count = w !== undefined && now < w.start + this.windowMs ? w.count : 0;
    if (w !== undefined && count >= this.limit) return w.start + this.windowMs - now;
    const inFlight = this.pending.get(key) ?? 0;
    if (inFlight > 0 && (strict || count > 0) && count + inFlight >= this.limit) return PENDING_RETRY_MS;
    return 0;
  }

  hold(key: string): void {
    if (this.limit > 0) this.pending.set(key, (this.pending.get(key) ?? 0) + 1);
  }

  release(key: string): void {
    const inFlight = this.pending.get(key);
    if (inFlight === undefined) return;
    if (inFlight <= 1) this.pending.delete(key);
    else this.pending.set(key, inFlight - 1);
  }

  record(key: string, now: number): void {
    if (this.limit <= 0) return;
    const w = this.windows.get(key);
    if (w !== undefined && now < w.start + this.windowMs) {
      w.count++;
    } else {
      if (w !== undefined) this.windows.delete(key);
      this.windows.set(key, { start: now, count: 1 });
    }
    this.evict(now);
  }

  private evict(now: number): void {
    for (const [key, w] of this.windows) {
      if (w.start + this.windowMs > now && this.windows.size <= this.maxEntries) break;
      this.windows.delete(key);
    }
  }
}
