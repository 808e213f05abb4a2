// Covers docs/protocol.md § Guarantees: Idempotency, and the `ack` row of § WebSocket: a re-sent
// (conversation, sender, id) is answered with the identical ack and stores nothing, however
// long ago the first send was — after many other messages, and after the conversation went
// idle. (The rest of the idempotency rows are in ws-frames.spec.ts and concurrency.spec.ts.)
import { expect } from 'chai';
import { api, closeAllClients, connect, registerAndLogin } from '../support/client.js';
import { clientMsgId, createGroup, fetchAllMessages, sendMany, sendMessage } from '../support/chat.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait-for.js';

const UNLIMITED_FRAMES = { 'gateway.rateLimit.burst': 100000, 'gateway.rateLimit.perSecond': 100000 };

describe('protocol: idempotent sends over time', function () {
  this.timeout(60000);
  let server: TestServer;

  before(async function () {
    server = await startTestServer(UNLIMITED_FRAMES);
  });
  afterEach(closeAllClients);
  after(async function () {
    await server?.stop();
  });

  it('answers a re-send after 1,100 later messages with the identical ack and keeps the original body', async function () {
    const http = api(server.baseUrl);
    const [a, b] = [await registerAndLogin(server.baseUrl), await registerAndLogin(server.baseUrl)];
    const conv = await createGroup(http, a, [b.user.id]);
    const { client } = await connect(server.wsUrl(a.accessToken));
    const id = clientMsgId('early');
    const first = await sendMessage(client, conv.id, { text: 'the original' }, id);
    await sendMany(client, conv.id, 1100, { prefix: 'later', window: 100 });
    const { client: other } = await connect(server.wsUrl(a.accessToken));
    const again = await sendMessage(other, conv.id, { text: 'a different body' }, id);
    expect(again).to.deep.equal(first);
    const stored = await fetchAllMessages(http, a.accessToken, conv.id);
    expect(stored).to.have.length(1101);
    expect(stored[0].body).to.deep.equal({ text: 'the original' });
  });
});

describe('protocol: idempotent sends after the conversation went idle', function () {
  this.timeout(30000);
  let server: TestServer;

  before(async function () {
    // Idle actors are passivated after 1 s and remember no recent ids: only storage can answer.
    server = await startTestServer({ 'actors.passivateAfterMs': 1000, 'actors.dedupeWindow': 0 });
  });
  afterEach(closeAllClients);
  after(async function () {
    await server?.stop();
  });

  it('answers a re-send with the identical ack after the conversation was idle and its actor passivated, storing nothing new', async function () {
    const http = api(server.baseUrl);
    const [a, b] = [await registerAndLogin(server.baseUrl), await registerAndLogin(server.baseUrl)];
    const conv = await createGroup(http, a, [b.user.id]);
    const { client } = await connect(server.wsUrl(a.accessToken));
    const id = clientMsgId('idle');
    const first = await sendMessage(client, conv.id, { text: 'before the pause' }, id);
    await sendMessage(client, conv.id, { text: 'second' });
    await client.close();
    // Wait for the passivation itself, as the server counts it: this server has no other
    // conversation, so its first conversation passivation is this one's.
    const passivated = async (): Promise<boolean> => {
      const text = (await http('GET', '/metrics')).text;
      return Number(/^troupe_passivations_total\{[^}]*kind="conversation"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0) >= 1;
    };
    await waitFor(passivated, { intervalMs: 100, message: 'the conversation actor to be passivated' });
    const { client: again } = await connect(server.wsUrl(a.accessToken));
    expect(await sendMessage(again, conv.id, { text: 'before the pause' }, id)).to.deep.equal(first);
    expect((await sendMessage(again, conv.id, { text: 'third' })).seq).to.equal(3);
    expect((await fetchAllMessages(http, a.accessToken, conv.id)).map((m) => m.body.text)).to.deep.equal(['before the pause', 'second', 'third']);
  });
});
