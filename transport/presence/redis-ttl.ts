/**
 * TTL arguments of the Redis presence and cache: the port takes any positive number of ms, Redis
 * (PEXPIRE, SET PX) takes whole ms, so a fraction is rounded up: an entry never lives shorter
 * than asked.
 */
import { TroupeError } from '../errors.js';

/** `ttlMs` as a whole number of ms for Redis; `invalid_argument` unless it is a positive number. */
export function redisTtlMs(ttlMs: number, what: string): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new TroupeError('invalid_argument', `${what} TTL must be a positive number of ms, got ${ttlMs}`);
  }
  return Math.ceil(ttlMs);
}
