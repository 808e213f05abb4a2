/**
 * The cluster mode's hot cache: the Cache port on Redis through ioredis (see port.ts).
 *
 * Each key is a Redis string under `<keyPrefix>cache:<key>`, set with PX so that Redis itself
 * expires it; `getMany` is one MGET. The client may be shared (with RedisPresence) and should
 * follow the fail-fast policy of redis-connection.ts: a server that is down turns into prompt
 * `unavailable` rejections, which callers may treat as misses, since cached values are hints.
 * After `close()` every call rejects with `closed`.
 */
import type { Redis } from 'ioredis';
import { TroupeError } from '../errors.js';
import type { Cache } from './port.js';
import { closeRedis, connectRedis, redisFailure, type RedisConnectOptions } from './redis-connection.js';
import { redisTtlMs } from './redis-ttl.js';

export interface RedisCacheOptions {
  /** Prepended to every key, e.g. `troupe:<cluster>:`. */
  keyPrefix: string;
  /** `close()` also closes the client. Default false: a client passed in belongs to the caller. */
  closeClient?: boolean;
}

export class RedisCache implements Cache {
  private readonly keyPrefix: string;
  private readonly closeClient: boolean;
  private closed = false;

  /** A cache on its own client, which `close()` closes; rejects with `unavailable` if Redis cannot be reached. */
  static async connect(url: string, options: RedisCacheOptions & RedisConnectOptions): Promise<RedisCache> {
    const client = await connectRedis(url, options);
    return new RedisCache(client, { ...options, closeClient: true });
  }

  constructor(
    private readonly client: Redis,
    options: RedisCacheOptions,
  ) {
    this.keyPrefix = `${options.keyPrefix}cache:`;
    this.closeClient = options.closeClient ?? false;
  }

  async get(key: string): Promise<string | null> {
    this.assertOpen();
    try {
      return await this.client.get(this.keyPrefix + key);
    } catch (err) {
      throw this.failure(err, 'get');
    }
  }

  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    this.assertOpen();
    if (keys.length === 0) return [];
    const prefixed = new Array<string>(keys.length);
    for (let i = 0; i < keys.length; i++) prefixed[i] = this.keyPrefix + (keys[i] as string);
    try {
      return await this.client.mget(prefixed);
    } catch (err) {
      throw this.failure(err, 'getMany');
    }
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.assertOpen();
    const ttl = redisTtlMs(ttlMs, 'cache');
    try {
      await this.client.set(this.keyPrefix + key, value, 'PX', ttl);
    } catch (err) {
      throw this.failure(err, 'set');
    }
  }

  /**
   * INCR and PEXPIRE … NX in one MULTI (one round trip, atomic): only a counter without an
   * expiry, i.e. one this call created, gets the window. Needs Redis 7 (PEXPIRE NX).
   */
  async increment(key: string, ttlMs: number): Promise<number> {
    this.assertOpen();
    const ttl = redisTtlMs(ttlMs, 'cache');
    const full = this.keyPrefix + key;
    let replies: Array<[Error | null, unknown]> | null;
    try {
      replies = await this.client.multi().incr(full).pexpire(full, ttl, 'NX').exec();
    } catch (err) {
      throw this.failure(err, 'increment');
    }
    const [incr] = replies ?? [];
    if (incr === undefined || incr[0] !== null || typeof incr[1] !== 'number') {
      throw this.failure(incr?.[0] ?? new Error('transaction aborted'), 'increment');
    }
    return incr[1];
  }

  async del(key: string): Promise<void> {
    this.assertOpen();
    try {
      await this.client.del(this.keyPrefix + key);
    } catch (err) {
      throw this.failure(err, 'del');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.closeClient) await closeRedis(this.client);
  }

  private assertOpen(): void {
    if (this.closed) throw new TroupeError('closed', 'the cache is closed');
  }

  private failure(err: unknown, doing: string): TroupeError {
    if (this.closed) return new TroupeError('closed', 'the cache is closed', { cause: err });
    return redisFailure(err, `cache ${doing}`);
  }
}
