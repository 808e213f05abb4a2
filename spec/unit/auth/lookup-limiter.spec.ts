// LookupLimiter (actors/auth/lookup-limiter.ts): username look-ups per caller, counted locally and,
// with a shared cache, across the gateways of a cluster; a cache that fails leaves the local limit.
import { expect } from 'chai';
import { LookupLimiter } from '../../../actors/auth/lookup-limiter.js';
import { MemoryCache } from '../../../transport/presence/memory-cache.js';
import type { Cache } from '../../../transport/presence/port.js';
import { TroupeError } from '../../../transport/errors.js';
import { expectRejection } from './expect-rejection.js';

const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined, child: () => quiet } as never;

describe('LookupLimiter', function () {
  let clock: number;
  const now = (): number => clock;

  beforeEach(function () {
    clock = 1_800_000_000_000; // the start of a one-minute window
  });

  it('allows the limit of look-ups a minute for one caller, then refuses with the time left in its window', async function () {
    const limiter = new LookupLimiter({ lookupsPerCaller: 3, now });
    for (let i = 0; i < 3; i++) await limiter.take('u_alice');
    clock += 20_000;
    const err = await expectRejection(limiter.take('u_alice'), 'rate_limited');
    expect(err.retryAfterMs).to.equal(40_000);
    await limiter.take('u_bob');
  });

  it('lets a caller look up again once its window has passed, and a refused look-up does not extend it', async function () {
    const limiter = new LookupLimiter({ lookupsPerCaller: 2, now });
    await limiter.take('u_alice');
    await limiter.take('u_alice');
    clock += 59_999;
    await expectRejection(limiter.take('u_alice'), 'rate_limited');
    clock += 1;
    await limiter.take('u_alice');
  });

  it('counts one caller across gateways sharing a cache: the limit holds for their sum', async function () {
    const cache = new MemoryCache();
    try {
      const gateways = [0, 1].map(() => new LookupLimiter({ lookupsPerCaller: 4, now, shared: { cache, logger: quiet } }));
      for (let i = 0; i < 4; i++) await gateways[i % 2]!.take('u_alice');
      for (const gateway of gateways) await expectRejection(gateway.take('u_alice'), 'rate_limited');
      await gateways[1]!.take('u_bob');
    } finally {
      await cache.close();
    }
  });

  it('keeps the local limit when the shared cache cannot be reached (fails open, not closed)', async function () {
    const down = {
      getMany: () => Promise.reject(new TroupeError('unavailable', 'redis down')),
      increment: () => Promise.reject(new TroupeError('unavailable', 'redis down')),
    } as unknown as Cache;
    const limiter = new LookupLimiter({ lookupsPerCaller: 2, now, shared: { cache: down, logger: quiet } });
    await limiter.take('u_alice');
    await limiter.take('u_alice');
    await expectRejection(limiter.take('u_alice'), 'rate_limited');
  });
});
