// Covers docs/protocol.md § Accounts and sessions, "Find a user by username": GET /v1/users?username=
// answers exactly one user or 404, needs a token, refuses a malformed name, and limits each
// caller's look-ups (10 a minute by default, found or not) with 429 and Retry-After.
import { expect } from 'chai';
import { api, registerAndLogin, uniqueName, type Api, type LoggedIn } from '../support/client.js';
import { expectHttpError } from '../support/expect-error.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** auth.userLookupsPerCaller's default. */
const LOOKUPS_PER_MINUTE = 10;

describe('protocol: finding users by username', function () {
  let server: TestServer;
  let http: Api;
  const login = (name?: string): Promise<LoggedIn> => registerAndLogin(server.baseUrl, name);
  const lookup = (caller: LoggedIn | undefined, username: string) =>
    http('GET', `/v1/users?username=${encodeURIComponent(username)}`, undefined, caller?.accessToken);

  before(async function () {
    server = await startTestServer();
    http = api(server.baseUrl);
  });
  after(async function () {
    await server?.stop();
  });

  it('answers 200 with exactly the id, username and display name of the user with that name', async function () {
    const [caller, target] = [await login(), await login()];
    const res = await lookup(caller, target.user.username);
    expect(res.status, res.text).to.equal(200);
    expect(res.body).to.deep.equal({ id: target.user.id, username: target.user.username, displayName: target.user.displayName });
  });

  it('finds the caller itself too', async function () {
    const caller = await login();
    const res = await lookup(caller, caller.user.username);
    expect(res.status).to.equal(200);
    expect(res.body.id).to.equal(caller.user.id);
  });

  it('answers 404 not_found for a name nobody has, and for a prefix or extension of a taken one (exact match only)', async function () {
    const [caller, target] = [await login(), await login(uniqueName('exact'))];
    expectHttpError(await lookup(caller, uniqueName('nobody')), 404, 'not_found');
    expectHttpError(await lookup(caller, target.user.username.slice(0, -1)), 404, 'not_found');
    expectHttpError(await lookup(caller, `${target.user.username}x`), 404, 'not_found');
  });

  it('answers 401 unauthenticated without a token or with a bad one, before looking anything up', async function () {
    const target = await login();
    expectHttpError(await lookup(undefined, target.user.username), 401, 'unauthenticated');
    const forged = await http('GET', `/v1/users?username=${target.user.username}`, undefined, 'not-a-token');
    expectHttpError(forged, 401, 'unauthenticated');
  });

  it('answers 400 invalid_argument naming `username` when it is missing, empty or could not be a username', async function () {
    const caller = await login();
    expectHttpError(await http('GET', '/v1/users', undefined, caller.accessToken), 400, 'invalid_argument', 'username');
    for (const bad of ['', 'ab', 'UPPER', 'with space', 'x'.repeat(33), 'é-accent']) {
      expectHttpError(await lookup(caller, bad), 400, 'invalid_argument', 'username');
    }
  });

  it(`answers 429 rate_limited with Retry-After once a caller made ${LOOKUPS_PER_MINUTE} look-ups within a minute, found or not; other callers are not held back`, async function () {
    const [caller, other, target] = [await login(), await login(), await login()];
    for (let i = 0; i < LOOKUPS_PER_MINUTE; i++) {
      const res = await lookup(caller, i % 2 === 0 ? target.user.username : uniqueName('miss'));
      expect(res.status, `look-up ${i + 1}: ${res.text}`).to.equal(i % 2 === 0 ? 200 : 404);
    }
    for (const name of [target.user.username, uniqueName('miss')]) {
      const limited = await lookup(caller, name);
      expectHttpError(limited, 429, 'rate_limited');
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).to.be.within(1, 60);
    }
    expect((await lookup(other, target.user.username)).status).to.equal(200);
  });

  it('cannot be outrun by parallel look-ups: of 30 at once, exactly the limit are answered', async function () {
    const [caller, target] = [await login(), await login()];
    const answers = await Promise.all(Array.from({ length: 30 }, () => lookup(caller, target.user.username)));
    expect(answers.filter((r) => r.status === 200)).to.have.length(LOOKUPS_PER_MINUTE);
    expect(answers.filter((r) => r.status === 429)).to.have.length(30 - LOOKUPS_PER_MINUTE);
  });
});
