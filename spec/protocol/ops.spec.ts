// Covers PROTOCOL.md § HTTP: GET /healthz, GET /readyz, GET /metrics (Prometheus text), and
// § WebSocket: closing with 1013 (try again later) while shutting down.
import { expect } from 'chai';
import { api, closeAllClients, connect, registerAndLogin, type Api } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('protocol: operations endpoints', function () {
  let server: TestServer;
  let http: Api;

  before(async function () {
    server = await startTestServer();
    http = api(server.baseUrl);
  });
  afterEach(closeAllClients);
  after(async function () {
    await server?.stop();
  });

  it('answers GET /healthz with 200 without a token', async function () {
    expect((await http('GET', '/healthz')).status).to.equal(200);
  });

  it('answers GET /readyz with 200 when it can serve', async function () {
    expect((await http('GET', '/readyz')).status).to.equal(200);
  });

  it('answers GET /metrics with Prometheus text naming troupe_ metrics', async function () {
    const user = await registerAndLogin(server.baseUrl);
    await connect(server.wsUrl(user.accessToken));
    const res = await http('GET', '/metrics');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type') ?? '').to.match(/^text\/plain/);
    expect(res.text).to.match(/^# HELP troupe_\w+ /m);
    expect(res.text).to.match(/^# TYPE troupe_\w+ (counter|gauge|histogram|summary)$/m);
    expect(res.text).to.match(/^troupe_connections(\{[^}]*\})? \d+/m);
    for (const line of res.text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      expect(line, 'every sample line is `name{labels} value`').to.match(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? -?[0-9.e+Na-zInf-]+( \d+)?$/);
    }
  });

  it('counts what an operator watches: failed logins, stored messages, ack latency, actors, mailbox depth', async function () {
    const user = await registerAndLogin(server.baseUrl);
    expect((await http('POST', '/v1/sessions', { username: user.user.username, password: 'wrong password!' })).status).to.equal(401);
    const group = await http('POST', '/v1/conversations', { type: 'group', name: 'metrics', members: [] }, user.accessToken);
    const { client } = await connect(server.wsUrl(user.accessToken));
    client.send({ type: 'send', id: 'metric-1', conv: group.body.id, body: { text: 'count me' } });
    await client.next((f) => f.type === 'ack');
    const text = (await http('GET', '/metrics')).text;
    const sample = (pattern: RegExp): number => Number(pattern.exec(text)?.[1] ?? NaN);
    expect(sample(/^troupe_login_failures_total(?:\{[^}]*\})? (\d+)/m)).to.be.at.least(1);
    expect(sample(/^troupe_messages_stored_total(?:\{[^}]*\})? (\d+)/m)).to.be.at.least(1);
    expect(sample(/^troupe_ack_latency_seconds_count(?:\{[^}]*\})? (\d+)/m)).to.be.at.least(1);
    expect(sample(/^troupe_active_actors\{[^}]*kind="conversation"[^}]*\} (\d+)/m)).to.be.at.least(1);
    expect(sample(/^troupe_frames_in_total\{[^}]*type="send"[^}]*\} (\d+)/m)).to.be.at.least(1);
    expect(text).to.match(/^troupe_mailbox_depth\{/m);
  });
});

describe('protocol: shutdown', function () {
  it('closes open WebSockets with 1013 when the server stops', async function () {
    const server = await startTestServer();
    try {
      const user = await registerAndLogin(server.baseUrl);
      const { client } = await connect(server.wsUrl(user.accessToken));
      const { client: second } = await connect(server.wsUrl(user.accessToken));
      const stopping = server.stop();
      const [closed, closedSecond] = await Promise.all([client.closed, second.closed]);
      expect(closed.code).to.equal(1013);
      expect(closedSecond.code).to.equal(1013);
      await stopping;
    } finally {
      await server.stop();
      await closeAllClients();
    }
  });
});
