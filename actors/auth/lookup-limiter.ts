/**
 * Limits username look-ups (`GET /v1/users?username=`, docs/protocol.md) per caller, so that
 * usernames cannot be enumerated quickly: by default 10 a minute for one user, as many as the
 * failed logins one username may have. Every look-up counts, found or not (an answer that finds
 * someone tells as much as one that does not), and it counts before it is answered, so parallel
 * look-ups cannot outrun the limit.
 *
 * The counts are the ones failed logins use: the gateway's own CountWindows and, in a cluster,
 * SharedCounts too (the caller's look-ups on every gateway, so spreading them over gateways does
 * not raise the limit; a cache that cannot be reached leaves the local limit alone in force).
 */
import { TroupeError } from '../../transport/errors.js';
import type { Cache } from '../../transport/presence/port.js';
import type { Logger } from '../runtime/logger.js';
import { CountWindows } from './count-windows.js';
import { SharedCounts } from './shared-counts.js';

export interface LookupLimiterOptions {
  /** Look-ups per window for one caller before `rate_limited`. */
  lookupsPerCaller: number;
  /** Window length in ms. Default one minute. */
  windowMs?: number;
  /** Callers remembered at most; the oldest windows are dropped past it. Default 100,000. */
  maxEntries?: number;
  now?: () => number;
  /** Counters shared with the other gateways of a cluster; absent: this gateway counts alone. */
  shared?: { cache: Cache; logger: Logger };
}

export class LookupLimiter {
  private readonly local: CountWindows;
  private readonly shared: SharedCounts | undefined;
  private readonly now: () => number;

  constructor(private readonly options: LookupLimiterOptions) {
    const windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.local = new CountWindows(options.lookupsPerCaller, windowMs, options.maxEntries ?? 100_000);
    this.shared = options.shared === undefined ? undefined : new SharedCounts({ ...options.shared, windowMs, now: this.now, what: 'username look-ups' });
  }

  /** Counts one look-up by `callerId`; throws `rate_limited` (with `retryAfterMs`) past the limit. */
  async take(callerId: string): Promise<void> {
    const now = this.now();
    const wait = this.local.retryAfter(callerId, now);
    if (wait > 0) throw limited(wait);
    this.local.record(callerId, now);
    const seen = await this.shared?.add([`user-lookup:${callerId}`]);
    if (seen !== undefined && seen !== null && (seen.counts[0] ?? 0) > this.options.lookupsPerCaller) throw limited(seen.retryAfterMs);
  }
}

function limited(retryAfterMs: number): TroupeError {
  return new TroupeError('rate_limited', 'too many username look-ups; try again later', { retryAfterMs });
}
