import { isIPv4, isIPv6 } from 'node:net';
import { TroupeError } from '../../transport/errors.js';
import { CountWindows } from './count-windows.js';

export interface LoginLimiterOptions {
  /** Failed logins per window for one username before `rate_limited`; 0 disables. */
  failedLoginsPerUsername: number;
  /** Failed logins per window from one client address before `rate_limited`; 0 disables. */
  failedLoginsPerAddress: number;
  /** Window length in ms. Default one minute. */
  windowMs?: number;
  /** Keys remembered per kind at most; the oldest windows are dropped past it. Default 100,000. */
  maxEntries?: number;
  /** Clock in ms; injectable for tests. Default Date.now. */
  now?: () => number;
}

/**
 * Limits failed logins (docs/protocol.md, `rate_limited`): by default 10 a minute per username and
 * 100 a minute per client address. Only failures count, so successful logins and registrations
 * are never limited (load testers log in thousands of users from one address).
 *
 * IPv6 addresses are counted per /64, the block one client usually holds, so that hopping
 * addresses within it does not evade the limit; IPv4-mapped IPv6 counts as the IPv4 address.
 */
export class LoginLimiter {
  private readonly byUsername: CountWindows;
  private readonly byAddress: CountWindows;
  private readonly now: () => number;

  constructor(options: LoginLimiterOptions) {
    const windowMs = options.windowMs ?? 60_000;
    const maxEntries = options.maxEntries ?? 100_000;
    this.byUsername = new CountWindows(options.failedLoginsPerUsername, windowMs, maxEntries);
    this.byAddress = new CountWindows(options.failedLoginsPerAddress, windowMs, maxEntries);
    this.now = options.now ?? Date.now;
  }

  /** Throws `rate_limited` (with `retryAfterMs`) when either key is over its limit. */
  check(username: string, address: string): void {
    const now = this.now();
    const wait = Math.max(
      this.byUsername.retryAfter(username, now),
      this.byAddress.retryAfter(addressKey(address), now),
    );
    if (wait > 0) {
      throw new TroupeError('rate_limited', 'too many failed logins; try again later', { retryAfterMs: wait });
    }
  }

  /**
   * Starts a login attempt: throws `rate_limited` like `check`, except that attempts already
   * under way count too, so that parallel guesses cannot outrun the limit before their failures
   * are recorded. Per username they always count; per address only once the address has failed
   * in this window, so thousands of parallel successful logins from one load tester still pass.
   * Every `begin` must be followed by one `end`.
   */
  begin(username: string, address: string): void {
    const now = this.now();
    const addr = addressKey(address);
    const wait = Math.max(this.byUsername.retryAfter(username, now, true), this.byAddress.retryAfter(addr, now));
    if (wait > 0) {
      throw new TroupeError('rate_limited', 'too many failed logins; try again later', { retryAfterMs: wait });
    }
    this.byUsername.hold(username);
    this.byAddress.hold(addr);
  }

  /** Ends an attempt of `begin`; `failed` records it (the username only when `countUsername`). */
  end(username: string, address: string, failed: boolean, countUsername = true): void {
    const addr = addressKey(address);
    this.byUsername.release(username);
    this.byAddress.release(addr);
    if (failed) this.recordFailure(countUsername ? username : null, address);
  }

  /**
   * Counts one failed login. `username` may be null when the name given cannot exist (it is
   * then not worth a memory slot); the address is always counted.
   */
  recordFailure(username: string | null, address: string): void {
    const now = this.now();
    if (username !== null) this.byUsername.record(username, now);
    this.byAddress.record(addressKey(address), now);
  }

  /** Keys remembered now, per kind (for metrics and tests). */
  get trackedKeys(): { usernames: number; addresses: number } {
    return { usernames: this.byUsername.size, addresses: this.byAddress.size };
  }
}

/**
 * The key a client address is counted under: an IPv4 address as is, an IPv6 address as its
 * /64 prefix (`2001:db8:0:1::/64`), anything else (a Unix socket, an empty string) as given,
 * cut to 64 characters.
 */
export function addressKey(address: string): string {
  if (isIPv4(address)) return address;
  const bare = address.split('%', 1)[0] ?? address; // drop an IPv6 zone id
  if (!isIPv6(bare)) return address.slice(0, 64);
  const lower = bare.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped?.[1] !== undefined) return mapped[1];
  const [head = '', tail] = lower.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const groups = headGroups.slice(0, 4);
  if (groups.length < 4 && tail !== undefined) {
    const tailGroups = tail === '' ? [] : tail.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
    const zeros = 8 - headGroups.length - tailGroups.length;
    for (let i = 0; i < zeros && groups.length < 4; i++) groups.push('0');
    for (const g of tailGroups) {
      if (groups.length >= 4) break;
      groups.push(g);
    }
  }
  return `${groups.map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}
