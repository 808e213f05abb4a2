// Covers docs/protocol.md § WebSocket, last paragraphs: per-connection frame rate limiting
// (bursts of 60, 20 frames/s refill, `rate_limited` refusals that are not processed and do not
// close), close 1008 for sustained abuse, and closing a client that cannot keep up
// (send backpressure) which then recovers by reconnecting and syncing.
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { api, closeAllClients, connect, registerAndLogin, type Json } from '../support/client.js';
import { createGroup, fetchAllMessages, sendMany } from '../support/chat.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait-for.js';

const isPong = (f: Json): boolean => f.type === 'pong';
const isRateLimited = (f: Json): boolean => f.type === 'error' && f.code === 'rate_limited';

describe('protocol: frame rate limits (default configuration)', function () {
  this.timeout(30000);
  let server: TestServer;

  before(async function () {
    server = await startTestServer();
  });
  afterEach(closeAllClients);
  after(async function () {
    await server?.stop();
  });

  it('refuses frames beyond the burst with `rate_limited`, keeps the connection, and serves again after refill', async function () {
    const user = await registerAndLogin(server.baseUrl);
    const { client } = await connect(server.wsUrl(user.accessToken));
    for (let i = 0; i < 200; i++) client.send({ type: 'ping' });
    await waitFor(() => client.count(isPong) + client.count(isRateLimited) >= 200, { message: '200 answers', timeoutMs: 10000 });
    const pongs = client.count(isPong);
    const limited = client.count(isRateLimited);
    expect(pongs + limited, 'every frame is answered once').to.equal(200);
    expect(pongs, 'the burst of 60 is served').to.be.at.least(60);
    expect(limited, 'frames over the burst are refused').to.be.at.least(100);
    for (const frame of client.frames.filter(isRateLimited)) expect(frame.message).to.be.a('string');
    await client.assertNoFrame((f) => f.type === 'error' && f.code !== 'rate_limited');
    expect(client.isOpen, 'a refused frame never closes the connection').to.equal(true);

    // The bucket refills at 20 frames/s: after 3 s a burst of 50 is served in full.
    await sleep(3100);
    const before = { pongs: client.count(isPong), limited: client.count(isRateLimited) };
    for (let i = 0; i < 50; i++) client.send({ type: 'ping' });
    await waitFor(() => client.count(isPong) - before.pongs >= 50, { message: '50 pongs after refill' });
    expect(client.count(isRateLimited)).to.equal(before.limited);
  });

  it('does not process a refused frame: a rate-limited send is not stored', async function () {
    const [a, b] = [await registerAndLogin(server.baseUrl), await registerAndLogin(server.baseUrl)];
    const conv = await createGroup(api(server.baseUrl), a, [b.user.id]);
    const { client } = await connect(server.wsUrl(a.accessToken));
    for (let i = 0; i < 100; i++) client.send({ type: 'ping' });
    for (let i = 0; i < 20; i++) client.send({ type: 'send', id: `flood-${i}`, conv: conv.id, body: { text: `flood ${i}` } });
    const answered = (f: Json): boolean => f.type === 'pong' || f.type === 'ack' || f.type === 'error';
    await waitFor(() => client.count(answered) >= 120, { message: 'an answer to each of 120 frames', timeoutMs: 10000 });
    const acks = client.frames.filter((f) => f.type === 'ack');
    expect(acks.length, 'some sends were refused').to.be.lessThan(20);
    const stored = await fetchAllMessages(api(server.baseUrl), a.accessToken, conv.id);
    expect(stored.map((m) => m.seq)).to.deep.equal(acks.map((ack) => ack.seq));
    const ackedTexts = acks.map((ack) => `flood ${String(ack.id).slice('flood-'.length)}`);
    expect(stored.map((m) => m.body.text)).to.deep.equal(ackedTexts);
  });

  it('puts a rate-limited frame’s string id in the error’s ref', async function () {
    const [a, b] = [await registerAndLogin(server.baseUrl), await registerAndLogin(server.baseUrl)];
    const conv = await createGroup(api(server.baseUrl), a, [b.user.id]);
    const { client } = await connect(server.wsUrl(a.accessToken));
    for (let i = 0; i < 80; i++) client.send({ type: 'ping' });
    client.send({ type: 'send', id: 'limited-send', conv: conv.id, body: { text: 'too fast' } });
    const answer = await client.next((f) => (f.type === 'error' && f.code === 'rate_limited' && f.ref !== undefined) || f.type === 'ack', 5000).catch(() => undefined);
    const limited = client.frames.filter(isRateLimited);
    expect(limited.length, 'the flood was limited').to.be.greaterThan(0);
    expect(answer, 'the refused send is answered with an error carrying ref').to.not.equal(undefined);
    expect(answer).to.include({ type: 'error', code: 'rate_limited', ref: 'limited-send' });
  });

  it('limits each connection on its own: a flooded connection does not slow another of the same user', async function () {
    const user = await registerAndLogin(server.baseUrl);
    const { client: flooded } = await connect(server.wsUrl(user.accessToken));
    const { client: calm } = await connect(server.wsUrl(user.accessToken));
    for (let i = 0; i < 150; i++) flooded.send({ type: 'ping' });
    await waitFor(() => flooded.count(isRateLimited) > 0, { message: 'the flood to be limited' });
    for (let i = 0; i < 30; i++) calm.send({ type: 'ping' });
    await waitFor(() => calm.count(isPong) >= 30, { message: '30 pongs on the calm connection' });
    expect(calm.count(isRateLimited)).to.equal(0);
  });
});

describe('protocol: sustained abuse closes with 1008', function () {
  let server: TestServer;

  before(async function () {
    server = await startTestServer({
      'gateway.rateLimit.burst': 5,
      'gateway.rateLimit.perSecond': 1,
      'gateway.abuseRefusedFrames': 20,
      'gateway.abuseWindowMs': 10000,
    });
  });
  afterEach(closeAllClients);
  after(async function () {
    await server?.stop();
  });

  it('keeps a connection with a few refused frames open', async function () {
    const user = await registerAndLogin(server.baseUrl);
    const { client } = await connect(server.wsUrl(user.accessToken));
    for (let i = 0; i < 10; i++) client.send({ type: 'ping' });
    await waitFor(() => client.count(isPong) + client.count(isRateLimited) >= 10, { message: '10 answers' });
    expect(client.count(isRateLimited)).to.be.greaterThan(0);
    await client.assertNoFrame((f) => f.type === 'error' && f.code !== 'rate_limited');
    // One frame refills per second: after that, a ping is served on the same connection.
    await sleep(1100);
    await client.expectAlive();
  });

  it('closes with 1008 once refusals go on past the abuse threshold', async function () {
    const user = await registerAndLogin(server.baseUrl);
    const { client } = await connect(server.wsUrl(user.accessToken));
    for (let i = 0; i < 100; i++) client.send({ type: 'ping' });
    const closed = await Promise.race([client.closed, sleep(5000).then(() => undefined)]);
    expect(closed, 'the connection was closed').to.not.equal(undefined);
    expect(closed?.code).to.equal(1008);
  });
});

describe('protocol: a client that cannot keep up', function () {
  this.timeout(120000);
  let server: TestServer;

  before(async function () {
    server = await startTestServer({
      'gateway.maxBackpressureBytes': 64 * 1024,
      'gateway.rateLimit.burst': 100000,
      'gateway.rateLimit.perSecond': 100000,
    });
  });
  afterEach(closeAllClients);
  after(async function () {
    await server?.stop();
  });

  it('is closed, and recovers every message by reconnecting and syncing', async function () {
    const http = api(server.baseUrl);
    const [sender, slow] = [await registerAndLogin(server.baseUrl), await registerAndLogin(server.baseUrl)];
    const conv = await createGroup(http, sender, [slow.user.id]);
    const { client: senderWs } = await connect(server.wsUrl(sender.accessToken));
    const { client: slowWs } = await connect(server.wsUrl(slow.accessToken));
    // Stop reading: the kernel buffers fill, then the server's send queue grows.
    const tcp = (slowWs.socket as unknown as { _socket: Socket })._socket;
    tcp.pause();
    const pad = 'p'.repeat(7000);
    const count = 2000;
    const acks = await sendMany(senderWs, conv.id, count, { prefix: 'bp', window: 100, body: (i) => ({ text: `bp ${i}`, pad }) });
    tcp.resume();
    const closed = await Promise.race([slowWs.closed, sleep(30000).then(() => undefined)]);
    expect(closed, 'the slow client was closed').to.not.equal(undefined);
    const seen = new Set(slowWs.frames.filter((f) => f.type === 'msg').map((f) => f.seq as number));
    expect(seen.size, 'the slow client missed messages').to.be.lessThan(count);
    const { client: again, ready } = await connect(server.wsUrl(slow.accessToken));
    const entry = ready.conversations.find((c: Json) => c.id === conv.id);
    expect(entry.lastSeq).to.equal(count);
    const recovered: Json[] = [];
    let after = 0;
    for (;;) {
      again.send({ type: 'sync', conv: conv.id, after, limit: 500 });
      const page = await again.next((f) => f.type === 'history' && f.conv === conv.id, 10000);
      recovered.push(...page.messages);
      if (!page.more) break;
      after = page.messages[page.messages.length - 1].seq;
    }
    expect(recovered.map((m) => m.seq)).to.deep.equal(Array.from({ length: count }, (_, i) => i + 1));
    expect(acks).to.have.length(count);
    expect(await fetchAllMessages(http, slow.accessToken, conv.id)).to.have.length(count);
  });
});
