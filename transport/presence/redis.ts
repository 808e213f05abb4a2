/**
 * The cluster mode's presence: the Presence port on Redis through ioredis (see port.ts).
 *
 * One hash per user under `<keyPrefix>presence:<userId>`, mapping each connection to its gateway
 * and expiry; the scripts in redis-presence-scripts.ts keep every field's expiry independent
 * and the key's own expiry at the latest of them, on the Redis server's clock. So a lookup of
 * any number of users is one round trip (one script call per chunk of users, the chunks
 * pipelined), a refresh of a gateway's connections likewise, and `add`/`remove` are one
 * command each.
 *
 * The client may be shared with other users of the same Redis (RedisCache); it should follow
 * the fail-fast policy of redis-connection.ts (use `connectRedis`), which is what turns a
 * server that is down into prompt `unavailable` rejections. After `close()` every call rejects
 * with `closed`.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import { TroupeError } from '../errors.js';
import type { Presence, PresenceEntry } from './port.js';
import { closeRedis, connectRedis, redisFailure, type RedisConnectOptions } from './redis-connection.js';
import { definePresenceScripts } from './redis-presence-scripts.js';
import { redisTtlMs } from './redis-ttl.js';

export interface RedisPresenceOptions {
  /** Prepended to every key, e.g. `troupe:<cluster>:`. */
  keyPrefix: string;
  /** Users (or entries) per script call in a lookup (or refresh). Default 500. */
  scriptBatch?: number;
  /** `close()` also closes the client. Default false: a client passed in belongs to the caller. */
  closeClient?: boolean;
}

export class RedisPresence implements Presence {
  private readonly keyPrefix: string;
  private readonly scriptBatch: number;
  private readonly closeClient: boolean;
  private closed = false;

  /** A presence on its own client, which `close()` closes; rejects with `unavailable` if Redis cannot be reached. */
  static async connect(url: string, options: RedisPresenceOptions & RedisConnectOptions): Promise<RedisPresence> {
    const client = await connectRedis(url, options);
    return new RedisPresence(client, { ...options, closeClient: true });
  }

  constructor(
    private readonly client: Redis,
    options: RedisPresenceOptions,
  ) {
    definePresenceScripts(client);
    this.keyPrefix = `${options.keyPrefix}presence:`;
    this.scriptBatch = Math.max(1, options.scriptBatch ?? 500);
    this.closeClient = options.closeClient ?? false;
  }

  /** Adding a connection that is already present replaces its entry and restarts its TTL. */
  async add(userId: string, entry: PresenceEntry, ttlMs: number): Promise<void> {
    this.assertOpen();
    const ttl = redisTtlMs(ttlMs, 'presence');
    try {
      await this.client.troupePresenceAdd(this.keyPrefix + userId, entry.connId, entry.gatewayId, ttl);
    } catch (err) {
      throw this.failure(err, 'add');
    }
  }

  async remove(userId: string, connId: string): Promise<void> {
    this.assertOpen();
    try {
      await this.client.hdel(this.keyPrefix + userId, connId);
    } catch (err) {
      throw this.failure(err, 'remove');
    }
  }

  /** Entries that were removed or have already expired stay gone: refresh never revives them. */
  async refresh(entries: Array<{ userId: string; connId: string }>, ttlMs: number): Promise<void> {
    this.assertOpen();
    const ttl = redisTtlMs(ttlMs, 'presence');
    if (entries.length === 0) return;
    try {
      if (entries.length <= this.scriptBatch) {
        await this.client.troupePresenceRefresh(entries.length, ...this.refreshArgs(entries, 0, entries.length, ttl));
        return;
      }
      const pipeline = this.client.pipeline();
      for (let start = 0; start < entries.length; start += this.scriptBatch) {
        const end = Math.min(start + this.scriptBatch, entries.length);
        pipeline.troupePresenceRefresh(end - start, ...this.refreshArgs(entries, start, end, ttl));
      }
      await runPipeline(pipeline);
    } catch (err) {
      throw this.failure(err, 'refresh');
    }
  }

  async lookup(userIds: readonly string[]): Promise<Map<string, PresenceEntry[]>> {
    this.assertOpen();
    const result = new Map<string, PresenceEntry[]>();
    if (userIds.length === 0) return result;
    try {
      if (userIds.length <= this.scriptBatch) {
        const reply = await this.client.troupePresenceLookup(userIds.length, ...this.keysOf(userIds, 0, userIds.length));
        readLookupReply(reply, userIds, 0, result);
        return result;
      }
      const pipeline = this.client.pipeline();
      for (let start = 0; start < userIds.length; start += this.scriptBatch) {
        const end = Math.min(start + this.scriptBatch, userIds.length);
        pipeline.troupePresenceLookup(end - start, ...this.keysOf(userIds, start, end));
      }
      const replies = await runPipeline(pipeline);
      for (let chunk = 0; chunk < replies.length; chunk++) {
        readLookupReply(replies[chunk] as Array<string | number>, userIds, chunk * this.scriptBatch, result);
      }
      return result;
    } catch (err) {
      throw this.failure(err, 'lookup');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.closeClient) await closeRedis(this.client);
  }

  private keysOf(userIds: readonly string[], start: number, end: number): string[] {
    const keys = new Array<string>(end - start);
    for (let i = start; i < end; i++) keys[i - start] = this.keyPrefix + (userIds[i] as string);
    return keys;
  }

  /** The user keys of entries[start, end), then the TTL, then their connIds (the refresh script's arguments). */
  private refreshArgs(entries: ReadonlyArray<{ userId: string; connId: string }>, start: number, end: number, ttl: number): Array<string | number> {
    const n = end - start;
    const args = new Array<string | number>(2 * n + 1);
    for (let i = 0; i < n; i++) {
      const entry = entries[start + i] as { userId: string; connId: string };
      args[i] = this.keyPrefix + entry.userId;
      args[n + 1 + i] = entry.connId;
    }
    args[n] = ttl;
    return args;
  }

  private assertOpen(): void {
    if (this.closed) throw new TroupeError('closed', 'the presence store is closed');
  }

  private failure(err: unknown, doing: string): TroupeError {
    if (this.closed) return new TroupeError('closed', 'the presence store is closed', { cause: err });
    return redisFailure(err, `presence ${doing}`);
  }
}

/** Adds the users of one lookup script reply (see redis-presence-scripts.ts) to `result`. */
function readLookupReply(reply: ReadonlyArray<string | number>, userIds: readonly string[], offset: number, result: Map<string, PresenceEntry[]>): void {
  let at = 0;
  for (let i = offset; at < reply.length; i++) {
    const count = Number(reply[at++]);
    if (count === 0) continue;
    const entries = new Array<PresenceEntry>(count);
    for (let j = 0; j < count; j++, at += 2) {
      entries[j] = { connId: String(reply[at]), gatewayId: String(reply[at + 1]) };
    }
    result.set(userIds[i] as string, entries);
  }
}

/** The replies of a pipeline, throwing the first command error. */
async function runPipeline(pipeline: ChainableCommander): Promise<unknown[]> {
  const replies = await pipeline.exec();
  if (replies === null) throw new TroupeError('internal', 'Redis: a presence pipeline was aborted');
  const values = new Array<unknown>(replies.length);
  for (let i = 0; i < replies.length; i++) {
    const [err, value] = replies[i] as [Error | null, unknown];
    if (err !== null) throw err;
    values[i] = value;
  }
  return values;
}
