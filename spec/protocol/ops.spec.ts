// Covers docs/protocol.md § HTTP: GET /healthz, GET /readyz, GET /metrics (Prometheus text), and
// § WebSocket: closing with 1013 (try again later) while shutting down.
import { expect } from 'chai';
import { api, closeAllClients, connect, registerAndLogin, type Api, type Json } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { uniqueName, waitFor } from '../support/wait-for.js';

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

describe('protocol: /units and readiness that follows the units', function () {
  let server: TestServer;
  let http: Api;

  before(async function () {
    server = await startTestServer();
    http = api(server.baseUrl);
  });
  after(async function () {
    await server?.stop();
  });

  it('answers GET /units with the node, its readiness and every unit it hosts', async function () {
    // The partitions are claimed as the server starts: wait for them rather than race them.
    await waitFor(async () => (await http('GET', '/units')).body.ready === true, { message: 'the embedded server ready' });
    const res = await http('GET', '/units');
    expect(res.status).to.equal(200);
    expect(res.body).to.include({ role: 'embedded', ready: true });
    expect(res.body.nodeId).to.be.a('string').and.match(/./);
    expect(res.body.problems).to.deep.equal([]);
    expect(res.body.units).to.be.an('array');
    for (const unit of res.body.units as Json[]) {
      expect(unit.state, unit.unit).to.equal('hosted');
      expect(unit.epoch, unit.unit).to.be.a('number');
    }
    expect((await http('GET', '/readyz')).status).to.equal(200);
  });

  it('turns /readyz 503 while a unit is claiming, stuck or fenced, saying which and why, and 200 again once it is hosted or released', async function () {
    const unit = `${uniqueName('spec')}/3`;
    const readyz = async (): Promise<{ status: number; problems: string[]; message: string }> => {
      const res = await http('GET', '/readyz');
      return { status: res.status, problems: res.body.problems ?? [], message: res.body.error?.message ?? '' };
    };
    const listed = async (): Promise<{ ready: boolean; problems: string[]; unit: Json | undefined }> => {
      const res = await http('GET', '/units');
      expect(res.status).to.equal(200);
      return { ready: res.body.ready, problems: res.body.problems, unit: (res.body.units as Json[]).find((u) => u.unit === unit) };
    };
    try {
      server.units.enter(unit, 'claiming');
      const claiming = await readyz();
      expect(claiming.status).to.equal(503);
      expect(claiming.problems).to.include(`${unit} is not hosted yet`);
      expect(claiming.message).to.include(`${unit} is not hosted yet`);
      const whileClaiming = await listed();
      expect(whileClaiming.ready).to.equal(false);
      expect(whileClaiming.problems).to.include(`${unit} is not hosted yet`);
      expect(whileClaiming.unit).to.deep.include({ unit, state: 'claiming', epoch: null, inFlight: 0, oldestInFlightMs: 0, parked: 0 });
      expect(Math.abs(Date.now() - whileClaiming.unit?.since)).to.be.below(60_000);

      server.units.enter(unit, 'hosted', { epoch: 42 });
      let probe = { inFlight: 3, oldestInFlightMs: 1200, parked: 1 };
      server.units.attachProbe(unit, () => probe);
      expect((await readyz()).status).to.equal(200);
      const hosted = await listed();
      expect(hosted.ready).to.equal(true);
      expect(hosted.unit).to.deep.include({ state: 'hosted', epoch: 42, inFlight: 3, oldestInFlightMs: 1200, parked: 1 });

      probe = { inFlight: 1, oldestInFlightMs: 45_000, parked: 0 };
      const stuck = await readyz();
      expect(stuck.status).to.equal(503);
      expect(stuck.problems).to.include(`${unit} has a record unfinished for 45 s`);

      server.units.enter(unit, 'fenced', { reason: 'a newer epoch took it' });
      const fenced = await readyz();
      expect(fenced.status).to.equal(503);
      expect(fenced.problems).to.include(`${unit} is fenced: a newer epoch took it`);
      expect((await listed()).unit).to.deep.include({ state: 'fenced', epoch: 42, reason: 'a newer epoch took it' });
    } finally {
      server.units.enter(unit, 'released');
    }
    expect((await readyz()).status).to.equal(200);
    expect((await listed()).unit).to.equal(undefined);
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
