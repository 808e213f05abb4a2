// Covers docs/protocol.md § HTTP: GET /v1/conversations/:id/messages (after, limit default 50,
// clamp to 200, invalid_argument, more, not_found) and the <message> shape, and § WebSocket:
// `sync` → `history` (limit default 100, max 500, seq > after).
// Rate limiting is not under test here, so this file's server takes frames without limit.
import { expect } from 'chai';
import { api, closeAllClients, connect, registerAndLogin, type Api, type Json, type LoggedIn, type WsClient } from '../support/client.js';
import { createGroup, sendMany } from '../support/chat.js';
import { expectHttpError } from '../support/expect-error.js';
import { startTestServer, type TestServer } from '../support/server.js';

const UNLIMITED_FRAMES = { 'gateway.rateLimit.burst': 100000, 'gateway.rateLimit.perSecond': 100000 };

describe('protocol: history and sync', function () {
  this.timeout(60000);
  let server: TestServer;
  let http: Api;
  let owner: LoggedIn;
  let reader: LoggedIn;
  let outsider: LoggedIn;
  let ownerWs: WsClient;
  /** Conversations with exactly this many messages, shared by the read-only tests below. */
  let conv60: Json;
  let conv501: Json;

  const history = (conv: string, query: string, token = reader.accessToken) =>
    http('GET', `/v1/conversations/${conv}/messages${query}`, undefined, token);
  const seqs = (messages: Json[]): number[] => messages.map((m) => m.seq);
  const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  before(async function () {
    server = await startTestServer(UNLIMITED_FRAMES);
    http = api(server.baseUrl);
    [owner, reader, outsider] = [await registerAndLogin(server.baseUrl), await registerAndLogin(server.baseUrl), await registerAndLogin(server.baseUrl)];
    ownerWs = (await connect(server.wsUrl(owner.accessToken))).client;
    conv60 = await createGroup(http, owner, [reader.user.id], 'sixty');
    conv501 = await createGroup(http, owner, [reader.user.id], 'five hundred and one');
    await sendMany(ownerWs, conv60.id, 60, { prefix: 'sixty' });
    await sendMany(ownerWs, conv501.id, 501, { prefix: 'big', window: 100 });
  });
  after(async function () {
    await closeAllClients();
    await server?.stop();
  });

  describe('GET /v1/conversations/:id/messages', function () {
    it('answers the first 50 messages ascending with more=true by default', async function () {
      const res = await history(conv60.id, '');
      expect(res.status, res.text).to.equal(200);
      expect(seqs(res.body.messages)).to.deep.equal(range(1, 50));
      expect(res.body.more).to.equal(true);
    });

    it('answers messages with seq > after, and more=false at the end', async function () {
      const res = await history(conv60.id, '?after=50');
      expect(res.status).to.equal(200);
      expect(seqs(res.body.messages)).to.deep.equal(range(51, 60));
      expect(res.body.more).to.equal(false);
    });

    it('answers more=false when a page ends exactly at the last message', async function () {
      const res = await history(conv60.id, '?after=50&limit=10');
      expect(seqs(res.body.messages)).to.deep.equal(range(51, 60));
      expect(res.body.more).to.equal(false);
    });

    it('answers more=true when exactly one message lies beyond the page', async function () {
      const res = await history(conv60.id, '?after=49&limit=10');
      expect(seqs(res.body.messages)).to.deep.equal(range(50, 59));
      expect(res.body.more).to.equal(true);
    });

    it('answers an empty page with more=false after the last message', async function () {
      const res = await history(conv60.id, '?after=60');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ messages: [], more: false });
      const far = await history(conv60.id, '?after=1000');
      expect(far.body).to.deep.equal({ messages: [], more: false });
    });

    it('takes a limit up to 200 as given', async function () {
      const res = await history(conv501.id, '?limit=200');
      expect(seqs(res.body.messages)).to.deep.equal(range(1, 200));
      expect(res.body.more).to.equal(true);
      const one = await history(conv501.id, '?after=7&limit=1');
      expect(seqs(one.body.messages)).to.deep.equal([8]);
    });

    it('clamps a limit over 200 to 200', async function () {
      const res = await history(conv501.id, '?limit=201');
      expect(res.status, res.text).to.equal(200);
      expect(seqs(res.body.messages)).to.deep.equal(range(1, 200));
      expect(res.body.more).to.equal(true);
      const huge = await history(conv501.id, '?after=100&limit=100000');
      expect(seqs(huge.body.messages)).to.deep.equal(range(101, 300));
      const enormous = await history(conv501.id, '?limit=9999999999999999999999');
      expect(enormous.status, 'a limit of any size is clamped, not refused').to.equal(200);
      expect(seqs(enormous.body.messages)).to.deep.equal(range(1, 200));
      const farAfter = await history(conv501.id, '?after=99999999999999999999');
      expect(farAfter.status).to.equal(200);
      expect(farAfter.body).to.deep.equal({ messages: [], more: false });
    });

    it('answers every message in the <message> shape {conv, seq, id, from, body, ts}', async function () {
      const res = await history(conv60.id, '?limit=3');
      const first = res.body.messages[0];
      expect(first).to.include.keys('conv', 'seq', 'id', 'from', 'body', 'ts');
      expect(first.conv).to.equal(conv60.id);
      expect(first.seq).to.equal(1);
      expect(first.id).to.be.a('string');
      expect(first.from).to.equal(owner.user.id);
      expect(first.body).to.deep.equal({ text: 'sixty 0' });
      expect(first.ts).to.be.a('number').and.be.within(Date.now() - 600000, Date.now() + 60000);
      expect(res.body.messages.map((m: Json) => m.body.text)).to.deep.equal(['sixty 0', 'sixty 1', 'sixty 2']);
    });

    const badQueries: Array<[string, string, string]> = [
      ['limit=0', '?limit=0', 'limit'],
      ['limit=-1', '?limit=-1', 'limit'],
      ['limit=abc', '?limit=abc', 'limit'],
      ['limit=1.5', '?limit=1.5', 'limit'],
      ['after=-1', '?after=-1', 'after'],
    ];
    for (const [label, query, field] of badQueries) {
      it(`refuses ${label}: 400 invalid_argument naming ${field}`, async function () {
        expectHttpError(await history(conv60.id, query), 400, 'invalid_argument', field);
      });
    }

    it('answers a non-member 404 not_found, as for a nonexistent conversation', async function () {
      expectHttpError(await history(conv60.id, '', outsider.accessToken), 404, 'not_found');
      expectHttpError(await history('no-such-conversation', '', outsider.accessToken), 404, 'not_found');
      expectHttpError(await history('no-such-conversation', '', reader.accessToken), 404, 'not_found');
    });
  });

  describe('WebSocket sync', function () {
    const sync = async (client: WsClient, frame: Record<string, unknown>): Promise<Json> => {
      client.send({ type: 'sync', ...frame });
      return client.next((f) => f.type === 'history' && f.conv === frame.conv);
    };

    it('answers `history` {conv, messages, more} with seq > after, ascending, in the <message> shape', async function () {
      const { client } = await connect(server.wsUrl(reader.accessToken));
      const frame = await sync(client, { conv: conv60.id, after: 55 });
      expect(frame).to.include.keys('type', 'conv', 'messages', 'more');
      expect(seqs(frame.messages)).to.deep.equal(range(56, 60));
      expect(frame.more).to.equal(false);
      const last = frame.messages[4];
      expect(last).to.include({ conv: conv60.id, seq: 60, from: owner.user.id });
      expect(last.body).to.deep.equal({ text: 'sixty 59' });
      expect(last.id).to.be.a('string');
      expect(last.ts).to.be.a('number');
    });

    it('answers with the same messages as HTTP history', async function () {
      const { client } = await connect(server.wsUrl(reader.accessToken));
      const frame = await sync(client, { conv: conv60.id, after: 10, limit: 20 });
      const res = await history(conv60.id, '?after=10&limit=20');
      expect(frame.messages).to.deep.equal(res.body.messages);
      expect(frame.more).to.equal(res.body.more);
    });

    it('defaults the limit to 100', async function () {
      const { client } = await connect(server.wsUrl(reader.accessToken));
      const frame = await sync(client, { conv: conv501.id, after: 0 });
      expect(seqs(frame.messages)).to.deep.equal(range(1, 100));
      expect(frame.more).to.equal(true);
    });

    it('takes a limit up to 500 and clamps a larger one to 500', async function () {
      const { client } = await connect(server.wsUrl(reader.accessToken));
      const exact = await sync(client, { conv: conv501.id, after: 0, limit: 500 });
      expect(seqs(exact.messages)).to.deep.equal(range(1, 500));
      expect(exact.more).to.equal(true);
      const over = await sync(client, { conv: conv501.id, after: 0, limit: 501 });
      expect(seqs(over.messages)).to.deep.equal(range(1, 500));
      expect(over.more).to.equal(true);
      const tail = await sync(client, { conv: conv501.id, after: 1, limit: 100000 });
      expect(seqs(tail.messages)).to.deep.equal(range(2, 501));
      expect(tail.more).to.equal(false);
    });

    it('answers an empty history with more=false after the last message', async function () {
      const { client } = await connect(server.wsUrl(reader.accessToken));
      const frame = await sync(client, { conv: conv60.id, after: 60 });
      expect(frame.messages).to.deep.equal([]);
      expect(frame.more).to.equal(false);
    });
  });
});
