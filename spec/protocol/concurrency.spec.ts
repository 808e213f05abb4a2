// Covers docs/protocol.md § Guarantees: Order (seq 1, 2, 3, … with no gap or duplicate; one
// connection's messages accepted in the order sent), Delivery (push, or sync from the last
// seq after a reconnect), and idempotent creation under concurrent requests.
import { expect } from 'chai';
import { api, closeAllClients, connect, registerAndLogin, type Api, type Json, type LoggedIn, type WsClient } from '../support/client.js';
import { clientMsgId, createDirect, createGroup, fetchAllMessages, sendMessage } from '../support/chat.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait-for.js';

/** Every message of a conversation after `after`, page by page over `sync`. */
async function syncAll(client: WsClient, conv: string, after: number): Promise<Json[]> {
  const all: Json[] = [];
  let from = after;
  for (;;) {
    client.send({ type: 'sync', conv, after: from });
    const page = await client.next((f) => f.type === 'history' && f.conv === conv, 10000);
    all.push(...page.messages);
    if (!page.more || page.messages.length === 0) return all;
    from = page.messages[page.messages.length - 1].seq;
  }
}

describe('protocol: concurrency and delivery guarantees', function () {
  this.timeout(60000);
  let server: TestServer;
  let http: Api;
  const login = (): Promise<LoggedIn> => registerAndLogin(server.baseUrl);
  const online = async (user: LoggedIn): Promise<WsClient> => (await connect(server.wsUrl(user.accessToken))).client;

  before(async function () {
    server = await startTestServer();
    http = api(server.baseUrl);
  });
  afterEach(closeAllClients);
  after(async function () {
    await server?.stop();
  });

  it('orders 5 members × 40 concurrent sends as seq 1..200 with no gap or duplicate, each sender in its own order', async function () {
    const users: LoggedIn[] = [];
    for (let i = 0; i < 5; i++) users.push(await login());
    const [owner, ...rest] = users as [LoggedIn, ...LoggedIn[]];
    const conv = await createGroup(http, owner, rest.map((u) => u.user.id), 'race');
    const clients = await Promise.all(users.map(async (u) => (await connect(server.wsUrl(u.accessToken))).client));

    const sentIds: string[][] = users.map(() => []);
    clients.forEach((client, k) => {
      for (let i = 0; i < 40; i++) {
        const id = clientMsgId(`s${k}n${i}`);
        sentIds[k]!.push(id);
        client.send({ type: 'send', id, conv: conv.id, body: { text: `sender ${k} message ${i}` } });
      }
    });
    const acks = await Promise.all(
      clients.map((client, k) => Promise.all(sentIds[k]!.map((id) => client.next((f) => f.type === 'ack' && f.id === id, 20000)))),
    );
    for (const client of clients) expect(client.count((f) => f.type === 'error'), 'no frame refused').to.equal(0);

    const allSeqs = acks.flat().map((ack) => ack.seq as number).sort((x, y) => x - y);
    expect(allSeqs).to.deep.equal(Array.from({ length: 200 }, (_, i) => i + 1));
    acks.forEach((senderAcks, k) => {
      const seqs = senderAcks.map((ack) => ack.seq as number);
      expect(seqs, `sender ${k} in sending order`).to.deep.equal([...seqs].sort((x, y) => x - y));
    });

    const stored = await fetchAllMessages(http, owner.accessToken, conv.id);
    expect(stored.map((m) => m.seq)).to.deep.equal(Array.from({ length: 200 }, (_, i) => i + 1));
    users.forEach((u, k) => {
      const mine = stored.filter((m) => m.from === u.user.id).map((m) => m.body.text);
      expect(mine, `sender ${k}'s stored order`).to.deep.equal(Array.from({ length: 40 }, (_, i) => `sender ${k} message ${i}`));
    });
    // Each ack names the stored message with its seq: same sender, same text, same ts.
    acks.forEach((senderAcks, k) =>
      senderAcks.forEach((ack, i) => {
        const m = stored[ack.seq - 1];
        expect(m).to.deep.include({ seq: ack.seq, from: users[k]!.user.id, ts: ack.ts });
        expect(m.body.text).to.equal(`sender ${k} message ${i}`);
      }),
    );

    // Every member has every message: pushed, or fetched by sync (push is best effort).
    for (const [k, client] of clients.entries()) {
      const pushed = new Set(client.frames.filter((f) => f.type === 'msg' && f.conv === conv.id).map((f) => f.seq as number));
      const missing = stored.filter((m) => !pushed.has(m.seq) && m.from !== users[k]!.user.id);
      if (missing.length > 0) {
        const synced = await syncAll(client, conv.id, 0);
        expect(synced.map((m) => m.seq)).to.deep.equal(stored.map((m) => m.seq));
      }
      const pushedFromOthers = client.frames.filter((f) => f.type === 'msg' && f.conv === conv.id);
      for (const f of pushedFromOthers) expect(f.from, 'own sends are not pushed back to the sending connection').to.not.equal(users[k]!.user.id);
    }
  });

  it('delivers every message by push to members online throughout', async function () {
    const [a, b, c] = [await login(), await login(), await login()];
    const conv = await createGroup(http, a, [b.user.id, c.user.id]);
    const [ca, cb, cc] = [await online(a), await online(b), await online(c)];
    const sends = [];
    for (let i = 0; i < 30; i++) sends.push(sendMessage(i % 2 === 0 ? ca : cb, conv.id, { text: `p${i}` }));
    await Promise.all(sends);
    await waitFor(() => cc.count((f) => f.type === 'msg' && f.conv === conv.id) >= 30, { message: '30 pushes to c' });
    const seqs = cc.frames.filter((f) => f.type === 'msg' && f.conv === conv.id).map((f) => f.seq);
    expect([...seqs].sort((x, y) => x - y)).to.deep.equal(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('lets a client that reconnects see the new lastSeq in `ready` and sync exactly the missed messages', async function () {
    const [a, b] = [await login(), await login()];
    const conv = await createGroup(http, a, [b.user.id]);
    const ca = (await connect(server.wsUrl(a.accessToken))).client;
    const first = await connect(server.wsUrl(b.accessToken));
    for (let i = 0; i < 3; i++) await sendMessage(ca, conv.id, { text: `seen ${i}` });
    await waitFor(() => first.client.count((f) => f.type === 'msg' && f.conv === conv.id) >= 3, { message: 'b to see 3 messages' });
    const lastSeen = 3;
    await first.client.close();

    for (let i = 0; i < 7; i++) await sendMessage(ca, conv.id, { text: `missed ${i}` });

    const { client: again, ready } = await connect(server.wsUrl(b.accessToken));
    expect(ready.conversations).to.deep.include({ id: conv.id, lastSeq: 10, readSeq: 0 });
    const missed = await syncAll(again, conv.id, lastSeen);
    expect(missed.map((m) => m.seq)).to.deep.equal([4, 5, 6, 7, 8, 9, 10]);
    expect(missed.map((m) => m.body.text)).to.deep.equal(Array.from({ length: 7 }, (_, i) => `missed ${i}`));
  });

  it('answers concurrent direct-conversation requests from both sides with one conversation', async function () {
    const [a, b] = [await login(), await login()];
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => createDirect(http, i % 2 === 0 ? a : b, i % 2 === 0 ? b.user.id : a.user.id)));
    const ids = new Set(answers.map((conv) => conv.id));
    expect(ids.size).to.equal(1);
    const list = await http('GET', '/v1/conversations', undefined, a.accessToken);
    expect(list.body.conversations.filter((c: Json) => c.type === 'direct')).to.have.length(1);
  });

  it('registers a username once under concurrent requests: one 201, the rest 409', async function () {
    const username = `race_${Date.now().toString(36)}`;
    const answers = await Promise.all(Array.from({ length: 8 }, () => http('POST', '/v1/users', { username, password: 'password123' })));
    const statuses = answers.map((res) => res.status).sort();
    expect(statuses).to.deep.equal([201, 409, 409, 409, 409, 409, 409, 409]);
  });

  it('stores one message for concurrent re-sends of one id from several connections of the sender', async function () {
    const [a, b] = [await login(), await login()];
    const conv = await createDirect(http, a, b.user.id);
    const clients = await Promise.all([1, 2, 3].map(async () => (await connect(server.wsUrl(a.accessToken))).client));
    const id = clientMsgId('same');
    for (const client of clients) client.send({ type: 'send', id, conv: conv.id, body: { text: 'one and only' } });
    const acks = await Promise.all(clients.map((client) => client.next((f) => f.type === 'ack' && f.id === id, 10000)));
    for (const ack of acks) expect(ack).to.deep.equal(acks[0]);
    expect(await fetchAllMessages(http, a.accessToken, conv.id)).to.have.length(1);
  });
});
