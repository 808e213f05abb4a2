// Covers docs/protocol.md § WebSocket: connecting (401 before the upgrade), the `ready` frame, the
// client frames send/read/typing/sync/ping and the server frames ack/msg/read/typing/presence,
// plus the Idempotency guarantee (a re-sent id is acknowledged identically, stored once).
import { expect } from 'chai';
import { api, closeAllClients, connect, registerAndLogin, upgradeRefusal, type Api, type Json, type LoggedIn, type WsClient } from '../support/client.js';
import { clientMsgId, createDirect, createGroup, fetchAllMessages, getConversation, sendMessage } from '../support/chat.js';
import { expectErrorFrame } from '../support/expect-error.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait-for.js';

describe('protocol: WebSocket frames', function () {
  let server: TestServer;
  let http: Api;
  const login = (): Promise<LoggedIn> => registerAndLogin(server.baseUrl);
  const online = async (user: LoggedIn): Promise<WsClient> => (await connect(server.wsUrl(user.accessToken))).client;
  const msgAt = (conv: string, seq: number) => (f: Json) => f.type === 'msg' && f.conv === conv && f.seq === seq;

  before(async function () {
    server = await startTestServer();
    http = api(server.baseUrl);
  });
  afterEach(closeAllClients);
  after(async function () {
    await server?.stop();
  });

  describe('connecting', function () {
    it('refuses a connection without a token with HTTP 401 before the upgrade', async function () {
      expect(await upgradeRefusal(`ws://127.0.0.1:${server.port}/v1/ws`)).to.equal(401);
      expect(await upgradeRefusal(`ws://127.0.0.1:${server.port}/v1/ws?token=`)).to.equal(401);
    });

    it('refuses a bad token with HTTP 401 before the upgrade', async function () {
      expect(await upgradeRefusal(server.wsUrl('garbage'))).to.equal(401);
      const user = await login();
      const [h, p, s] = user.accessToken.split('.');
      const flipped = `${h}.${p}.${(s ?? '').slice(0, -2)}${(s ?? '').endsWith('AA') ? 'BB' : 'AA'}`;
      expect(await upgradeRefusal(server.wsUrl(flipped))).to.equal(401);
      expect(await upgradeRefusal(server.wsUrl(user.refreshToken))).to.equal(401);
    });

    it('sends `ready` with the user and every conversation {id, lastSeq, readSeq}', async function () {
      const [a, b, c] = [await login(), await login(), await login()];
      const direct = await createDirect(http, a, b.user.id);
      const group = await createGroup(http, c, [a.user.id], 'ready group');
      const { client: sender } = await connect(server.wsUrl(c.accessToken));
      await sendMessage(sender, group.id, { text: 'one' });
      await sendMessage(sender, group.id, { text: 'two' });
      const { ready } = await connect(server.wsUrl(a.accessToken));
      expect(ready.type).to.equal('ready');
      expect(ready.user).to.deep.include({ id: a.user.id, username: a.user.username, displayName: a.user.displayName });
      expect(ready.conversations).to.be.an('array').with.length(2);
      expect(ready.conversations).to.deep.include({ id: direct.id, lastSeq: 0, readSeq: 0 });
      expect(ready.conversations).to.deep.include({ id: group.id, lastSeq: 2, readSeq: 0 });
    });

    it('sends `ready` with an empty conversation list to a new user', async function () {
      const a = await login();
      const { ready } = await connect(server.wsUrl(a.accessToken));
      expect(ready.conversations).to.deep.equal([]);
    });

    it('answers ping with pong', async function () {
      const client = await online(await login());
      client.send({ type: 'ping' });
      expect(await client.nextOf('pong')).to.deep.include({ type: 'pong' });
    });
  });

  describe('send, ack and msg', function () {
    it('acks a send with {type, id, conv, seq, ts} and pushes `msg` {conv, seq, id, from, body, ts} to the other member', async function () {
      const [a, b] = [await login(), await login()];
      const conv = await createDirect(http, a, b.user.id);
      const [ca, cb] = [await online(a), await online(b)];
      const id = clientMsgId('hello');
      const before = Date.now();
      ca.send({ type: 'send', id, conv: conv.id, body: { text: 'hello', extra: { nested: [1, 2] } } });
      const ack = await ca.next((f) => f.type === 'ack' && f.id === id);
      expect(ack).to.include({ type: 'ack', id, conv: conv.id, seq: 1 });
      expect(ack.ts).to.be.a('number').and.be.within(before - 60000, Date.now() + 60000);
      const msg = await cb.next(msgAt(conv.id, 1));
      expect(msg).to.include.keys('type', 'conv', 'seq', 'id', 'from', 'body', 'ts');
      expect(msg).to.deep.include({ type: 'msg', conv: conv.id, seq: 1, from: a.user.id, ts: ack.ts });
      expect(msg.id).to.be.a('string').and.not.equal('');
      expect(msg.body).to.deep.equal({ text: 'hello', extra: { nested: [1, 2] } });
    });

    it('identifies a message by the sender’s client id: msg, history and sync carry it as `id`', async function () {
      const [a, b] = [await login(), await login()];
      const conv = await createDirect(http, a, b.user.id);
      const [ca, cb] = [await online(a), await online(b)];
      const id = clientMsgId('mine');
      await sendMessage(ca, conv.id, { text: 'which id?' }, id);
      expect((await cb.next(msgAt(conv.id, 1))).id, 'msg.id').to.equal(id);
      expect((await fetchAllMessages(http, b.accessToken, conv.id))[0].id, 'history id').to.equal(id);
      cb.send({ type: 'sync', conv: conv.id, after: 0 });
      expect((await cb.nextOf('history')).messages[0].id, 'sync id').to.equal(id);
    });

    it('acks only once the message is stored: history has it the moment the ack arrives', async function () {
      const [a, b] = [await login(), await login()];
      const conv = await createDirect(http, a, b.user.id);
      const ca = await online(a);
      for (let i = 1; i <= 10; i++) {
        const ack = await sendMessage(ca, conv.id, { text: `durable ${i}` });
        const res = await http('GET', `/v1/conversations/${conv.id}/messages?after=${ack.seq - 1}&limit=1`, undefined, a.accessToken);
        expect(res.body.messages, `message ${i} readable right after its ack`).to.have.length(1);
        expect(res.body.messages[0]).to.include({ seq: ack.seq, ts: ack.ts });
      }
    });

    it('stores the message as pushed: history returns the same {conv, seq, id, from, body, ts}', async function () {
      const [a, b] = [await login(), await login()];
      const conv = await createDirect(http, a, b.user.id);
      const [ca, cb] = [await online(a), await online(b)];
      const ack = await sendMessage(ca, conv.id, { text: 'stored' });
      const msg = await cb.next(msgAt(conv.id, ack.seq));
      const [stored] = await fetchAllMessages(http, b.accessToken, conv.id);
      const { type: _type, ...fields } = msg;
      expect(stored).to.deep.include(fields);
    });

    it('pushes `msg` to the sender’s other connections but not to the sending connection', async function () {
      const [a, b] = [await login(), await login()];
      const conv = await createGroup(http, a, [b.user.id]);
      const [a1, a2, b1, b2] = [await online(a), await online(a), await online(b), await online(b)];
      const ack = await sendMessage(a1, conv.id, { text: 'to all but me' });
      for (const client of [a2, b1, b2]) {
        const msg = await client.next(msgAt(conv.id, ack.seq));
        expect(msg.body.text).to.equal('to all but me');
      }
      await a1.assertNoFrame((f) => f.type === 'msg');
    });

    it('numbers a conversation’s messages 1, 2, 3, … in sending order', async function () {
      const [a, b] = [await login(), await login()];
      const conv = await createGroup(http, a, [b.user.id]);
      const [ca, cb] = [await online(a), await online(b)];
      const acks = [];
      for (let i = 0; i < 3; i++) acks.push(await sendMessage(i === 1 ? cb : ca, conv.id, { text: `n${i}` }));
      expect(acks.map((ack) => ack.seq)).to.deep.equal([1, 2, 3]);
      const stored = await fetchAllMessages(http, a.accessToken, conv.id);
      expect(stored.map((m) => [m.seq, m.body.text])).to.deep.equal([[1, 'n0'], [2, 'n1'], [3, 'n2']]);
      const other = await createGroup(http, a, []);
      expect((await sendMessage(ca, other.id, { text: 'own numbering' })).seq).to.equal(1);
    });

    it('answers a re-send of the same id with an identical ack, from the same connection too, storing nothing new', async function () {
      const [a, b] = [await login(), await login()];
      const conv = await createDirect(http, a, b.user.id);
      const [ca, cb] = [await online(a), await online(b)];
      const id = clientMsgId('dup');
      const first = await sendMessage(ca, conv.id, { text: 'once' }, id);
      const again = await sendMessage(ca, conv.id, { text: 'once' }, id);
      expect(again).to.deep.equal(first);
      await cb.next(msgAt(conv.id, first.seq));
      await cb.assertNoFrame((f) => f.type === 'msg');
      expect(await fetchAllMessages(http, a.accessToken, conv.id)).to.have.length(1);
    });

    it('answers a re-send from another connection of the sender with an identical ack; nothing new stored or pushed', async function () {
      const [a, b] = [await login(), await login()];
      const conv = await createDirect(http, a, b.user.id);
      const [a1, a2, cb] = [await online(a), await online(a), await online(b)];
      await sendMessage(a1, conv.id, { text: 'before' });
      const id = clientMsgId('retry');
      const first = await sendMessage(a1, conv.id, { text: 'retried' }, id);
      expect(first.seq).to.equal(2);
      await cb.next(msgAt(conv.id, 1));
      await cb.next(msgAt(conv.id, 2));
      await a2.next(msgAt(conv.id, 1));
      await a2.next(msgAt(conv.id, 2));
      const retried = await sendMessage(a2, conv.id, { text: 'retried' }, id);
      expect(retried).to.deep.equal(first);
      await cb.assertNoFrame((f) => f.type === 'msg');
      await a1.assertNoFrame((f) => f.type === 'msg');
      const stored = await fetchAllMessages(http, a.accessToken, conv.id);
      expect(stored.map((m) => [m.seq, m.body.text])).to.deep.equal([[1, 'before'], [2, 'retried']]);
      expect((await getConversation(http, a.accessToken, conv.id)).lastSeq).to.equal(2);
      expect((await sendMessage(a1, conv.id, { text: 'next' })).seq, 'the next message follows without a gap').to.equal(3);
    });

    it('treats the same id from another sender as another message', async function () {
      const [a, b] = [await login(), await login()];
      const conv = await createDirect(http, a, b.user.id);
      const [ca, cb] = [await online(a), await online(b)];
      const id = clientMsgId('shared');
      const fromA = await sendMessage(ca, conv.id, { text: 'from a' }, id);
      const fromB = await sendMessage(cb, conv.id, { text: 'from b' }, id);
      expect([fromA.seq, fromB.seq]).to.deep.equal([1, 2]);
      const stored = await fetchAllMessages(http, a.accessToken, conv.id);
      expect(stored.map((m) => [m.seq, m.from, m.body.text])).to.deep.equal([
        [1, a.user.id, 'from a'],
        [2, b.user.id, 'from b'],
      ]);
    });

    it('treats the same id in another conversation as another message', async function () {
      const [a, b] = [await login(), await login()];
      const one = await createGroup(http, a, [b.user.id], 'one');
      const two = await createGroup(http, a, [b.user.id], 'two');
      const ca = await online(a);
      const id = clientMsgId('twice');
      const ackOne = await sendMessage(ca, one.id, { text: 'in one' }, id);
      const ackTwo = await sendMessage(ca, two.id, { text: 'in two' }, id);
      expect(ackOne).to.include({ conv: one.id, seq: 1 });
      expect(ackTwo).to.include({ conv: two.id, seq: 1 });
      expect((await fetchAllMessages(http, a.accessToken, two.id))[0].body.text).to.equal('in two');
    });

    it('accepts the id alphabet [A-Za-z0-9_-] at lengths 1 and 64', async function () {
      const [a, b] = [await login(), await login()];
      const conv = await createDirect(http, a, b.user.id);
      const ca = await online(a);
      const long = `Az09_-${clientMsgId('x').replace(/[^A-Za-z0-9_-]/g, '')}`.padEnd(64, 'Q');
      expect(long).to.have.length(64);
      expect((await sendMessage(ca, conv.id, { text: 'short id' }, 'Z')).seq).to.equal(1);
      expect((await sendMessage(ca, conv.id, { text: 'long id' }, long)).seq).to.equal(2);
    });
  });

  describe('read', function () {
    it('moves the reader’s cursor, tells the other members with `read` {conv, user, seq}, and shows it in GET and ready', async function () {
      const [a, b] = [await login(), await login()];
      const conv = await createGroup(http, a, [b.user.id]);
      const [ca, cb] = [await online(a), await online(b)];
      for (let i = 0; i < 3; i++) await sendMessage(ca, conv.id, { text: `r${i}` });
      cb.send({ type: 'read', conv: conv.id, seq: 2 });
      const frame = await ca.next((f) => f.type === 'read' && f.conv === conv.id);
      expect(frame).to.deep.include({ type: 'read', conv: conv.id, user: b.user.id, seq: 2 });
      await waitFor(async () => (await getConversation(http, b.accessToken, conv.id)).readSeq === 2, { message: 'readSeq 2' });
      const { ready } = await connect(server.wsUrl(b.accessToken));
      expect(ready.conversations).to.deep.include({ id: conv.id, lastSeq: 3, readSeq: 2 });
    });

    it('never moves the cursor backward', async function () {
      const [a, b] = [await login(), await login()];
      const conv = await createGroup(http, a, [b.user.id]);
      const [ca, cb] = [await online(a), await online(b)];
      for (let i = 0; i < 3; i++) await sendMessage(ca, conv.id, { text: `b${i}` });
      cb.send({ type: 'read', conv: conv.id, seq: 3 });
      await ca.next((f) => f.type === 'read' && f.conv === conv.id && f.seq === 3);
      cb.send({ type: 'read', conv: conv.id, seq: 1 });
      // A typing frame after it, on the same conversation and connection, marks when the read was handled.
      cb.send({ type: 'typing', conv: conv.id });
      await ca.next((f) => f.type === 'typing' && f.conv === conv.id);
      expect((await getConversation(http, b.accessToken, conv.id)).readSeq).to.equal(3);
      await ca.assertNoFrame((f) => f.type === 'read' && f.conv === conv.id);
      const { ready } = await connect(server.wsUrl(b.accessToken));
      expect(ready.conversations).to.deep.include({ id: conv.id, lastSeq: 3, readSeq: 3 });
    });
  });

  describe('typing', function () {
    it('tells the other members `typing` {conv, user} and stores nothing', async function () {
      const [a, b, c] = [await login(), await login(), await login()];
      const conv = await createGroup(http, a, [b.user.id, c.user.id]);
      const [ca, cb, cc] = [await online(a), await online(b), await online(c)];
      ca.send({ type: 'typing', conv: conv.id });
      for (const client of [cb, cc]) {
        const frame = await client.next((f) => f.type === 'typing' && f.conv === conv.id);
        expect(frame).to.deep.include({ type: 'typing', conv: conv.id, user: a.user.id });
      }
      const view = await getConversation(http, a.accessToken, conv.id);
      expect(view.lastSeq).to.equal(0);
      expect(await fetchAllMessages(http, a.accessToken, conv.id)).to.deep.equal([]);
    });
  });

  describe('frames naming a conversation the caller is not in', function () {
    const frames: Array<[string, (conv: string) => Record<string, unknown>, string | undefined]> = [
      ['send', (conv) => ({ type: 'send', id: 'outsider-send', conv, body: { text: 'hi' } }), 'outsider-send'],
      ['read', (conv) => ({ type: 'read', conv, seq: 1 }), undefined],
      ['typing', (conv) => ({ type: 'typing', conv }), undefined],
      ['sync', (conv) => ({ type: 'sync', conv, after: 0 }), undefined],
    ];
    for (const [type, build, ref] of frames) {
      it(`answers ${type} with error not_found for a non-member and for a nonexistent conversation`, async function () {
        const [owner, outsider] = [await login(), await login()];
        const conv = await createGroup(http, owner, []);
        const cOwner = await online(owner);
        await sendMessage(cOwner, conv.id, { text: 'members only' });
        const client = await online(outsider);
        for (const target of [conv.id, 'no-such-conversation']) {
          client.send(build(target));
          expectErrorFrame(await client.nextOf('error'), 'not_found', ref);
        }
        await client.expectAlive();
        await cOwner.assertNoFrame((f) => f.type === 'read' || f.type === 'typing' || f.type === 'msg');
        expect((await getConversation(http, owner.accessToken, conv.id)).lastSeq).to.equal(1);
        await client.assertNoFrame((f) => f.type === 'history' || f.type === 'msg');
      });
    }
  });

  describe('presence', function () {
    it('tells a direct peer `presence` online when the other connects and offline when its last connection closes', async function () {
      const [a, b] = [await login(), await login()];
      await createDirect(http, a, b.user.id);
      const ca = await online(a);
      const b1 = await online(b);
      const on = await ca.next((f) => f.type === 'presence' && f.user === b.user.id);
      expect(on).to.deep.include({ type: 'presence', user: b.user.id, online: true });
      const b2 = await online(b);
      await b1.close();
      await ca.assertNoFrame((f) => f.type === 'presence' && f.user === b.user.id && f.online === false);
      await b2.close();
      const off = await ca.next((f) => f.type === 'presence' && f.user === b.user.id && f.online === false, 10000);
      expect(off).to.deep.include({ type: 'presence', user: b.user.id, online: false });
    });
  });
});
