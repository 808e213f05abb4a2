/**
 * The in-process presence and cache: the shared Presence and Cache contracts, then what only
 * the memory implementations promise (a background sweep that bounds memory, timers that never
 * hold the process open, `closed` after close).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { MemoryCache } from '../../transport/presence/memory-cache.js';
import { MemoryPresence } from '../../transport/presence/memory.js';
import { describeCacheContract } from '../contract/cache.contract.js';
import { describePresenceContract } from '../contract/presence.contract.js';
import { expectTroupeRejection } from '../support/expect-rejection.js';
import { waitFor } from '../support/wait-for.js';

const run = promisify(execFile);

describePresenceContract('MemoryPresence', async () => {
  const presence = new MemoryPresence();
  return { presence, cleanup: () => presence.close() };
});

describeCacheContract('MemoryCache', async () => {
  const cache = new MemoryCache();
  return { cache, cleanup: () => cache.close() };
});

describe('MemoryPresence', function () {
  let presence: MemoryPresence;

  afterEach(async function () {
    await presence.close();
  });

  it('sweeps expired entries that nobody looks up, a slice at a time', async function () {
    presence = new MemoryPresence({ sweepIntervalMs: 10, sweepBatch: 1 });
    for (const user of ['u1', 'u2', 'u3']) await presence.add(user, { connId: `${user}-c`, gatewayId: 'gw' }, 50);
    await presence.add('u4', { connId: 'u4-c', gatewayId: 'gw' }, 60_000);
    await presence.add('u4', { connId: 'u4-stale', gatewayId: 'gw' }, 50);
    expect(presence.userCount).to.equal(4);
    await waitFor(() => presence.userCount === 1, { message: 'the sweep to drop three users' });
    expect((await presence.lookup(['u4'])).get('u4')).to.deep.equal([{ connId: 'u4-c', gatewayId: 'gw' }]);
  });

  it('keeps its own copy of an added entry', async function () {
    presence = new MemoryPresence();
    const entry = { connId: 'c1', gatewayId: 'gw-1' };
    await presence.add('u1', entry, 60_000);
    entry.gatewayId = 'changed';
    expect((await presence.lookup(['u1'])).get('u1')).to.deep.equal([{ connId: 'c1', gatewayId: 'gw-1' }]);
  });

  it('rejects a non-positive TTL with invalid_argument', async function () {
    presence = new MemoryPresence();
    await expectTroupeRejection(presence.add('u1', { connId: 'c1', gatewayId: 'gw' }, 0), 'invalid_argument');
    await expectTroupeRejection(presence.refresh([{ userId: 'u1', connId: 'c1' }], -1), 'invalid_argument');
  });

  it('rejects every call with closed after close, and closes idempotently', async function () {
    presence = new MemoryPresence();
    await presence.close();
    await presence.close();
    await expectTroupeRejection(presence.add('u1', { connId: 'c1', gatewayId: 'gw' }, 1000), 'closed');
    await expectTroupeRejection(presence.remove('u1', 'c1'), 'closed');
    await expectTroupeRejection(presence.refresh([], 1000), 'closed');
    await expectTroupeRejection(presence.lookup(['u1']), 'closed');
  });
});

describe('MemoryCache', function () {
  let cache: MemoryCache;

  afterEach(async function () {
    await cache.close();
  });

  it('sweeps expired keys that nobody reads, a slice at a time', async function () {
    cache = new MemoryCache({ sweepIntervalMs: 10, sweepBatch: 1 });
    for (const key of ['a', 'b', 'c']) await cache.set(key, key, 50);
    await cache.set('kept', 'k', 60_000);
    expect(cache.size).to.equal(4);
    await waitFor(() => cache.size === 1, { message: 'the sweep to drop three keys' });
    expect(await cache.get('kept')).to.equal('k');
  });

  it('rejects a non-positive TTL with invalid_argument', async function () {
    cache = new MemoryCache();
    await expectTroupeRejection(cache.set('a', 'v', 0), 'invalid_argument');
  });

  it('rejects every call with closed after close, and closes idempotently', async function () {
    cache = new MemoryCache();
    await cache.close();
    await cache.close();
    await expectTroupeRejection(cache.get('a'), 'closed');
    await expectTroupeRejection(cache.getMany(['a']), 'closed');
    await expectTroupeRejection(cache.set('a', 'v', 1000), 'closed');
    await expectTroupeRejection(cache.del('a'), 'closed');
  });
});

describe('memory presence and cache timers', function () {
  it('let a process holding entries exit without closing', async function () {
    this.timeout(20_000);
    const script = [
      "import { MemoryPresence } from './transport/presence/memory.ts';",
      "import { MemoryCache } from './transport/presence/memory-cache.ts';",
      'const presence = new MemoryPresence();',
      'const cache = new MemoryCache();',
      "await presence.add('u1', { connId: 'c1', gatewayId: 'gw' }, 60000);",
      "await cache.set('k', 'v', 60000);",
      "console.log('ready');",
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
      timeout: 15_000,
    });
    expect(stdout.trim()).to.equal('ready');
  });
});
