/**
 * A token bucket: `burst` tokens at most, refilled at `perSecond`. Two numbers per connection
 * and no timers: the refill is computed from the time of each take.
 *
 * The rate is read from `rate` at every take, not copied: the gateway passes a view of the
 * shared configuration, so a limit changed at runtime (config/live-keys.ts) reaches open
 * connections at their next frame. A smaller burst trims the tokens saved up; a new refill
 * rate counts from the last take.
 */

/** The limits of a bucket, read at each take. */
export interface RateLimit {
  readonly burst: number;
  readonly perSecond: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: RateLimit,
    now: number,
  ) {
    this.tokens = rate.burst;
    this.last = now;
  }

  /** Takes one token if there is one. */
  take(now: number): boolean {
    const { burst, perSecond } = this.rate;
    const elapsed = now - this.last;
    let tokens = this.tokens;
    if (elapsed > 0) {
      tokens += (elapsed * perSecond) / 1000;
      this.last = now;
    }
    if (tokens > burst) tokens = burst;
    if (tokens < 1) {
      this.tokens = tokens;
      return false;
    }
    this.tokens = tokens - 1;
    return true;
  }
}
