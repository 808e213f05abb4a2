import { randomId } from '../transport/random-id.js';

/**
 * A new opaque id: `<prefix>_` followed by 16 url-safe characters (96 random bits), e.g.
 * `u_3hF0c9Qm2Zk1xYtB`. Prefixes say what the id names: `u` user, `c` conversation,
 * `m` message, `f` refresh-token family. 96 bits make collisions negligible at any volume
 * Troupe will see, and the ids stay short enough to key maps and rows cheaply.
 */
export function newId(prefix: string): string {
  return `${prefix}_${randomId(12)}`;
}

/** Every user id starts with this; conversation ids do not (upstream keys tell actors apart by it). */
export const USER_ID_PREFIX = 'u_';
