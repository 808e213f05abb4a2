import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { AuthService, type SessionDto } from '../../../actors/auth/auth-service.js';
import { LoginLimiter } from '../../../actors/auth/login-limiter.js';
import { PasswordHasher } from '../../../actors/auth/password-hasher.js';
import { hashRefreshToken } from '../../../actors/auth/refresh-tokens.js';
import { AccessTokens } from '../../../actors/auth/tokens.js';
import { loadOrCreateSigningKeys } from '../../../bin/signing-keys.js';
import { migrateLatest } from '../../../sql/migrate.js';
import { openSqliteStore } from '../../../transport/store/sqlite.js';
import type { Store } from '../../../transport/store/port.js';
import { expectRejection } from './expect-rejection.js';

const ACCESS_TTL_SEC = 900;
const REFRESH_TTL_SEC = 3600;
const ADDRESS = '198.51.100.20';

/** Real argon2 with tiny parameters, counting the work it is asked for. */
class CountingHasher extends PasswordHasher {
  calls = 0;

  constructor() {
    super({ memoryKiB: 256, iterations: 1, parallelism: 1, poolSize: 2, maxQueue: 64 });
  }

  override hash(password: string): Promise<string> {
    this.calls++;
    return super.hash(password);
  }

  override verify(hash: string, password: string): Promise<boolean> {
    this.calls++;
    return super.verify(hash, password);
  }
}

describe('AuthService', () => {
  let root: string;
  let store: Store;
  let hasher: CountingHasher;
  let tokens: AccessTokens;
  let auth: AuthService;
  let clock: number;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'troupe-auth-'));
    const opened = await openSqliteStore(join(root, 'troupe.sqlite'));
    await migrateLatest(opened.knex);
    store = opened.store;
    clock = Date.now();
    const now = () => clock;
    hasher = new CountingHasher();
    tokens = new AccessTokens(await loadOrCreateSigningKeys(join(root, 'keys')), {
      issuer: 'troupe-test', audience: 'troupe-test-clients', accessTokenTtlSec: ACCESS_TTL_SEC, now,
    });
    const limiter = new LoginLimiter({ failedLoginsPerUsername: 10, failedLoginsPerAddress: 100, now });
    auth = new AuthService({ store, hasher, tokens, limiter, refreshTokenTtlSec: REFRESH_TTL_SEC, now });
  });

  afterEach(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  const register = (username: string, password = 'password-123', displayName?: string) =>
    auth.register({ username, password, ...(displayName === undefined ? {} : { displayName }) });
  const login = (username: string, password = 'password-123', address = ADDRESS) =>
    auth.login({ username, password }, address);

  describe('register', () => {
    it('creates a user with an argon2id hash and the username as default display name', async () => {
      const user = await register('alice');
      expect(user.id).to.match(/^u_[A-Za-z0-9_-]{16}$/);
      expect(user).to.deep.equal({ id: user.id, username: 'alice', displayName: 'alice' });
      const row = await store.getUser(user.id);
      expect(row?.passwordHash).to.match(/^\$argon2id\$/);
      expect(row?.passwordHash).to.not.include('password-123');
      expect(await register('bob.b-1_x', 'password-123', 'Bob 🎸')).to.include({ displayName: 'Bob 🎸' });
      expect(await auth.register({ username: 'carol', password: 'password-123', displayName: null })).to.include({ displayName: 'carol' });
    });

    it('refuses malformed bodies with invalid_argument naming the field', async () => {
      const cases: Array<[unknown, string]> = [
        [undefined, 'body'],
        [null, 'body'],
        ['alice', 'body'],
        [[], 'body'],
        [{ password: 'password-123' }, 'username'],
        [{ username: 42, password: 'password-123' }, 'username'],
        [{ username: 'Alice', password: 'password-123' }, 'username: 3–32 characters of a-z 0-9 _ . -'],
        [{ username: 'ab', password: 'password-123' }, 'username'],
        [{ username: 'a'.repeat(33), password: 'password-123' }, 'username'],
        [{ username: 'al ice', password: 'password-123' }, 'username'],
        [{ username: 'alice!', password: 'password-123' }, 'username'],
        [{ username: 'alicé', password: 'password-123' }, 'username'],
        [{ username: 'alice' }, 'password'],
        [{ username: 'alice', password: 12345678 }, 'password'],
        [{ username: 'alice', password: 'short12' }, 'password: 8–128 characters'],
        [{ username: 'alice', password: 'p'.repeat(129) }, 'password'],
        [{ username: 'alice', password: '🔑'.repeat(129) }, 'password'],
        [{ username: 'alice', password: 'password-123', displayName: '' }, 'displayName'],
        [{ username: 'alice', password: 'password-123', displayName: 'd'.repeat(65) }, 'displayName'],
        [{ username: 'alice', password: 'password-123', displayName: 7 }, 'displayName'],
      ];
      for (const [body, field] of cases) {
        const err = await expectRejection(auth.register(body), 'invalid_argument');
        expect(err.message.startsWith(field), `${JSON.stringify(body)} → ${err.message}`).to.equal(true);
      }
      expect(hasher.calls, 'nothing was hashed').to.equal(0);
      expect(await store.getUserByUsername('alice')).to.equal(null);
    });

    it('counts characters, not UTF-16 units: 8 and 128 emoji are valid passwords', async () => {
      await register('emoji8', '🔑'.repeat(8));
      await register('emoji128', '🔑'.repeat(128));
      expect((await login('emoji128', '🔑'.repeat(128))).user.username).to.equal('emoji128');
      await register('name64', 'password-123', '🎸'.repeat(64));
    });

    it('answers conflict when the username is taken, also under concurrent registrations', async () => {
      await register('taken');
      await expectRejection(register('taken'), 'conflict', 'username');
      const results = await Promise.allSettled([register('racer'), register('racer'), register('racer')]);
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).to.include({ code: 'conflict' });
      }
    });
  });

  describe('login', () => {
    it('returns an access token for the user, a refresh token and the user', async () => {
      const user = await register('dave', 'password-123', 'Dave');
      const session = await login('dave');
      expect(session.user).to.deep.equal(user);
      expect(session.expiresIn).to.equal(ACCESS_TTL_SEC);
      expect(session.refreshToken).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(await auth.verifyBearer(`Bearer ${session.accessToken}`)).to.include({ userId: user.id, username: 'dave', displayName: 'Dave' });
      const row = await store.getRefreshToken(hashRefreshToken(session.refreshToken));
      expect(row).to.include({ userId: user.id, usedAt: null, revoked: false, expiresAt: clock + REFRESH_TTL_SEC * 1000 });
      expect(row?.familyId).to.match(/^f_/);
    });

    it('answers a wrong password and an unknown username alike, with unauthenticated', async () => {
      await register('erin');
      const wrong = await expectRejection(login('erin', 'wrong-password'), 'unauthenticated');
      const unknown = await expectRejection(login('nobody-here', 'wrong-password'), 'unauthenticated');
      expect(unknown.message).to.equal(wrong.message);
      const hashesBefore = hasher.calls;
      await expectRejection(login('nobody-else', 'password-123'), 'unauthenticated');
      expect(hasher.calls, 'an unknown username still costs a verify').to.be.greaterThan(hashesBefore);
    });

    it('refuses a password over 128 characters with invalid_argument before any hashing', async () => {
      await register('frank');
      const before = hasher.calls;
      await expectRejection(login('frank', 'x'.repeat(129)), 'invalid_argument', 'password');
      await expectRejection(login('frank', 'x'.repeat(60_000)), 'invalid_argument', 'password');
      await expectRejection(auth.login({ username: 'frank', password: 5 }, ADDRESS), 'invalid_argument', 'password');
      await expectRejection(auth.login({ password: 'password-123' }, ADDRESS), 'invalid_argument', 'username');
      await expectRejection(auth.login('frank', ADDRESS), 'invalid_argument', 'body');
      expect(hasher.calls).to.equal(before);
    });

    it('limits failed logins per username (10 a minute), even with the right password, until the window passes', async () => {
      await register('gina');
      for (let i = 0; i < 10; i++) await expectRejection(login('gina', `wrong-${i}-password`, `10.1.0.${i}`), 'unauthenticated');
      const before = hasher.calls;
      const err = await expectRejection(login('gina', 'password-123', '10.1.1.1'), 'rate_limited');
      expect(err.retryAfterMs).to.be.within(1, 60_000);
      expect(hasher.calls, 'refused before hashing').to.equal(before);
      await register('henry');
      expect((await login('henry', 'password-123', '10.1.1.1')).user.username).to.equal('henry');
      clock += 60_000;
      expect((await login('gina', 'password-123', '10.1.1.1')).user.username).to.equal('gina');
    });

    it('limits failed logins per client address (100 a minute), across usernames', async () => {
      await register('ivan');
      for (let i = 0; i < 100; i++) {
        await expectRejection(login(`ghost${i}`, 'wrong-password', '203.0.113.50'), 'unauthenticated');
      }
      await expectRejection(login('ivan', 'password-123', '203.0.113.50'), 'rate_limited');
      expect((await login('ivan', 'password-123', '203.0.113.51')).user.username).to.equal('ivan');
    });

    it('does not limit successful logins', async () => {
      await register('judy');
      for (let i = 0; i < 30; i++) await login('judy');
    });
  });

  describe('refresh', () => {
    let first: SessionDto;

    beforeEach(async () => {
      await register('kate', 'password-123', 'Kate');
      first = await login('kate');
    });

    it('returns a new pair and rotates: the new refresh token works, the old one is spent', async () => {
      clock += 1000;
      const second = await auth.refresh({ refreshToken: first.refreshToken });
      expect(second.user).to.deep.equal(first.user);
      expect(second.refreshToken).to.not.equal(first.refreshToken);
      expect(second.expiresIn).to.equal(ACCESS_TTL_SEC);
      expect((await auth.verifyAccessToken(second.accessToken)).userId).to.equal(first.user.id);
      const oldRow = await store.getRefreshToken(hashRefreshToken(first.refreshToken));
      const newRow = await store.getRefreshToken(hashRefreshToken(second.refreshToken));
      expect(oldRow?.usedAt).to.equal(clock);
      expect(newRow?.familyId).to.equal(oldRow?.familyId);
      const third = await auth.refresh({ refreshToken: second.refreshToken });
      expect(third.refreshToken).to.not.equal(second.refreshToken);
    });

    it('treats reuse of a spent token as theft: 401 and the whole family is revoked', async () => {
      const second = await auth.refresh({ refreshToken: first.refreshToken });
      await expectRejection(auth.refresh({ refreshToken: first.refreshToken }), 'unauthenticated');
      // The token issued after the spent one, in the same family, is dead too.
      await expectRejection(auth.refresh({ refreshToken: second.refreshToken }), 'unauthenticated');
      const row = await store.getRefreshToken(hashRefreshToken(second.refreshToken));
      expect(row?.revoked).to.equal(true);
      // Another login (another family) is untouched.
      const other = await login('kate');
      expect((await auth.refresh({ refreshToken: other.refreshToken })).user.username).to.equal('kate');
    });

    it('lets exactly one of two concurrent refreshes with one token win, then revokes the family', async () => {
      const results = await Promise.allSettled([
        auth.refresh({ refreshToken: first.refreshToken }),
        auth.refresh({ refreshToken: first.refreshToken }),
      ]);
      const won = results.filter((r): r is PromiseFulfilledResult<SessionDto> => r.status === 'fulfilled');
      expect(won).to.have.length(1);
      const loser = results.find((r) => r.status === 'rejected');
      expect(loser?.status === 'rejected' && loser.reason).to.include({ code: 'unauthenticated' });
      await expectRejection(auth.refresh({ refreshToken: won[0]?.value.refreshToken }), 'unauthenticated');
    });

    it('refuses an expired refresh token', async () => {
      clock += REFRESH_TTL_SEC * 1000;
      await expectRejection(auth.refresh({ refreshToken: first.refreshToken }), 'unauthenticated', 'expired');
    });

    it('refuses unknown and malformed tokens with unauthenticated, and non-strings with invalid_argument', async () => {
      await expectRejection(auth.refresh({ refreshToken: 'A'.repeat(43) }), 'unauthenticated');
      await expectRejection(auth.refresh({ refreshToken: 'not a token' }), 'unauthenticated');
      await expectRejection(auth.refresh({ refreshToken: first.accessToken }), 'unauthenticated');
      await expectRejection(auth.refresh({ refreshToken: 123 }), 'invalid_argument', 'refreshToken');
      await expectRejection(auth.refresh({}), 'invalid_argument', 'refreshToken');
      await expectRejection(auth.refresh(null), 'invalid_argument', 'body');
      // None of that touched the real token.
      expect((await auth.refresh({ refreshToken: first.refreshToken })).user.username).to.equal('kate');
    });
  });

  describe('logout', () => {
    it("revokes that login's refresh tokens and no other login's", async () => {
      await register('liam');
      const a = await login('liam');
      const rotated = await auth.refresh({ refreshToken: a.refreshToken });
      const b = await login('liam');
      await auth.logout({ refreshToken: rotated.refreshToken });
      await expectRejection(auth.refresh({ refreshToken: rotated.refreshToken }), 'unauthenticated');
      expect((await auth.refresh({ refreshToken: b.refreshToken })).user.username).to.equal('liam');
    });

    it('succeeds silently for an unknown, malformed or already revoked token', async () => {
      await register('mona');
      const s = await login('mona');
      await auth.logout({ refreshToken: s.refreshToken });
      await auth.logout({ refreshToken: s.refreshToken });
      await auth.logout({ refreshToken: 'B'.repeat(43) });
      await auth.logout({ refreshToken: 'garbage' });
      await expectRejection(auth.logout({ refreshToken: 7 }), 'invalid_argument', 'refreshToken');
      await expectRejection(auth.logout([]), 'invalid_argument', 'body');
    });
  });

  describe('me and bearer tokens', () => {
    it('returns the user, and not_found for an id that does not exist', async () => {
      const user = await register('nina', 'password-123', 'Nina');
      expect(await auth.me(user.id)).to.deep.equal(user);
      await expectRejection(auth.me('u_doesnotexist0000'), 'not_found');
    });

    it('refuses a well-signed token whose user this database does not know', async () => {
      const { accessToken } = await tokens.issue({ id: 'u_notinthisstore0', username: 'ghost', displayName: 'Ghost' });
      await expectRejection(auth.verifyBearer(`Bearer ${accessToken}`), 'unauthenticated', 'no known user');
      await expectRejection(auth.verifyAccessToken(accessToken), 'unauthenticated', 'no known user');
    });

    it('accepts "Bearer <token>" (any case) and refuses missing or malformed headers', async () => {
      await register('omar');
      const { accessToken, user } = await login('omar');
      expect((await auth.verifyBearer(`Bearer ${accessToken}`)).userId).to.equal(user.id);
      expect((await auth.verifyBearer(`bearer ${accessToken}`)).userId).to.equal(user.id);
      await expectRejection(auth.verifyBearer(undefined), 'unauthenticated', 'missing');
      for (const header of ['', 'Bearer', 'Bearer ', `Basic ${accessToken}`, accessToken, `Bearer ${accessToken} extra`, `Bearer ${accessToken}x`]) {
        await expectRejection(auth.verifyBearer(header), 'unauthenticated');
      }
      await expectRejection(auth.verifyAccessToken(undefined), 'unauthenticated');
    });

    it('refuses an access token once it has expired', async () => {
      await register('pia');
      const { accessToken } = await login('pia');
      clock += (ACCESS_TTL_SEC + 10) * 1000;
      await expectRejection(auth.verifyBearer(`Bearer ${accessToken}`), 'unauthenticated', 'expired');
    });
  });
});
