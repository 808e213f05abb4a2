// Covers docs/protocol.md § HTTP: the error body `{"error": {"code", "message"}}` and the
// `invalid_argument` (malformed JSON), `too_large` (body over 64 KiB) and `not_found` rows.
import { expect } from 'chai';
import { api, registerAndLogin, uniqueName, type Api } from '../support/client.js';
import { expectHttpError } from '../support/expect-error.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('protocol: HTTP errors', function () {
  let server: TestServer;
  let http: Api;

  before(async function () {
    server = await startTestServer();
    http = api(server.baseUrl);
  });
  after(async function () {
    await server?.stop();
  });

  it('answers malformed JSON with 400 invalid_argument', async function () {
    const res = await http.raw('POST', '/v1/users', {
      headers: { 'content-type': 'application/json' },
      body: '{"username": "abc", "password": ',
    });
    expectHttpError(res, 400, 'invalid_argument');
  });

  it('answers malformed JSON on an authenticated endpoint with 400 invalid_argument', async function () {
    const login = await registerAndLogin(server.baseUrl);
    const res = await http.raw('POST', '/v1/conversations', {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${login.accessToken}` },
      body: '{type: group}',
    });
    expectHttpError(res, 400, 'invalid_argument');
  });

  it('answers a JSON body that is not an object with 400 invalid_argument', async function () {
    for (const body of ['[]', '"text"', '42', 'null']) {
      const res = await http.raw('POST', '/v1/users', { headers: { 'content-type': 'application/json' }, body });
      expectHttpError(res, 400, 'invalid_argument');
    }
  });

  it('answers a body over 64 KiB with 413 too_large', async function () {
    const body = JSON.stringify({ username: uniqueName('big'), password: 'password123', displayName: 'x'.repeat(65 * 1024) });
    const res = await http.raw('POST', '/v1/users', { headers: { 'content-type': 'application/json' }, body });
    expectHttpError(res, 413, 'too_large');
  });

  it('answers a body of 64 KiB + 1 byte with 413 too_large', async function () {
    const prefix = '{"refreshToken":"';
    const body = prefix + 'r'.repeat(64 * 1024 + 1 - prefix.length - 2) + '"}';
    expect(Buffer.byteLength(body)).to.equal(64 * 1024 + 1);
    const res = await http.raw('POST', '/v1/sessions/refresh', { headers: { 'content-type': 'application/json' }, body });
    expectHttpError(res, 413, 'too_large');
  });

  it('does not refuse a body of exactly 64 KiB as too large', async function () {
    const prefix = '{"refreshToken":"';
    const body = prefix + 'r'.repeat(64 * 1024 - prefix.length - 2) + '"}';
    expect(Buffer.byteLength(body)).to.equal(64 * 1024);
    const res = await http.raw('POST', '/v1/sessions/refresh', { headers: { 'content-type': 'application/json' }, body });
    expect(res.status, res.text).to.not.equal(413);
    expect(res.body?.error?.code).to.not.equal('too_large');
  });

  it('answers an unknown path with 404 not_found', async function () {
    expectHttpError(await http('GET', '/v1/no-such-thing'), 404, 'not_found');
    expectHttpError(await http('GET', '/nope'), 404, 'not_found');
    expectHttpError(await http('POST', '/v2/users', { username: 'abc' }), 404, 'not_found');
  });

  it('answers an unknown path with 404 not_found even with a valid token', async function () {
    const login = await registerAndLogin(server.baseUrl);
    expectHttpError(await http('GET', '/v1/conversations/x/nothing', undefined, login.accessToken), 404, 'not_found');
  });

  it('answers authenticated endpoints without a token with 401 unauthenticated', async function () {
    expectHttpError(await http('GET', '/v1/conversations'), 401, 'unauthenticated');
    expectHttpError(await http('POST', '/v1/conversations', { type: 'group', name: 'g', members: [] }), 401, 'unauthenticated');
    expectHttpError(await http('GET', '/v1/conversations/some-id'), 401, 'unauthenticated');
    expectHttpError(await http('GET', '/v1/conversations/some-id/messages'), 401, 'unauthenticated');
    expectHttpError(await http('POST', '/v1/conversations/some-id/members', { members: [] }), 401, 'unauthenticated');
    expectHttpError(await http('DELETE', '/v1/conversations/some-id/members/someone'), 401, 'unauthenticated');
  });

  it('authenticates before judging an id of any length: 401 without a token, 404 not_found with one', async function () {
    const longId = `c_${'a'.repeat(300)}`;
    expectHttpError(await http('GET', `/v1/conversations/${longId}`), 401, 'unauthenticated');
    const login = await registerAndLogin(server.baseUrl);
    for (const path of [`/v1/conversations/${longId}`, `/v1/conversations/${longId}/messages`]) {
      const res = await http('GET', path, undefined, login.accessToken);
      expectHttpError(res, 404, 'not_found');
      expect(res.text.length, 'the answer does not echo the whole path').to.be.below(300);
    }
  });

  it('answers errors as JSON', async function () {
    const res = await http('GET', '/v1/no-such-thing');
    expect(res.headers.get('content-type') ?? '').to.match(/application\/json/);
  });
});
