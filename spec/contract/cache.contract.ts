/**
 * The Cache contract (transport/presence/port.ts), run against every implementation:
 * spec/transport/presence-memory.spec.ts and spec/transport/presence-redis.spec.ts.
 *
 * The factory takes no prefix: every test puts its keys under its own uniqueName, so runs can
 * share one Redis. Expiry is checked with short TTLs and a control key whose expiry marks the
 * passing of time.
 */
import { expect } from 'chai';
import type { Cache } from '../../transport/presence/port.js';
import { uniqueName, waitFor } from '../support/wait-for.js';

export interface CacheUnderTest {
  cache: Cache;
  /** Closes the cache and whatever the factory started. Called after each test. */
  cleanup(): Promise<void>;
}

const LONG_TTL_MS = 60_000;
const SHORT_TTL_MS = 300;

export function describeCacheContract(name: string, factory: () => Promise<CacheUnderTest>): void {
  describe(`Cache contract: ${name}`, function () {
    this.timeout(20_000);

    let sut: CacheUnderTest;
    let cache: Cache;
    let prefix: string;

    beforeEach(async function () {
      sut = await factory();
      cache = sut.cache;
      prefix = `${uniqueName('cache')}:`;
    });

    afterEach(async function () {
      await sut.cleanup();
    });

    it('returns a set value until it is deleted, and null for a missing key', async function () {
      const key = `${prefix}a`;
      expect(await cache.get(key)).to.equal(null);
      await cache.set(key, 'v1', LONG_TTL_MS);
      expect(await cache.get(key)).to.equal('v1');
      await cache.del(key);
      expect(await cache.get(key)).to.equal(null);
      await cache.del(key);
    });

    it('replaces the value of a key set again', async function () {
      const key = `${prefix}a`;
      await cache.set(key, 'v1', LONG_TTL_MS);
      await cache.set(key, 'v2', LONG_TTL_MS);
      expect(await cache.get(key)).to.equal('v2');
    });

    it('reads many keys in one call, in the order asked, with null for missing ones', async function () {
      await cache.set(`${prefix}a`, 'A', LONG_TTL_MS);
      await cache.set(`${prefix}b`, '', LONG_TTL_MS);
      const values = await cache.getMany([`${prefix}b`, `${prefix}missing`, `${prefix}a`, `${prefix}b`]);
      expect(values).to.deep.equal(['', null, 'A', '']);
      expect(await cache.getMany([])).to.deep.equal([]);
    });

    it('expires a key after its TTL while a longer-lived key stays', async function () {
      await cache.set(`${prefix}short`, 's', SHORT_TTL_MS);
      await cache.set(`${prefix}long`, 'l', LONG_TTL_MS);
      await waitFor(async () => (await cache.get(`${prefix}short`)) === null, { message: 'the short key to expire' });
      expect(await cache.getMany([`${prefix}short`, `${prefix}long`])).to.deep.equal([null, 'l']);
    });

    it('restarts the TTL of a key that is set again', async function () {
      const key = `${prefix}a`;
      await cache.set(key, 'v1', SHORT_TTL_MS);
      await cache.set(key, 'v2', LONG_TTL_MS);
      // Set last with the short TTL: once it has expired, so would `key` have without the second set.
      await cache.set(`${prefix}control`, 'c', SHORT_TTL_MS);
      await waitFor(async () => (await cache.get(`${prefix}control`)) === null, { message: 'the control key to expire' });
      expect(await cache.get(key)).to.equal('v2');
    });

    it('counts increments atomically from 1, and several callers at once lose none', async function () {
      const key = `${prefix}n`;
      expect(await cache.increment(key, LONG_TTL_MS)).to.equal(1);
      const counts = await Promise.all(Array.from({ length: 50 }, () => cache.increment(key, LONG_TTL_MS)));
      expect([...counts].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i + 2));
      expect(await cache.get(key)).to.equal('51');
    });

    it('keeps a counter\'s first expiry (a fixed window), then starts again from 1', async function () {
      const key = `${prefix}window`;
      expect(await cache.increment(key, SHORT_TTL_MS)).to.equal(1);
      // A later increment with a long TTL must not extend the window.
      expect(await cache.increment(key, LONG_TTL_MS)).to.equal(2);
      await waitFor(async () => (await cache.get(key)) === null, { message: 'the counter window to end' });
      expect(await cache.increment(key, LONG_TTL_MS)).to.equal(1);
    });
  });
}
