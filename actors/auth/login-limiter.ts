import { isIPv4, isIPv6 } from 'node:net';
import { TroupeError } from '../../transport/errors.js';

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

/** Suggested wait when only attempts still under way stand in the way (they settle fast). */
const PENDING_RETRY_MS = 1000;

interface Window {
  start: number;
  count: number;
}

/**
 * Failed-login counts per key in fixed windows that start at a key's first failure.
 *
 * The map is kept in order of window start (a new window is re-inserted at the end), so expired
 * windows are always at its front: each write drops them from there, in time proportional to
 * what it drops, and past `maxEntries` the oldest go first. Memory is thus bounded by the keys
 * that failed within one window, and by `maxEntries` in any case.
 */
class FailureWindows {
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

/**
 * Limits failed logins (docs/protocol.md, `rate_limited`): by default 10 a minute per username and
 * 100 a minute per client address. Only failures count, so successful logins and registrations
 * are never limited (load testers log in thousands of users from one address).
 *
 * IPv6 addresses are counted per /64, the block one client usually holds, so that hopping
 * addresses within it does not evade the limit; IPv4-mapped IPv6 counts as the IPv4 address.
 */
export class LoginLimiter {
  private readonly byUsername: FailureWindows;
  private readonly byAddress: FailureWindows;
  private readonly now: () => number;

  constructor(options: LoginLimiterOptions) {
    const windowMs = options.windowMs ?? 60_000;
    const maxEntries = options.maxEntries ?? 100_000;
    this.byUsername = new FailureWindows(options.failedLoginsPerUsername, windowMs, maxEntries);
    this.byAddress = new FailureWindows(options.failedLoginsPerAddress, windowMs, maxEntries);
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
