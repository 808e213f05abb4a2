/**
 * How the cluster mode's Redis clients (presence and cache, redis.ts and redis-cache.ts) are
 * configured, and how their failures read as TroupeErrors.
 *
 * The policy is **fail fast, reconnect in the background**: presence and cache callers (gateways,
 * conversation actors) have their own retry with backoff (errors.ts `retry`), and a call that
 * waits in a hidden client queue holds up a mailbox while telling nobody. So:
 * - `enableOfflineQueue: false`: a call made while the connection is down rejects at once
 *   (`unavailable`) instead of being queued until Redis comes back; nothing is replayed later,
 *   so an `add` the caller saw fail cannot reappear behind its back.
 * - `maxRetriesPerRequest: 0` and `autoResendUnfulfilledCommands: false`: calls in flight when
 *   the connection drops reject at once (`unavailable`, outcome unknown) and are not resent.
 * - `commandTimeout`: a server that stays connected but stops answering (paused, partitioned)
 *   fails calls after this long, also `unavailable`: the port promises only that code.
 * - `retryStrategy`: the client itself reconnects forever, with a capped backoff, so calls
 *   succeed again as soon as Redis is back.
 * - `lazyConnect`, then `connectRedis` awaits the first connection: with the offline queue off,
 *   a call made before the client is ready would fail.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { TroupeError } from '../errors.js';

export interface RedisConnectOptions {
  /** A call that gets no answer within this many ms fails with `unavailable`. Default 2000. */
  commandTimeoutMs?: number;
  /** Receives connection errors (for logs); they also reach callers as rejected calls. */
  onError?: (err: Error) => void;
}

/** The client options of the policy above; for callers that make their own ioredis client. */
export function redisClientOptions(options: RedisConnectOptions = {}): RedisOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.commandTimeoutMs ?? 2000,
    connectTimeout: 2000,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
  };
}

/** A ready client for `url` (redis://host:port[/db]); rejects with `unavailable` if it cannot connect. */
export async function connectRedis(url: string, options: RedisConnectOptions = {}): Promise<Redis> {
  const client = new Redis(url, redisClientOptions(options));
  // Without a listener ioredis prints every connection error to the console.
  client.on('error', options.onError ?? (() => {}));
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw redisFailure(err, `connect to Redis at ${url}`);
  }
  return client;
}

/** Closes a client made by connectRedis: QUIT when connected, else drops the socket and stops reconnecting. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

/** Errors a server can answer with while it cannot serve yet, all worth retrying. */
const RETRIABLE_REPLY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/;

/**
 * A thrown ioredis error as a TroupeError: a connection failure, a dropped connection or a
 * timeout is `unavailable` (retriable); an error reply is `internal` unless the server said it
 * is not ready yet.
 */
export function redisFailure(err: unknown, doing: string): TroupeError {
  if (err instanceof TroupeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const isReply = err instanceof Error && err.name === 'ReplyError';
  const code = isReply && !RETRIABLE_REPLY.test(message) ? 'internal' : 'unavailable';
  return new TroupeError(code, `Redis: ${doing} failed: ${message}`, { cause: err });
}
