/**
 * The presence and cache ports (docs/architecture.md, "Store": Redis holds presence and hot caches).
 *
 * Implementations: `memory.ts` (embedded mode) and, in cluster mode, Redis through ioredis.
 * Both pass spec/contract/presence.contract.ts and spec/contract/cache.contract.ts.
 *
 * Presence maps a user to the connections it has open, each with the gateway that holds it.
 * Guarantees:
 * - **Expiry.** An entry lives until `ttlMs` after it was last added or refreshed, then it is
 *   gone from every lookup; so the entries of a gateway that died vanish by themselves while a
 *   live gateway keeps its own alive with `refresh`. One user's entries expire independently.
 * - **Visibility.** Once `add` resolves, every later `lookup` (from any node) sees the entry;
 *   once `remove` resolves, none does.
 * - **Batching.** `lookup` answers for many users in one round trip; users with no live entry
 *   are absent from the result.
 * - **Errors.** `unavailable` (retriable) when the backing store cannot be reached.
 */

export interface PresenceEntry {
  connId: string;
  gatewayId: string;
}

export interface Presence {
  add(userId: string, entry: PresenceEntry, ttlMs: number): Promise<void>;
  remove(userId: string, connId: string): Promise<void>;
  /** Extends the expiry of the given entries (a gateway's heartbeat for its connections). */
  refresh(entries: Array<{ userId: string; connId: string }>, ttlMs: number): Promise<void>;
  /** Live entries of each user that has any. */
  lookup(userIds: readonly string[]): Promise<Map<string, PresenceEntry[]>>;
  close(): Promise<void>;
}

/**
 * A string cache with per-key expiry. Guarantees: a value set is returned by `get` until its
 * TTL runs out or it is deleted; a missing or expired key reads as null. Cached values are
 * hints: callers must tolerate their loss at any time.
 */
export interface Cache {
  get(key: string): Promise<string | null>;
  getMany(keys: readonly string[]): Promise<Array<string | null>>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  del(key: string): Promise<void>;
  /**
   * Adds 1 to the integer counter `key` atomically (across every caller of the same store) and
   * returns the new count. A missing or expired key starts at 0 and gets `ttlMs`; incrementing
   * an existing counter keeps its expiry, so a counter counts within a fixed window. For
   * counts that must be shared by nodes, such as failed logins.
   */
  increment(key: string, ttlMs: number): Promise<number>;
  close(): Promise<void>;
}
