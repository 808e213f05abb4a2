/**
 * Failed-login counts shared by every gateway of a cluster (docs/protocol.md: more than 10 failed
 * logins a minute for one username, or 100 from one client address, are `rate_limited`), so
 * that spreading guesses over N gateways does not buy N times the attempts.
 *
 * Counts live in the Cache port's atomic counters, one per key and per fixed one-minute window
 * (`login-fail:u:<username>:<window>`, `login-fail:a:<address>:<window>`), which expire by
 * themselves. The gateway's own LoginLimiter still runs beside it: it counts attempts under way
 * and windows that start at a key's first failure; this adds what the other gateways saw. Fixed
 * windows let a key that failed at the end of one window fail again at the start of the next,
 * at most twice the limit across a window boundary; the local limiter narrows that per gateway.
 *
 * A cache that cannot be reached is logged and ignored (fail open): logins must not stop when
 * Redis does, and the local limits still hold.
 */
import { TroupeError } from '../../transport/errors.js';
import type { Cache } from '../../transport/presence/port.js';
import type { Logger } from '../runtime/logger.js';
import { addressKey } from './login-limiter.js';

export interface SharedLoginFailuresOptions {
  cache: Cache;
  /** 0 disables the username limit. */
  failedLoginsPerUsername: number;
  /** 0 disables the address limit. */
  failedLoginsPerAddress: number;
  /** Default one minute. */
  windowMs?: number;
  now?: () => number;
  logger: Logger;
}

export class SharedLoginFailures {
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(private readonly options: SharedLoginFailuresOptions) {
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Throws `rate_limited` (with `retryAfterMs`) when the cluster has seen too many failures. */
  async check(username: string | null, address: string): Promise<void> {
    const { failedLoginsPerUsername: perUser, failedLoginsPerAddress: perAddress } = this.options;
    const now = this.now();
    const window = Math.floor(now / this.windowMs);
    const keys = [this.addressCounter(address, window)];
    if (username !== null) keys.push(this.usernameCounter(username, window));
    let counts: Array<string | null>;
    try {
      counts = await this.options.cache.getMany(keys);
    } catch (err) {
      this.options.logger.warn('shared login failure counts unavailable; local limits only', { error: (err as Error).message });
      return;
    }
    const byAddress = Number(counts[0] ?? 0);
    const byUsername = Number(counts[1] ?? 0);
    if ((perAddress > 0 && byAddress >= perAddress) || (perUser > 0 && byUsername >= perUser)) {
      throw new TroupeError('rate_limited', 'too many failed logins; try again later', { retryAfterMs: (window + 1) * this.windowMs - now });
    }
  }

  /** Counts one failure for the address, and for the username unless it is null. */
  async record(username: string | null, address: string): Promise<void> {
    const window = Math.floor(this.now() / this.windowMs);
    const counting: Array<Promise<number>> = [];
    if (this.options.failedLoginsPerAddress > 0) counting.push(this.options.cache.increment(this.addressCounter(address, window), this.windowMs));
    if (username !== null && this.options.failedLoginsPerUsername > 0) {
      counting.push(this.options.cache.increment(this.usernameCounter(username, window), this.windowMs));
    }
    try {
      await Promise.all(counting);
    } catch (err) {
      this.options.logger.warn('could not count a failed login in the shared cache', { error: (err as Error).message });
    }
  }

  private usernameCounter(username: string, window: number): string {
    return `login-fail:u:${username}:${window}`;
  }

  private addressCounter(address: string, window: number): string {
    return `login-fail:a:${addressKey(address)}:${window}`;
  }
}
