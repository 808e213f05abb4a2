/**
 * The Redis presence and cache on a private redis-server (spec/services/redis.ts): the shared
 * Presence and Cache contracts, then what only the Redis implementations promise (keys that
 * expire by themselves in Redis, batches in one round trip, keys under their prefix only,
 * prompt `unavailable` while the server is down or hung, recovery when it is back, `closed`).
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { RedisCache } from '../../transport/presence/redis-cache.js';
import { closeRedis, connectRedis } from '../../transport/presence/redis-connection.js';
import { RedisPresence } from '../../transport/presence/redis.js';
import { describeCacheContract } from '../contract/cache.contract.js';
import { describePresenceContract } from '../contract/presence.contract.js';
import { startRedis, type RedisService } from '../../bin/services/redis.js';
import { expectTroupeRejection } from '../support/expect-rejection.js';
import { uniqueName, waitFor } from '../support/wait-for.js';

const LONG_TTL_MS = 60_000;
/** Long enough that a key is still there one command after it was set, even on a loaded machine. */
const SHORT_TTL_MS = 1000;

function uniquePrefix(): string {
  return `troupe:${uniqueName('spec')}:`;
}

describe('Redis presence and cache (redis-server)', function () {
  let redis: RedisService | undefined;
  /** A client of the test's own, to look at the keys behind the implementations' backs. */
  let raw: Redis | undefined;

  before(async function () {
    this.timeout(120_000);
    redis = await startRedis();
    raw = await connectRedis(redis.url);
  });

  after(async function () {
    if (raw !== undefined) await closeRedis(raw);
    await redis?.stop();
  });

  function server(): RedisService {
    if (redis === undefined) throw new Error('redis-server did not start');
    return redis;
  }

  function inspector(): Redis {
    if (raw === undefined) throw new Error('redis-server did not start');
    return raw;
  }

  describePresenceContract('RedisPresence', async () => {
    const presence = await RedisPresence.connect(server().url, { keyPrefix: uniquePrefix() });
    return { presence, cleanup: () => presence.close() };
  });

  // Every batch cut into one-user chunks: the same contract through the pipelined path.
  describePresenceContract('RedisPresence, one script call per user', async () => {
    const presence = await RedisPresence.connect(server().url, { keyPrefix: uniquePrefix(), scriptBatch: 1 });
    return { presence, cleanup: () => presence.close() };
  });

  describeCacheContract('RedisCache', async () => {
    const cache = await RedisCache.connect(server().url, { keyPrefix: uniquePrefix() });
    return { cache, cleanup: () => cache.close() };
  });

  describe('RedisPresence', function () {
    let prefix: string;
    let presence: RedisPresence;

    beforeEach(async function () {
      prefix = uniquePrefix();
      presence = await RedisPresence.connect(server().url, { keyPrefix: prefix });
    });

    afterEach(async function () {
      await presence.close();
    });

    it("drops a dead gateway's entries from Redis by key expiry, with no lookup", async function () {
      const key = `${prefix}presence:u1`;
      await presence.add('u1', { connId: 'c1', gatewayId: 'gw-dead' }, SHORT_TTL_MS);
      await presence.add('u1', { connId: 'c2', gatewayId: 'gw-dead' }, SHORT_TTL_MS);
      const pttl = await inspector().pttl(key);
      expect(pttl).to.be.within(1, SHORT_TTL_MS);
      await waitFor(async () => (await inspector().exists(key)) === 0, { message: 'the user key to expire' });
    });

    it('keeps the user key until its latest entry expires, never shortening it', async function () {
      const key = `${prefix}presence:u1`;
      await presence.add('u1', { connId: 'c-long', gatewayId: 'gw' }, LONG_TTL_MS);
      await presence.add('u1', { connId: 'c-short', gatewayId: 'gw' }, SHORT_TTL_MS);
      expect(await inspector().pttl(key)).to.be.above(LONG_TTL_MS / 2);
      await presence.add('u2', { connId: 'c-short', gatewayId: 'gw' }, SHORT_TTL_MS);
      await presence.refresh([{ userId: 'u2', connId: 'c-short' }], LONG_TTL_MS);
      expect(await inspector().pttl(`${prefix}presence:u2`)).to.be.above(LONG_TTL_MS / 2);
    });

    it('deletes the expired fields of a user it looks up and keeps the live ones', async function () {
      const key = `${prefix}presence:u1`;
      await presence.add('u1', { connId: 'c-stale', gatewayId: 'gw-dead' }, SHORT_TTL_MS);
      await presence.add('u1', { connId: 'c-live', gatewayId: 'gw-live' }, LONG_TTL_MS);
      expect((await inspector().hkeys(key)).sort()).to.deep.equal(['c-live', 'c-stale']);
      await waitFor(async () => (await presence.lookup(['u1'])).get('u1')?.length === 1, { message: 'the stale entry to expire' });
      expect(await inspector().hkeys(key)).to.deep.equal(['c-live']);
    });

    it('returns gateway and connection ids that contain the separator unchanged', async function () {
      const entry = { connId: 'c|1|', gatewayId: 'gw|7|123' };
      await presence.add('u1', entry, LONG_TTL_MS);
      await presence.refresh([{ userId: 'u1', connId: entry.connId }], LONG_TTL_MS);
      expect((await presence.lookup(['u1'])).get('u1')).to.deep.equal([entry]);
    });

    it('keeps its keys under its own prefix, unseen by a presence with another prefix', async function () {
      await presence.add('u1', { connId: 'c1', gatewayId: 'gw' }, LONG_TTL_MS);
      await presence.add('u2', { connId: 'c2', gatewayId: 'gw' }, LONG_TTL_MS);
      expect((await inspector().keys(`${prefix}*`)).sort()).to.deep.equal([`${prefix}presence:u1`, `${prefix}presence:u2`]);
      const other = await RedisPresence.connect(server().url, { keyPrefix: uniquePrefix() });
      try {
        expect((await other.lookup(['u1', 'u2'])).size).to.equal(0);
      } finally {
        await other.close();
      }
    });

    it('leaves a client passed in open when it closes', async function () {
      const client = await connectRedis(server().url);
      try {
        const shared = new RedisPresence(client, { keyPrefix: prefix });
        await shared.add('u1', { connId: 'c1', gatewayId: 'gw' }, LONG_TTL_MS);
        await shared.close();
        await expectTroupeRejection(shared.lookup(['u1']), 'closed');
        expect(await client.hget(`${prefix}presence:u1`, 'c1')).to.match(/^gw\|\d+$/);
      } finally {
        await closeRedis(client);
      }
    });

    it('reports an error reply from Redis as internal, not retriable', async function () {
      await inspector().set(`${prefix}presence:u1`, 'not a hash');
      const err = await expectTroupeRejection(presence.lookup(['u1']), 'internal');
      expect(err.retriable).to.equal(false);
    });

    it('rejects a non-positive TTL with invalid_argument', async function () {
      await expectTroupeRejection(presence.add('u1', { connId: 'c1', gatewayId: 'gw' }, 0), 'invalid_argument');
      await expectTroupeRejection(presence.refresh([{ userId: 'u1', connId: 'c1' }], Number.NaN), 'invalid_argument');
    });

    it('rejects every call with closed after close, and closes idempotently', async function () {
      await presence.close();
      await presence.close();
      await expectTroupeRejection(presence.add('u1', { connId: 'c1', gatewayId: 'gw' }, 1000), 'closed');
      await expectTroupeRejection(presence.remove('u1', 'c1'), 'closed');
      await expectTroupeRejection(presence.refresh([], 1000), 'closed');
      await expectTroupeRejection(presence.lookup(['u1']), 'closed');
    });
  });

  describe('RedisPresence batches', function () {
    /**
     * Each client-to-server chunk reaches Redis this late, so no reply can come back while the
     * client is still writing the commands of one batch: the proxy counts round trips exactly.
     */
    const DELAY_MS = 200;
    let proxy: DelayingProxy;
    let prefix: string;
    /** Through the proxy, in chunks of two: the presence under test. */
    let slow: RedisPresence;
    /** Straight to Redis, same keys: sets the scene without paying the delay. */
    let direct: RedisPresence;

    beforeEach(async function () {
      proxy = await startDelayingProxy(server().port, DELAY_MS);
      prefix = uniquePrefix();
      slow = await RedisPresence.connect(`redis://127.0.0.1:${proxy.port}`, { keyPrefix: prefix, scriptBatch: 2 });
      direct = await RedisPresence.connect(server().url, { keyPrefix: prefix });
    });

    afterEach(async function () {
      await slow.close();
      await direct.close();
      await proxy.close();
    });

    it('looks up users of several script chunks in one round trip', async function () {
      const users = Array.from({ length: 8 }, (_, n) => `u${n}`);
      for (const user of users.slice(0, 6)) await direct.add(user, { connId: `${user}-c`, gatewayId: 'gw' }, LONG_TTL_MS);
      proxy.resetRoundTrips();
      const result = await slow.lookup(users);
      expect([...result.keys()].sort()).to.deep.equal(users.slice(0, 6));
      // Four chunks of two users: sent one after another's reply, they would be four round trips.
      expect(proxy.roundTrips()).to.equal(1);
    });

    it('refreshes entries of several script chunks in one round trip', async function () {
      const entries = Array.from({ length: 8 }, (_, n) => ({ userId: `u${n}`, connId: `u${n}-c` }));
      for (const { userId, connId } of entries) await direct.add(userId, { connId, gatewayId: 'gw' }, 10_000);
      proxy.resetRoundTrips();
      await slow.refresh(entries, LONG_TTL_MS);
      expect(proxy.roundTrips()).to.equal(1);
      for (const { userId } of entries) {
        expect(await inspector().pttl(`${prefix}presence:${userId}`)).to.be.above(LONG_TTL_MS / 2);
      }
    });
  });

  describe('RedisCache', function () {
    let prefix: string;
    let cache: RedisCache;

    beforeEach(async function () {
      prefix = uniquePrefix();
      cache = await RedisCache.connect(server().url, { keyPrefix: prefix });
    });

    afterEach(async function () {
      await cache.close();
    });

    it('stores a key under its prefix with a Redis expiry', async function () {
      await cache.set('k', 'v', LONG_TTL_MS);
      expect(await inspector().keys(`${prefix}*`)).to.deep.equal([`${prefix}cache:k`]);
      expect(await inspector().pttl(`${prefix}cache:k`)).to.be.within(LONG_TTL_MS / 2, LONG_TTL_MS);
    });

    it('rejects a non-positive TTL with invalid_argument', async function () {
      await expectTroupeRejection(cache.set('k', 'v', -5), 'invalid_argument');
    });

    it('rejects every call with closed after close, and closes idempotently', async function () {
      await cache.close();
      await cache.close();
      await expectTroupeRejection(cache.get('a'), 'closed');
      await expectTroupeRejection(cache.getMany(['a']), 'closed');
      await expectTroupeRejection(cache.set('a', 'v', 1000), 'closed');
      await expectTroupeRejection(cache.del('a'), 'closed');
    });
  });

  describe('when the Redis server fails', function () {
    // Each test runs its own server, so stopping it leaves the shared one alone.
    let own: RedisService | undefined;
    let restarted: RedisService | undefined;
    let presence: RedisPresence | undefined;
    let cache: RedisCache | undefined;

    afterEach(async function () {
      await presence?.close();
      await cache?.close();
      await own?.stop();
      await restarted?.stop();
      own = restarted = presence = cache = undefined;
    });

    it('rejects calls at once with unavailable while the server is down, and serves again once it is back', async function () {
      // "At once" is "without waiting for the command timeout": with a timeout this long, a
      // call that waited for it would fail the bound below (and time the test out).
      const commandTimeoutMs = 60_000;
      own = await startRedis();
      const prefix = uniquePrefix();
      presence = await RedisPresence.connect(own.url, { keyPrefix: prefix, commandTimeoutMs });
      cache = await RedisCache.connect(own.url, { keyPrefix: prefix, commandTimeoutMs });
      await presence.add('u1', { connId: 'c1', gatewayId: 'gw' }, LONG_TTL_MS);
      await own.stop();

      const started = Date.now();
      const err = await expectTroupeRejection(presence.lookup(['u1']), 'unavailable');
      expect(err.retriable).to.equal(true);
      await expectTroupeRejection(presence.add('u1', { connId: 'c2', gatewayId: 'gw' }, LONG_TTL_MS), 'unavailable');
      await expectTroupeRejection(presence.refresh([{ userId: 'u1', connId: 'c1' }], LONG_TTL_MS), 'unavailable');
      await expectTroupeRejection(presence.remove('u1', 'c1'), 'unavailable');
      await expectTroupeRejection(cache.get('k'), 'unavailable');
      await expectTroupeRejection(cache.getMany(['k']), 'unavailable');
      await expectTroupeRejection(cache.set('k', 'v', LONG_TTL_MS), 'unavailable');
      await expectTroupeRejection(cache.del('k'), 'unavailable');
      expect(Date.now() - started, 'time to fail eight calls').to.be.below(commandTimeoutMs / 10);

      // The new server has no data and no scripts: the clients reconnect and load them again.
      restarted = await startRedis({ port: own.port });
      const back = presence;
      await waitFor(
        async () => {
          try {
            await back.add('u1', { connId: 'c3', gatewayId: 'gw' }, LONG_TTL_MS);
            return true;
          } catch {
            return false;
          }
        },
        { message: 'the presence to reconnect' },
      );
      expect((await presence.lookup(['u1'])).get('u1')).to.deep.equal([{ connId: 'c3', gatewayId: 'gw' }]);
      const backCache = cache;
      await waitFor(async () => (await backCache.set('k', 'v', LONG_TTL_MS).then(() => true, () => false)), { message: 'the cache to reconnect' });
      expect(await cache.get('k')).to.equal('v');
    });

    it('rejects a call with unavailable once the command timeout passes on a server that stopped answering', async function () {
      const commandTimeoutMs = 200;
      own = await startRedis();
      presence = await RedisPresence.connect(own.url, { keyPrefix: uniquePrefix(), commandTimeoutMs });
      process.kill(own.pid, 'SIGSTOP');
      try {
        const started = Date.now();
        await expectTroupeRejection(presence.lookup(['u1']), 'unavailable');
        // The paused server never answers, so only the timeout can end the call: not before it
        // (less a little for timer granularity), and not long after it, with room for a loaded
        // machine's event-loop lag (the timeout of a call that hangs for good would be the test's).
        expect(Date.now() - started).to.be.within(commandTimeoutMs - 50, commandTimeoutMs * 10);
      } finally {
        process.kill(own.pid, 'SIGCONT');
      }
    });

    it('fails to connect with unavailable when nothing listens', async function () {
      own = await startRedis();
      const url = own.url;
      await own.stop();
      await expectTroupeRejection(RedisPresence.connect(url, { keyPrefix: uniquePrefix() }), 'unavailable');
      await expectTroupeRejection(RedisCache.connect(url, { keyPrefix: uniquePrefix() }), 'unavailable');
    });
  });
});

interface DelayingProxy {
  port: number;
  /** Round trips since the last reset: bursts of client data, each after a reply (or the reset). */
  roundTrips(): number;
  /** Starts counting round trips from zero; call it when no reply is outstanding. */
  resetRoundTrips(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy to 127.0.0.1:`targetPort` that forwards what the client sends `delayMs` late
 * (in order), so every request/reply round trip costs at least `delayMs`, and that counts the
 * round trips: a client that waits for a reply before it sends more starts a new one.
 */
async function startDelayingProxy(targetPort: number, delayMs: number): Promise<DelayingProxy> {
  const sockets = new Set<Socket>();
  let roundTrips = 0;
  let replied = true;
  const server: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => {
      if (replied) roundTrips++;
      replied = false;
      setTimeout(() => upstream.write(chunk), delayMs);
    });
    upstream.on('data', (chunk) => {
      replied = true;
      client.write(chunk);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    roundTrips: () => roundTrips,
    resetRoundTrips: () => {
      roundTrips = 0;
      replied = true;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
