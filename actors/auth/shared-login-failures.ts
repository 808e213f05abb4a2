/**
 * Failed-login counts shared by every gateway of a cluster (docs/protocol.md: more than 10 failed
 * logins a minute for one username, or 100 from one client address, are `rate_limited`), so
 * that spreading guesses over N gateways does not buy N times the attempts.
 *
 * Counts are SharedCounts (shared-counts.ts: one counter per key and fixed window, failing open)
 * under `login-fail:u:<username>` and `login-fail:a:<address>`. The gateway's own LoginLimiter
 * still runs beside it: it counts attempts under way and windows that start at a key's first
 * failure; this adds what the other gateways saw.
 */
import { TroupeError } from '../../transport/errors.js';
import type { Cache } from '../../transport/presence/port.js';
import type { Logger } from '../runtime/logger.js';
import { addressKey } from './login-limiter.js';
import { SharedCounts } from './shared-counts.js';

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
  private readonly counts: SharedCounts;

  constructor(private readonly options: SharedLoginFailuresOptions) {
    this.counts = new SharedCounts({ ...options, what: 'failed logins' });
  }

  /** Throws `rate_limited` (with `retryAfterMs`) when the cluster has seen too many failures. */
  async check(username: string | null, address: string): Promise<void> {
    const { failedLoginsPerUsername: perUser, failedLoginsPerAddress: perAddress } = this.options;
    const keys = [addressCounter(address)];
    if (username !== null) keys.push(usernameCounter(username));
    const seen = await this.counts.read(keys);
    if (seen === null) return;
    const [byAddress = 0, byUsername = 0] = seen.counts;
    if ((perAddress > 0 && byAddress >= perAddress) || (perUser > 0 && byUsername >= perUser)) {
      throw new TroupeError('rate_limited', 'too many failed logins; try again later', { retryAfterMs: seen.retryAfterMs });
    }
  }

  /** Counts one failure for the address, and for the username unless it is null. */
  async record(username: string | null, address: string): Promise<void> {
    const keys: string[] = [];
    if (this.options.failedLoginsPerAddress > 0) keys.push(addressCounter(address));
    if (username !== null && this.options.failedLoginsPerUsername > 0) keys.push(usernameCounter(username));
    if (keys.length > 0) await this.counts.add(keys);
  }
}

function usernameCounter(username: string): string {
  return `login-fail:u:${username}`;
}

function addressCounter(address: string): string {
  return `login-fail:a:${addressKey(address)}`;
}
