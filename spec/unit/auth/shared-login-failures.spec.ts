// Failed-login limits across gateways: two AuthServices (two gateways, each with its own local
// LoginLimiter) share one cache, as cluster gateways share Redis.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { AuthService } from '../../../actors/auth/auth-service.js';
import { LoginLimiter } from '../../../actors/auth/login-limiter.js';
import { PasswordHasher } from '../../../actors/auth/password-hasher.js';
import { SharedLoginFailures } from '../../../actors/auth/shared-login-failures.js';
import { AccessTokens } from '../../../actors/auth/tokens.js';
import { loadOrCreateSigningKeys } from '../../../bin/signing-keys.js';
import { migrateLatest } from '../../../sql/migrate.js';
import { MemoryCache } from '../../../transport/presence/memory-cache.js';
import type { Cache } from '../../../transport/presence/port.js';
import { TroupeError } from '../../../transport/errors.js';
import { openSqliteStore } from '../../../transport/store/sqlite.js';
import type { Store } from '../../../transport/store/port.js';
import { expectRejection } from './expect-rejection.js';

const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined, child: () => quiet } as never;

describe('SharedLoginFailures: failed-login limits hold across gateways', function () {
  let root: string;
  let store: Store;
  let cache: MemoryCache;
  let gateways: AuthService[];
  let clock: number;

  const gateway = async (shared: Cache): Promise<AuthService> => {
    const now = (): number => clock;
    return new AuthService({
      store,
      hasher: new PasswordHasher({ memoryKiB: 256, iterations: 1, parallelism: 1, poolSize: 2, maxQueue: 64 }),
      tokens: new AccessTokens(await loadOrCreateSigningKeys(join(root, 'keys')), { issuer: 't', audience: 't', accessTokenTtlSec: 900, now }),
      limiter: new LoginLimiter({ failedLoginsPerUsername: 10, failedLoginsPerAddress: 100, now }),
      sharedFailures: new SharedLoginFailures({ cache: shared, failedLoginsPerUsername: 10, failedLoginsPerAddress: 100, now, logger: quiet }),
      refreshTokenTtlSec: 3600,
      now,
    });
  };

  beforeEach(async function () {
    root = await mkdtemp(join(tmpdir(), 'troupe-shared-login-'));
    const opened = await openSqliteStore(join(root, 'troupe.sqlite'));
    await migrateLatest(opened.knex);
    store = opened.store;
    cache = new MemoryCache();
    clock = 1_800_000_000_000; // the start of a one-minute window
    gateways = [await gateway(cache), await gateway(cache)];
    await gateways[0]!.register({ username: 'victim', password: 'password-123' });
  });

  afterEach(async function () {
    await cache.close();
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  it('refuses the 11th failed login for one username even when the failures were spread over two gateways', async function () {
    for (let i = 0; i < 10; i++) {
      await expectRejection(gateways[i % 2]!.login({ username: 'victim', password: `wrong-${i}` }, `198.51.100.${i}`), 'unauthenticated');
    }
    for (const g of gateways) {
      const err = await expectRejection(g.login({ username: 'victim', password: 'wrong-again' }, '198.51.100.99'), 'rate_limited');
      expect((err as TroupeError).retryAfterMs).to.be.within(1, 60_000);
    }
  });

  it('refuses the 101st failed login from one address spread over two gateways, for any username', async function () {
    for (let i = 0; i < 100; i++) {
      await expectRejection(gateways[i % 2]!.login({ username: `nobody${i % 10}`, password: 'wrong-password' }, '203.0.113.7'), 'unauthenticated');
    }
    await expectRejection(gateways[0]!.login({ username: 'someone', password: 'wrong-password' }, '203.0.113.7'), 'rate_limited');
    await expectRejection(gateways[1]!.login({ username: 'victim', password: 'wrong-password' }, '203.0.113.7'), 'rate_limited');
    // Another address is not affected.
    expect((await gateways[1]!.login({ username: 'victim', password: 'password-123' }, '203.0.113.8')).user.username).to.equal('victim');
  });

  it('lets the username try again in the next window', async function () {
    for (let i = 0; i < 10; i++) await expectRejection(gateways[i % 2]!.login({ username: 'victim', password: 'nope-nope' }, `198.51.100.${i}`), 'unauthenticated');
    await expectRejection(gateways[0]!.login({ username: 'victim', password: 'password-123' }, '198.51.100.50'), 'rate_limited');
    clock += 61_000;
    expect((await gateways[1]!.login({ username: 'victim', password: 'password-123' }, '198.51.100.50')).user.username).to.equal('victim');
  });

  it('falls back to the local limits when the shared cache fails', async function () {
    const broken = new MemoryCache();
    await broken.close(); // every call now rejects with closed
    const lonely = await gateway(broken);
    await lonely.register({ username: 'bystander', password: 'password-123' });
    for (let i = 0; i < 10; i++) await expectRejection(lonely.login({ username: 'victim', password: 'nope-nope' }, '198.51.100.1'), 'unauthenticated');
    await expectRejection(lonely.login({ username: 'victim', password: 'nope-nope' }, '198.51.100.1'), 'rate_limited');
    expect((await lonely.login({ username: 'bystander', password: 'password-123' }, '198.51.100.2')).user.username).to.equal('bystander');
  });
});
