// Covers docs/protocol.md § WebSocket: refused frames — the `error` frame {ref?, code, message}
// with `bad_request` and `too_large`, `ref` rules, binary frames, the `send` field rules (id
// 1–64 of [A-Za-z0-9_-], body an object of at most 8 KiB JSON, text at most 4,000
// characters), `read`/`sync`/`typing` field rules, and "a refused frame never closes the
// connection by itself" (and is never stored); a `conv` string that cannot be a conversation id
// answered `not_found` with the frame's ref, exactly like a conversation that does not exist.
import { expect } from 'chai';
import { api, closeAllClients, connect, registerAndLogin, type Api, type Json, type LoggedIn, type WsClient } from '../support/client.js';
import { clientMsgId, createGroup, fetchAllMessages, getConversation, sendMessage } from '../support/chat.js';
import { expectErrorFrame } from '../support/expect-error.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface Room {
  conv: string;
  sender: LoggedIn;
  client: WsClient;
  peer: WsClient;
}

/** A body whose compact JSON is exactly `bytes` bytes long (ASCII only), with a short text. */
function bodyOfJsonBytes(bytes: number): Record<string, string> {
  const skeleton = JSON.stringify({ text: 'sized', pad: '' });
  const body = { text: 'sized', pad: 'p'.repeat(bytes - skeleton.length) };
  expect(Buffer.byteLength(JSON.stringify(body))).to.equal(bytes);
  return body;
}

describe('protocol: WebSocket refused frames', function () {
  let server: TestServer;
  let http: Api;

  /** A fresh group of two, both online: the sender's connection is the one under test. */
  async function room(): Promise<Room> {
    const [sender, other] = [await registerAndLogin(server.baseUrl), await registerAndLogin(server.baseUrl)];
    const conv = await createGroup(http, sender, [other.user.id]);
    const { client } = await connect(server.wsUrl(sender.accessToken));
    const { client: peer } = await connect(server.wsUrl(other.accessToken));
    return { conv: conv.id, sender, client, peer };
  }

  /** The connection still serves, and nothing was stored or pushed. */
  async function expectNothingHappened(r: Room): Promise<void> {
    await r.client.expectAlive();
    expect(r.client.isOpen).to.equal(true);
    expect((await getConversation(http, r.sender.accessToken, r.conv)).lastSeq, 'lastSeq').to.equal(0);
    expect(await fetchAllMessages(http, r.sender.accessToken, r.conv)).to.deep.equal([]);
    await r.peer.assertNoFrame((f) => f.type === 'msg' || f.type === 'read' || f.type === 'typing');
  }

  before(async function () {
    server = await startTestServer();
    http = api(server.baseUrl);
  });
  afterEach(closeAllClients);
  after(async function () {
    await server?.stop();
  });

  describe('frames that are not a JSON object with a known type', function () {
    const raws: Array<[string, string]> = [
      ['non-JSON text', 'this is not json'],
      ['truncated JSON', '{"type": "ping"'],
      ['a JSON array', '[{"type":"ping"}]'],
      ['a JSON number', '42'],
      ['JSON null', 'null'],
      ['a JSON string', '"ping"'],
      ['an object without type', '{"conv":"x"}'],
      ['an object with an unknown type', '{"type":"teleport"}'],
      ['an object with a non-string type', '{"type":7}'],
    ];
    for (const [label, raw] of raws) {
      it(`refuses ${label} with bad_request and no ref, and keeps the connection`, async function () {
        const r = await room();
        r.client.sendRaw(raw);
        expectErrorFrame(await r.client.nextOf('error'), 'bad_request');
        await expectNothingHappened(r);
      });
    }

    it('refuses an unknown type with bad_request carrying the frame’s string id as ref', async function () {
      const r = await room();
      r.client.send({ type: 'teleport', id: 'frame-1' });
      expectErrorFrame(await r.client.nextOf('error'), 'bad_request', 'frame-1');
      r.client.send({ id: 'frame-2' });
      expectErrorFrame(await r.client.nextOf('error'), 'bad_request', 'frame-2');
      await expectNothingHappened(r);
    });

    it('refuses a binary frame with bad_request, even one holding a valid send, and stores nothing', async function () {
      const r = await room();
      r.client.sendRaw(Buffer.from(JSON.stringify({ type: 'send', id: 'bin-1', conv: r.conv, body: { text: 'binary' } })));
      const error = await r.client.nextOf('error');
      expect(error.code).to.equal('bad_request');
      await r.client.assertNoFrame((f) => f.type === 'ack');
      await expectNothingHappened(r);
    });
  });

  describe('send', function () {
    const badIds: Array<[string, unknown, string | undefined]> = [
      ['missing', undefined, undefined],
      ['empty', '', ''],
      ['65 characters', 'a'.repeat(65), 'a'.repeat(65)],
      ['a space', 'bad id', 'bad id'],
      ['a dot', 'bad.id', 'bad.id'],
      ['a slash', 'bad/id', 'bad/id'],
      ['a non-ASCII letter', 'idé', 'idé'],
      ['a number', 12345, undefined],
      ['null', null, undefined],
      ['an object', { id: 'x' }, undefined],
    ];
    for (const [label, id, ref] of badIds) {
      const refNote = ref === undefined ? 'no ref' : 'that id as ref';
      it(`refuses an id that is ${label}: bad_request with ${refNote}, nothing stored`, async function () {
        const r = await room();
        const frame: Record<string, unknown> = { type: 'send', conv: r.conv, body: { text: 'bad id' } };
        if (id !== undefined) frame.id = id;
        r.client.send(frame);
        expectErrorFrame(await r.client.nextOf('error'), 'bad_request', ref);
        await expectNothingHappened(r);
      });
    }

    const badConvs: Array<[string, unknown]> = [
      ['missing', undefined],
      ['a number', 42],
      ['null', null],
      ['an array', ['x']],
    ];
    for (const [label, conv] of badConvs) {
      it(`refuses a conv that is ${label}: bad_request with the id as ref`, async function () {
        const r = await room();
        const id = clientMsgId('conv');
        const frame: Record<string, unknown> = { type: 'send', id, body: { text: 'where?' } };
        if (conv !== undefined) frame.conv = conv;
        r.client.send(frame);
        expectErrorFrame(await r.client.nextOf('error'), 'bad_request', id);
        await expectNothingHappened(r);
      });
    }

    // A conv that is a string names a conversation or nothing: one that cannot be an id is
    // answered like a well-formed one that does not exist (docs/protocol.md, "Errors").
    const noSuchConvs: Array<[string, string]> = [
      ['a well-formed id of no conversation', 'c_doesnotexist0000'],
      ['empty', ''],
      ['an SQL fragment', "' OR 1=1 --"],
      ['65 characters', `c_${'a'.repeat(63)}`],
      ['a user id', 'u_abcdefghijklmnop'],
    ];
    for (const [label, conv] of noSuchConvs) {
      it(`refuses a conv that is ${label}: not_found with the id as ref, nothing stored`, async function () {
        const r = await room();
        const id = clientMsgId('nosuch');
        r.client.send({ type: 'send', id, conv, body: { text: 'where?' } });
        const error = await r.client.next((f) => f.type === 'error' && f.ref === id);
        expectErrorFrame(error, 'not_found', id);
        expect(error.message).to.equal('no such conversation');
        await expectNothingHappened(r);
      });
    }

    const badBodies: Array<[string, unknown]> = [
      ['missing', undefined],
      ['a string', 'hello'],
      ['a number', 5],
      ['an array', [{ text: 'hello' }]],
      ['null', null],
    ];
    for (const [label, body] of badBodies) {
      it(`refuses a body that is ${label}: bad_request with the id as ref`, async function () {
        const r = await room();
        const id = clientMsgId('body');
        const frame: Record<string, unknown> = { type: 'send', id, conv: r.conv };
        if (body !== undefined) frame.body = body;
        r.client.send(frame);
        expectErrorFrame(await r.client.nextOf('error'), 'bad_request', id);
        await expectNothingHappened(r);
      });
    }

    it('refuses a body whose JSON is over 8 KiB (8193 bytes): too_large with the id as ref', async function () {
      const r = await room();
      const id = clientMsgId('big');
      r.client.send({ type: 'send', id, conv: r.conv, body: bodyOfJsonBytes(8193) });
      expectErrorFrame(await r.client.nextOf('error'), 'too_large', id);
      await expectNothingHappened(r);
    });

    it('accepts a body whose JSON is exactly 8 KiB (8192 bytes)', async function () {
      const r = await room();
      const body = bodyOfJsonBytes(8192);
      const ack = await sendMessage(r.client, r.conv, body);
      expect(ack.seq).to.equal(1);
      const [stored] = await fetchAllMessages(http, r.sender.accessToken, r.conv);
      expect(stored.body).to.deep.equal(body);
    });

    it('refuses a text over 4,000 characters: too_large with the id as ref', async function () {
      const r = await room();
      const id = clientMsgId('long');
      r.client.send({ type: 'send', id, conv: r.conv, body: { text: 'x'.repeat(4001) } });
      expectErrorFrame(await r.client.nextOf('error'), 'too_large', id);
      await expectNothingHappened(r);
    });

    it('accepts a text of exactly 4,000 characters, also when they are two-byte characters', async function () {
      const r = await room();
      const ascii = 'x'.repeat(4000);
      const accented = 'é'.repeat(4000);
      expect((await sendMessage(r.client, r.conv, { text: ascii })).seq).to.equal(1);
      expect((await sendMessage(r.client, r.conv, { text: accented })).seq).to.equal(2);
      const stored = await fetchAllMessages(http, r.sender.accessToken, r.conv);
      expect(stored.map((m: Json) => m.body.text)).to.deep.equal([ascii, accented]);
    });

    it('keeps serving after a refused send: the next valid send is stored as seq 1', async function () {
      const r = await room();
      r.client.send({ type: 'send', id: 'no good', conv: r.conv, body: { text: 'x' } });
      await r.client.nextOf('error');
      const ack = await sendMessage(r.client, r.conv, { text: 'fine' });
      expect(ack.seq).to.equal(1);
    });
  });

  describe('read, sync and typing', function () {
    const badFrames: Array<[string, (conv: string) => Record<string, unknown>]> = [
      ['read without seq', (conv) => ({ type: 'read', conv })],
      ['read with a negative seq', (conv) => ({ type: 'read', conv, seq: -1 })],
      ['read with a non-integer seq', (conv) => ({ type: 'read', conv, seq: 1.5 })],
      ['read with a string seq', (conv) => ({ type: 'read', conv, seq: '1' })],
      ['read without conv', () => ({ type: 'read', seq: 1 })],
      ['read with a non-string conv', () => ({ type: 'read', conv: 9, seq: 1 })],
      ['sync without after', (conv) => ({ type: 'sync', conv })],
      ['sync with a negative after', (conv) => ({ type: 'sync', conv, after: -1 })],
      ['sync with a non-integer after', (conv) => ({ type: 'sync', conv, after: 0.5 })],
      ['sync with a string after', (conv) => ({ type: 'sync', conv, after: '0' })],
      ['sync with limit 0', (conv) => ({ type: 'sync', conv, after: 0, limit: 0 })],
      ['sync with a negative limit', (conv) => ({ type: 'sync', conv, after: 0, limit: -5 })],
      ['sync with a non-integer limit', (conv) => ({ type: 'sync', conv, after: 0, limit: 2.5 })],
      ['sync with a string limit', (conv) => ({ type: 'sync', conv, after: 0, limit: '10' })],
      ['sync without conv', () => ({ type: 'sync', after: 0 })],
      ['typing without conv', () => ({ type: 'typing' })],
      ['typing with a non-string conv', () => ({ type: 'typing', conv: {} })],
    ];
    for (const [label, build] of badFrames) {
      it(`refuses ${label}: bad_request, connection kept`, async function () {
        const r = await room();
        r.client.send(build(r.conv));
        expectErrorFrame(await r.client.nextOf('error'), 'bad_request');
        await r.client.assertNoFrame((f) => f.type === 'history');
        await expectNothingHappened(r);
      });
    }

    for (const type of ['read', 'sync', 'typing'] as const) {
      it(`answers ${type} naming a conv that cannot be an id not_found with its ref, as a missing conversation`, async function () {
        const r = await room();
        const frame = (conv: string, id: string): Record<string, unknown> => ({ type, id, conv, ...(type === 'read' ? { seq: 1 } : type === 'sync' ? { after: 0 } : {}) });
        r.client.send(frame('c_doesnotexist0000', `${type}-missing`));
        const missing = await r.client.next((f) => f.type === 'error' && f.ref === `${type}-missing`);
        expectErrorFrame(missing, 'not_found', `${type}-missing`);
        r.client.send(frame("c_' OR 1=1 --", `${type}-malformed`));
        const malformed = await r.client.next((f) => f.type === 'error' && f.ref === `${type}-malformed`);
        expectErrorFrame(malformed, 'not_found', `${type}-malformed`);
        expect(malformed.message).to.equal(missing.message);
        await r.client.assertNoFrame((f) => f.type === 'history');
        await expectNothingHappened(r);
      });
    }

    it('puts a frame’s string id as ref on a refused read', async function () {
      const r = await room();
      r.client.send({ type: 'read', id: 'read-ref', conv: r.conv, seq: -3 });
      expectErrorFrame(await r.client.nextOf('error'), 'bad_request', 'read-ref');
      await expectNothingHappened(r);
    });
  });

  describe('frame size', function () {
    it('answers a frame of exactly 64 KiB with an error frame (not a close): too_large for its body', async function () {
      const r = await room();
      const id = clientMsgId('edge');
      const skeleton = JSON.stringify({ type: 'send', id, conv: r.conv, body: { text: 'x', pad: '' } });
      const frame = JSON.stringify({ type: 'send', id, conv: r.conv, body: { text: 'x', pad: 'p'.repeat(64 * 1024 - skeleton.length) } });
      expect(Buffer.byteLength(frame)).to.equal(64 * 1024);
      r.client.sendRaw(frame);
      expectErrorFrame(await r.client.nextOf('error'), 'too_large', id);
      await expectNothingHappened(r);
    });

    it('closes the connection with 1009 for a frame over 64 KiB, storing nothing', async function () {
      const r = await room();
      const frame = JSON.stringify({ type: 'send', id: 'huge', conv: r.conv, body: { text: 'x', pad: 'p'.repeat(64 * 1024) } });
      r.client.sendRaw(frame);
      const closed = await r.client.closed;
      expect(closed.code).to.equal(1009);
      expect((await getConversation(http, r.sender.accessToken, r.conv)).lastSeq).to.equal(0);
    });
  });
});
