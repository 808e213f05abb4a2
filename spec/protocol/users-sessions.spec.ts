// Covers docs/protocol.md § HTTP: POST /v1/users, POST /v1/sessions, POST /v1/sessions/refresh,
// DELETE /v1/sessions, GET /v1/me, Bearer authentication, and the `unauthenticated`,
// `conflict`, `invalid_argument` and `rate_limited` rows of the error table.
import { expect } from 'chai';
import { api, registerAndLogin, SPEC_PASSWORD, uniqueName, type Api } from '../support/client.js';
import { expectHttpError } from '../support/expect-error.js';
import { startTestServer, type TestServer } from '../support/server.js';

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodePart(token: string, index: number): Record<string, unknown> {
  const part = token.split('.')[index];
  if (part === undefined) throw new Error(`token has no part ${index}`);
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('protocol: users and sessions', function () {
  let server: TestServer;
  let http: Api;

  before(async function () {
    server = await startTestServer();
    http = api(server.baseUrl);
  });
  after(async function () {
    await server?.stop();
  });

  describe('POST /v1/users', function () {
    it('registers a user: 201 {id, username, displayName}', async function () {
      const username = uniqueName('reg');
      const res = await http('POST', '/v1/users', { username, password: 'password123', displayName: 'Ada L.' });
      expect(res.status, res.text).to.equal(201);
      expect(res.body.id).to.be.a('string').and.not.equal('');
      expect(res.body.username).to.equal(username);
      expect(res.body.displayName).to.equal('Ada L.');
    });

    it('registers without a displayName: the answer still carries id, username and displayName', async function () {
      const username = uniqueName('nodisp');
      const res = await http('POST', '/v1/users', { username, password: 'password123' });
      expect(res.status, res.text).to.equal(201);
      expect(res.body).to.include.keys('id', 'username', 'displayName');
      expect(res.body.username).to.equal(username);
    });

    it('gives every user a distinct id', async function () {
      const a = await http('POST', '/v1/users', { username: uniqueName('ida'), password: 'password123' });
      const b = await http('POST', '/v1/users', { username: uniqueName('idb'), password: 'password123' });
      expect(a.status).to.equal(201);
      expect(b.status).to.equal(201);
      expect(a.body.id).to.not.equal(b.body.id);
    });

    it('accepts usernames of exactly 3 and 32 characters using every allowed character class', async function () {
      const suffix = uniqueName('x').slice(-6);
      const three = `a${suffix.slice(0, 2)}`;
      const long = `a.b-c_9${suffix}`.padEnd(32, 'z');
      expect(long).to.have.length(32);
      const r3 = await http('POST', '/v1/users', { username: three, password: 'password123' });
      expect(r3.status, r3.text).to.equal(201);
      const r32 = await http('POST', '/v1/users', { username: long, password: 'password123' });
      expect(r32.status, r32.text).to.equal(201);
    });

    const badUsernames: Array<[string, unknown]> = [
      ['too short (2)', 'ab'],
      ['too long (33)', 'a'.repeat(33)],
      ['uppercase', 'Alice_x1'],
      ['a space', 'bad name'],
      ['a bad character (@)', 'bad@name'],
      ['a non-ASCII letter', 'josé_abc'],
      ['empty', ''],
      ['a number', 12345],
      ['null', null],
      ['an array', ['abc']],
    ];
    for (const [label, username] of badUsernames) {
      it(`refuses a username that is ${label}: 400 invalid_argument naming username`, async function () {
        const res = await http('POST', '/v1/users', { username, password: 'password123' });
        expectHttpError(res, 400, 'invalid_argument', 'username');
      });
    }

    it('refuses a missing username: 400 invalid_argument naming username', async function () {
      const res = await http('POST', '/v1/users', { password: 'password123' });
      expectHttpError(res, 400, 'invalid_argument', 'username');
    });

    it('refuses a password of 7 characters: 400 invalid_argument naming password', async function () {
      const res = await http('POST', '/v1/users', { username: uniqueName('pw7'), password: '1234567' });
      expectHttpError(res, 400, 'invalid_argument', 'password');
    });

    it('refuses a password of 129 characters: 400 invalid_argument naming password', async function () {
      const res = await http('POST', '/v1/users', { username: uniqueName('pw129'), password: 'p'.repeat(129) });
      expectHttpError(res, 400, 'invalid_argument', 'password');
    });

    it('refuses a missing or non-string password: 400 invalid_argument naming password', async function () {
      const missing = await http('POST', '/v1/users', { username: uniqueName('pwm') });
      expectHttpError(missing, 400, 'invalid_argument', 'password');
      const numeric = await http('POST', '/v1/users', { username: uniqueName('pwn'), password: 123456789 });
      expectHttpError(numeric, 400, 'invalid_argument', 'password');
    });

    it('accepts passwords of exactly 8 and 128 characters, and both log in', async function () {
      for (const password of ['12345678', 'q'.repeat(128)]) {
        const username = uniqueName('pwok');
        const reg = await http('POST', '/v1/users', { username, password });
        expect(reg.status, reg.text).to.equal(201);
        const login = await http('POST', '/v1/sessions', { username, password });
        expect(login.status, login.text).to.equal(200);
      }
    });

    it('counts password length in characters, not bytes (8 two-byte characters are enough)', async function () {
      const username = uniqueName('pwutf');
      const res = await http('POST', '/v1/users', { username, password: 'éééééééé' });
      expect(res.status, res.text).to.equal(201);
    });

    it('refuses a non-string displayName: 400 invalid_argument naming displayName', async function () {
      const res = await http('POST', '/v1/users', { username: uniqueName('dn'), password: 'password123', displayName: 42 });
      expectHttpError(res, 400, 'invalid_argument', 'displayName');
    });

    it('refuses a taken username: 409 conflict', async function () {
      const username = uniqueName('taken');
      const first = await http('POST', '/v1/users', { username, password: 'password123' });
      expect(first.status).to.equal(201);
      const second = await http('POST', '/v1/users', { username, password: 'another-password' });
      expectHttpError(second, 409, 'conflict');
    });

    it('does not limit registrations: 30 in a row all succeed', async function () {
      for (let i = 0; i < 30; i++) {
        const res = await http('POST', '/v1/users', { username: uniqueName('many'), password: 'password123' });
        expect(res.status, `registration ${i}: ${res.text}`).to.equal(201);
      }
    });
  });

  describe('POST /v1/sessions', function () {
    it('logs in: 200 {accessToken, refreshToken, expiresIn, user {id, username, displayName}}', async function () {
      const username = uniqueName('login');
      const reg = await http('POST', '/v1/users', { username, password: SPEC_PASSWORD, displayName: 'Grace' });
      const res = await http('POST', '/v1/sessions', { username, password: SPEC_PASSWORD });
      expect(res.status, res.text).to.equal(200);
      expect(res.body.accessToken).to.be.a('string').and.not.equal('');
      expect(res.body.refreshToken).to.be.a('string').and.not.equal('');
      expect(res.body.accessToken).to.not.equal(res.body.refreshToken);
      expect(res.body.expiresIn).to.be.a('number').and.be.greaterThan(0);
      expect(res.body.user).to.deep.equal({ id: reg.body.id, username, displayName: 'Grace' });
    });

    it('refuses a wrong password: 401 unauthenticated', async function () {
      const { user } = await registerAndLogin(server.baseUrl);
      const res = await http('POST', '/v1/sessions', { username: user.username, password: 'wrong-password' });
      expectHttpError(res, 401, 'unauthenticated');
    });

    it('refuses an unknown username: 401 unauthenticated', async function () {
      const res = await http('POST', '/v1/sessions', { username: uniqueName('ghost'), password: 'password123' });
      expectHttpError(res, 401, 'unauthenticated');
    });

    it('refuses a password over 128 characters: 400 invalid_argument naming password', async function () {
      const { user } = await registerAndLogin(server.baseUrl);
      const res = await http('POST', '/v1/sessions', { username: user.username, password: 'x'.repeat(129) });
      expectHttpError(res, 400, 'invalid_argument', 'password');
    });

    it('refuses a missing username or password: 400 invalid_argument naming the field', async function () {
      expectHttpError(await http('POST', '/v1/sessions', { password: 'password123' }), 400, 'invalid_argument', 'username');
      expectHttpError(await http('POST', '/v1/sessions', { username: uniqueName('nopw') }), 400, 'invalid_argument', 'password');
    });

    it('rate limits the 11th failed login for one username within a minute: 429 rate_limited with Retry-After', async function () {
      const { user } = await registerAndLogin(server.baseUrl);
      for (let i = 1; i <= 10; i++) {
        const res = await http('POST', '/v1/sessions', { username: user.username, password: `wrong-${i}-password` });
        expectHttpError(res, 401, 'unauthenticated');
      }
      const res = await http('POST', '/v1/sessions', { username: user.username, password: 'wrong-11-password' });
      expectHttpError(res, 429, 'rate_limited');
      const retryAfter = res.headers.get('retry-after');
      expect(retryAfter, 'Retry-After header').to.be.a('string');
      expect(Number(retryAfter), `Retry-After ${retryAfter}`).to.be.greaterThan(0);
    });

    it('holds the per-username limit against parallel guesses: of 25 at once, exactly 10 are answered 401', async function () {
      const { user } = await registerAndLogin(server.baseUrl);
      const answers = await Promise.all(
        Array.from({ length: 25 }, (_, i) => http('POST', '/v1/sessions', { username: user.username, password: `parallel-${i}-guess` })),
      );
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s === 401), statuses.join(' ')).to.have.length(10);
      expect(statuses.filter((s) => s === 429), statuses.join(' ')).to.have.length(15);
    });

    it('keeps the failed-login limit per username: another user still logs in', async function () {
      const victim = await registerAndLogin(server.baseUrl);
      for (let i = 0; i < 11; i++) {
        await http('POST', '/v1/sessions', { username: victim.user.username, password: 'wrong-password' });
      }
      const other = await registerAndLogin(server.baseUrl);
      const res = await http('POST', '/v1/sessions', { username: other.user.username, password: other.password });
      expect(res.status, res.text).to.equal(200);
    });

    it('does not limit successful logins: 30 in a row all succeed', async function () {
      const { user, password } = await registerAndLogin(server.baseUrl);
      for (let i = 0; i < 30; i++) {
        const res = await http('POST', '/v1/sessions', { username: user.username, password });
        expect(res.status, `login ${i}: ${res.text}`).to.equal(200);
      }
    });
  });

  describe('POST /v1/sessions/refresh', function () {
    it('rotates: answers the login shape with new tokens that work', async function () {
      const login = await registerAndLogin(server.baseUrl);
      const res = await http('POST', '/v1/sessions/refresh', { refreshToken: login.refreshToken });
      expect(res.status, res.text).to.equal(200);
      expect(res.body.accessToken).to.be.a('string');
      expect(res.body.refreshToken).to.be.a('string').and.not.equal(login.refreshToken);
      expect(res.body.expiresIn).to.be.a('number').and.be.greaterThan(0);
      expect(res.body.user).to.deep.equal(login.user);
      const me = await http('GET', '/v1/me', undefined, res.body.accessToken);
      expect(me.status).to.equal(200);
      expect(me.body.id).to.equal(login.user.id);
      const again = await http('POST', '/v1/sessions/refresh', { refreshToken: res.body.refreshToken });
      expect(again.status, 'the new refresh token is usable once').to.equal(200);
    });

    it('treats a reused refresh token as theft: 401, and the newer token of that login is revoked too', async function () {
      const login = await registerAndLogin(server.baseUrl);
      const first = await http('POST', '/v1/sessions/refresh', { refreshToken: login.refreshToken });
      expect(first.status).to.equal(200);
      const reuse = await http('POST', '/v1/sessions/refresh', { refreshToken: login.refreshToken });
      expectHttpError(reuse, 401, 'unauthenticated');
      const newer = await http('POST', '/v1/sessions/refresh', { refreshToken: first.body.refreshToken });
      expectHttpError(newer, 401, 'unauthenticated');
    });

    it('revokes only the login whose token was reused: another login of the same user keeps refreshing', async function () {
      const login = await registerAndLogin(server.baseUrl);
      const second = await http('POST', '/v1/sessions', { username: login.user.username, password: login.password });
      expect(second.status).to.equal(200);
      await http('POST', '/v1/sessions/refresh', { refreshToken: login.refreshToken });
      await http('POST', '/v1/sessions/refresh', { refreshToken: login.refreshToken });
      const other = await http('POST', '/v1/sessions/refresh', { refreshToken: second.body.refreshToken });
      expect(other.status, other.text).to.equal(200);
    });

    it('refuses an unknown refresh token: 401 unauthenticated', async function () {
      const res = await http('POST', '/v1/sessions/refresh', { refreshToken: 'not-a-real-refresh-token' });
      expectHttpError(res, 401, 'unauthenticated');
    });

    it('refuses an access token presented as a refresh token: 401 unauthenticated', async function () {
      const login = await registerAndLogin(server.baseUrl);
      const res = await http('POST', '/v1/sessions/refresh', { refreshToken: login.accessToken });
      expectHttpError(res, 401, 'unauthenticated');
    });

    it('refuses a missing or non-string refreshToken: 400 invalid_argument naming refreshToken', async function () {
      expectHttpError(await http('POST', '/v1/sessions/refresh', {}), 400, 'invalid_argument', 'refreshToken');
      expectHttpError(await http('POST', '/v1/sessions/refresh', { refreshToken: 42 }), 400, 'invalid_argument', 'refreshToken');
    });
  });

  describe('DELETE /v1/sessions', function () {
    it('logs out without an access token: 204, then that refresh token is refused with 401', async function () {
      const login = await registerAndLogin(server.baseUrl);
      const res = await http('DELETE', '/v1/sessions', { refreshToken: login.refreshToken });
      expect(res.status, res.text).to.equal(204);
      const refresh = await http('POST', '/v1/sessions/refresh', { refreshToken: login.refreshToken });
      expectHttpError(refresh, 401, 'unauthenticated');
    });

    it('revokes every refresh token of that login, including ones issued by rotation', async function () {
      const login = await registerAndLogin(server.baseUrl);
      const rotated = await http('POST', '/v1/sessions/refresh', { refreshToken: login.refreshToken });
      expect(rotated.status).to.equal(200);
      const res = await http('DELETE', '/v1/sessions', { refreshToken: rotated.body.refreshToken });
      expect(res.status).to.equal(204);
      expectHttpError(await http('POST', '/v1/sessions/refresh', { refreshToken: rotated.body.refreshToken }), 401, 'unauthenticated');
    });

    it('refuses a missing refreshToken: 400 invalid_argument naming refreshToken', async function () {
      expectHttpError(await http('DELETE', '/v1/sessions', {}), 400, 'invalid_argument', 'refreshToken');
    });

    it('leaves the user’s other logins alone', async function () {
      const login = await registerAndLogin(server.baseUrl);
      const second = await http('POST', '/v1/sessions', { username: login.user.username, password: login.password });
      await http('DELETE', '/v1/sessions', { refreshToken: login.refreshToken });
      const res = await http('POST', '/v1/sessions/refresh', { refreshToken: second.body.refreshToken });
      expect(res.status, res.text).to.equal(200);
    });
  });

  describe('GET /v1/me and Bearer tokens', function () {
    it('answers 200 {id, username, displayName} for a valid access token', async function () {
      const login = await registerAndLogin(server.baseUrl);
      const res = await http('GET', '/v1/me', undefined, login.accessToken);
      expect(res.status, res.text).to.equal(200);
      expect(res.body).to.deep.include({ id: login.user.id, username: login.user.username, displayName: login.user.displayName });
    });

    it('refuses a request without a token: 401 unauthenticated', async function () {
      expectHttpError(await http('GET', '/v1/me'), 401, 'unauthenticated');
    });

    it('refuses a garbage token: 401 unauthenticated', async function () {
      expectHttpError(await http('GET', '/v1/me', undefined, 'garbage'), 401, 'unauthenticated');
      expectHttpError(await http('GET', '/v1/me', undefined, 'a.b.c'), 401, 'unauthenticated');
    });

    it('refuses a token in another scheme than Bearer: 401 unauthenticated', async function () {
      const login = await registerAndLogin(server.baseUrl);
      const res = await http.raw('GET', '/v1/me', { headers: { authorization: `Basic ${login.accessToken}` } });
      expectHttpError(res, 401, 'unauthenticated');
    });

    it('refuses a token whose signature was tampered with: 401 unauthenticated', async function () {
      const login = await registerAndLogin(server.baseUrl);
      const [header, payload, signature] = login.accessToken.split('.');
      expect(signature, 'the access token is a JWS').to.be.a('string');
      const sig = Buffer.from(signature as string, 'base64url');
      sig[0] = (sig[0] ?? 0) ^ 0xff;
      const tampered = `${header}.${payload}.${sig.toString('base64url')}`;
      expectHttpError(await http('GET', '/v1/me', undefined, tampered), 401, 'unauthenticated');
    });

    it('refuses a token whose payload was changed (another subject) under the original signature: 401', async function () {
      const login = await registerAndLogin(server.baseUrl);
      const other = await registerAndLogin(server.baseUrl);
      const [header, , signature] = login.accessToken.split('.');
      const claims = decodePart(login.accessToken, 1);
      const forged = `${header}.${b64url({ ...claims, sub: other.user.id })}.${signature}`;
      expectHttpError(await http('GET', '/v1/me', undefined, forged), 401, 'unauthenticated');
    });

    it('refuses an unsigned token (alg none): 401 unauthenticated', async function () {
      const login = await registerAndLogin(server.baseUrl);
      const header = decodePart(login.accessToken, 0);
      const claims = decodePart(login.accessToken, 1);
      const unsigned = `${b64url({ ...header, alg: 'none' })}.${b64url(claims)}.`;
      expectHttpError(await http('GET', '/v1/me', undefined, unsigned), 401, 'unauthenticated');
      const bare = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
      expectHttpError(await http('GET', '/v1/me', undefined, bare), 401, 'unauthenticated');
    });

    it('refuses an expired-looking token (exp in the past, original signature): 401 unauthenticated', async function () {
      const login = await registerAndLogin(server.baseUrl);
      const [header, , signature] = login.accessToken.split('.');
      const claims = decodePart(login.accessToken, 1);
      const past = Math.floor(Date.now() / 1000) - 3600;
      const expired = `${header}.${b64url({ ...claims, iat: past - 60, exp: past })}.${signature}`;
      expectHttpError(await http('GET', '/v1/me', undefined, expired), 401, 'unauthenticated');
    });

    it('refuses a refresh token presented as an access token: 401 unauthenticated', async function () {
      const login = await registerAndLogin(server.baseUrl);
      expectHttpError(await http('GET', '/v1/me', undefined, login.refreshToken), 401, 'unauthenticated');
    });
  });
});

describe('protocol: failed logins per client address', function () {
  let server: TestServer;
  before(async function () {
    server = await startTestServer();
  });
  after(async function () {
    await server?.stop();
  });

  it('rate limits after 100 failed logins a minute from one address, across usernames: 429 with Retry-After', async function () {
    this.timeout(60000);
    const http = api(server.baseUrl);
    const users = [];
    for (let i = 0; i < 11; i++) users.push(await registerAndLogin(server.baseUrl));
    // 10 users × 10 failures = 100 failures, none over the per-username limit.
    for (let u = 0; u < 10; u++) {
      for (let i = 0; i < 10; i++) {
        const res = await http('POST', '/v1/sessions', { username: users[u]!.user.username, password: 'wrong-password' });
        expect(res.status, `failure ${u * 10 + i + 1}: ${res.text}`).to.equal(401);
      }
    }
    const res = await http('POST', '/v1/sessions', { username: users[10]!.user.username, password: 'wrong-password' });
    expectHttpError(res, 429, 'rate_limited');
    expect(Number(res.headers.get('retry-after'))).to.be.greaterThan(0);
  });

  it('holds the per-address limit against parallel guesses once the address has failed: at most 100 failures in all', async function () {
    this.timeout(60000);
    const fresh = await startTestServer();
    try {
      const http = api(fresh.baseUrl);
      expect((await http('POST', '/v1/sessions', { username: uniqueName('nobody'), password: 'wrong-password' })).status).to.equal(401);
      const answers = await Promise.all(
        Array.from({ length: 150 }, () => http('POST', '/v1/sessions', { username: uniqueName('nobody'), password: 'wrong-password' })),
      );
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s === 401), 'failures after the first').to.have.length(99);
      expect(statuses.filter((s) => s === 429)).to.have.length(51);
    } finally {
      await fresh.stop();
    }
  });

  it('lets parallel successful logins from one clean address all through', async function () {
    this.timeout(60000);
    const fresh = await startTestServer();
    try {
      const http = api(fresh.baseUrl);
      const users = await Promise.all(Array.from({ length: 120 }, () => registerAndLogin(fresh.baseUrl)));
      const answers = await Promise.all(users.map((u) => http('POST', '/v1/sessions', { username: u.user.username, password: u.password })));
      expect(answers.map((r) => r.status).filter((s) => s !== 200)).to.deep.equal([]);
    } finally {
      await fresh.stop();
    }
  });
});
