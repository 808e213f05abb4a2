// Covers docs/protocol.md § HTTP: POST /v1/conversations (direct and group), GET /v1/conversations,
// GET /v1/conversations/:id, the <conversation> shape, and § WebSocket: the `conversation`
// frame sent when a user is added to a conversation.
import { expect } from 'chai';
import { api, closeAllClients, connect, registerAndLogin, type Api, type Json, type LoggedIn } from '../support/client.js';
import { createDirect, createGroup, getConversation, sendMessage } from '../support/chat.js';
import { expectHttpError } from '../support/expect-error.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait-for.js';

function expectConversationShape(conv: Json): void {
  expect(conv.id).to.be.a('string').and.not.equal('');
  expect(conv.type).to.be.oneOf(['direct', 'group']);
  expect(conv.memberCount).to.be.a('number');
  expect(conv.lastSeq).to.be.a('number');
  expect(conv.readSeq).to.be.a('number');
  expect(conv.createdAt).to.be.a('number');
  expect(conv.members).to.be.an('array');
}

describe('protocol: conversations', function () {
  let server: TestServer;
  let http: Api;
  const login = (): Promise<LoggedIn> => registerAndLogin(server.baseUrl);

  before(async function () {
    server = await startTestServer();
    http = api(server.baseUrl);
  });
  afterEach(closeAllClients);
  after(async function () {
    await server?.stop();
  });

  describe('direct', function () {
    it('creates a direct conversation: 200 with type direct, both members, memberCount 2, lastSeq 0, readSeq 0', async function () {
      const [a, b] = [await login(), await login()];
      const before = Date.now();
      const res = await http('POST', '/v1/conversations', { type: 'direct', peer: b.user.id }, a.accessToken);
      expect(res.status, res.text).to.equal(200);
      expectConversationShape(res.body);
      expect(res.body.type).to.equal('direct');
      expect(res.body.members).to.have.members([a.user.id, b.user.id]);
      expect(res.body.memberCount).to.equal(2);
      expect(res.body.lastSeq).to.equal(0);
      expect(res.body.readSeq).to.equal(0);
      expect(res.body.createdAt).to.be.within(before - 60000, Date.now() + 60000);
    });

    it('is idempotent from both sides: the same two users always get the same conversation', async function () {
      const [a, b] = [await login(), await login()];
      const first = await createDirect(http, a, b.user.id);
      const again = await createDirect(http, a, b.user.id);
      const fromPeer = await createDirect(http, b, a.user.id);
      expect(again.id).to.equal(first.id);
      expect(fromPeer.id).to.equal(first.id);
      const list = await http('GET', '/v1/conversations', undefined, a.accessToken);
      expect(list.body.conversations.filter((c: Json) => c.id === first.id)).to.have.length(1);
    });

    it('gives different pairs different conversations', async function () {
      const [a, b, c] = [await login(), await login(), await login()];
      const ab = await createDirect(http, a, b.user.id);
      const ac = await createDirect(http, a, c.user.id);
      expect(ab.id).to.not.equal(ac.id);
    });

    it('pushes a `conversation` frame to the online peer', async function () {
      const [a, b] = [await login(), await login()];
      const { client: peer } = await connect(server.wsUrl(b.accessToken));
      const conv = await createDirect(http, a, b.user.id);
      const frame = await peer.next((f) => f.type === 'conversation' && f.conversation?.id === conv.id);
      expectConversationShape(frame.conversation);
      expect(frame.conversation.type).to.equal('direct');
      expect(frame.conversation.members).to.have.members([a.user.id, b.user.id]);
    });

    it('refuses an unknown peer: 404 not_found', async function () {
      const a = await login();
      const res = await http('POST', '/v1/conversations', { type: 'direct', peer: 'no-such-user-id' }, a.accessToken);
      expectHttpError(res, 404, 'not_found');
    });

    it('answers a peer that cannot be a user id exactly like an unknown one: 404 not_found naming peer', async function () {
      const a = await login();
      const unknown = await http('POST', '/v1/conversations', { type: 'direct', peer: 'u_doesnotexist0000' }, a.accessToken);
      expectHttpError(unknown, 404, 'not_found', 'peer');
      for (const peer of ["' OR 1=1 --", '', 'u_a/b', 'u_\u0000', `u_${'a'.repeat(10_240)}`]) {
        const res = await http('POST', '/v1/conversations', { type: 'direct', peer }, a.accessToken);
        expectHttpError(res, 404, 'not_found', 'peer');
        expect(res.body.error.message).to.equal(unknown.body.error.message);
      }
    });

    it('refuses a missing or non-string peer: 400 invalid_argument naming peer', async function () {
      const a = await login();
      expectHttpError(await http('POST', '/v1/conversations', { type: 'direct' }, a.accessToken), 400, 'invalid_argument', 'peer');
      expectHttpError(await http('POST', '/v1/conversations', { type: 'direct', peer: 7 }, a.accessToken), 400, 'invalid_argument', 'peer');
      expectHttpError(await http('POST', '/v1/conversations', { type: 'direct', peer: [a.user.id] }, a.accessToken), 400, 'invalid_argument', 'peer');
    });
  });

  describe('group', function () {
    it('creates a group: 201 with name, the caller as owner and member, memberCount, lastSeq 0, readSeq 0, createdAt', async function () {
      const [owner, m1, m2] = [await login(), await login(), await login()];
      const before = Date.now();
      const res = await http('POST', '/v1/conversations', { type: 'group', name: 'Team Rocket', members: [m1.user.id, m2.user.id] }, owner.accessToken);
      expect(res.status, res.text).to.equal(201);
      expectConversationShape(res.body);
      expect(res.body.type).to.equal('group');
      expect(res.body.name).to.equal('Team Rocket');
      expect(res.body.owner).to.equal(owner.user.id);
      expect(res.body.members).to.have.members([owner.user.id, m1.user.id, m2.user.id]);
      expect(res.body.memberCount).to.equal(3);
      expect(res.body.lastSeq).to.equal(0);
      expect(res.body.readSeq).to.equal(0);
      expect(res.body.createdAt).to.be.within(before - 60000, Date.now() + 60000);
    });

    it('creates a group with no other member: the caller alone', async function () {
      const owner = await login();
      const conv = await createGroup(http, owner, [], 'solo');
      expect(conv.members).to.deep.equal([owner.user.id]);
      expect(conv.memberCount).to.equal(1);
    });

    it('pushes a `conversation` frame to every online member', async function () {
      const [owner, m1, m2] = [await login(), await login(), await login()];
      const { client: c1 } = await connect(server.wsUrl(m1.accessToken));
      const { client: c2 } = await connect(server.wsUrl(m2.accessToken));
      const conv = await createGroup(http, owner, [m1.user.id, m2.user.id], 'pushed');
      for (const client of [c1, c2]) {
        const frame = await client.next((f) => f.type === 'conversation' && f.conversation?.id === conv.id);
        expect(frame.conversation.name).to.equal('pushed');
        expect(frame.conversation.owner).to.equal(owner.user.id);
        expect(frame.conversation.members).to.have.members([owner.user.id, m1.user.id, m2.user.id]);
      }
    });

    it('lets a new member see the group in its next `ready` frame', async function () {
      const [owner, m1] = [await login(), await login()];
      const conv = await createGroup(http, owner, [m1.user.id]);
      const { ready } = await connect(server.wsUrl(m1.accessToken));
      expect(ready.conversations).to.deep.include({ id: conv.id, lastSeq: 0, readSeq: 0 });
    });

    it('names the first member that is unknown or cannot be a user id (404 not_found), cut and escaped', async function () {
      const [a, b] = [await login(), await login()];
      const refusal = async (members: string[]): Promise<string> => {
        const res = await http('POST', '/v1/conversations', { type: 'group', name: 'g', members }, a.accessToken);
        expectHttpError(res, 404, 'not_found', 'members');
        return res.body.error.message as string;
      };
      expect(await refusal([b.user.id, 'u_doesnotexist0000', 'bad id'])).to.equal('members: no user u_doesnotexist0000');
      expect(await refusal([b.user.id, 'bad\u0000id', 'u_doesnotexist0000'])).to.equal('members: no user "bad\\u0000id"');
      expect(await refusal([`u_${'a'.repeat(10_240)}`])).to.equal(`members: no user "u_${'a'.repeat(38)}"…`);
      const list = await http('GET', '/v1/conversations', undefined, a.accessToken);
      expect(list.body.conversations, 'no group was made').to.deep.equal([]);
    });

    const badBodies: Array<[string, Record<string, unknown>, string]> = [
      ['a missing type', { name: 'g', members: [] }, 'type'],
      ['an unknown type', { type: 'channel', name: 'g', members: [] }, 'type'],
      ['a non-string type', { type: 1, name: 'g', members: [] }, 'type'],
      ['a missing name', { type: 'group', members: [] }, 'name'],
      ['a non-string name', { type: 'group', name: 42, members: [] }, 'name'],
      ['a missing members', { type: 'group', name: 'g' }, 'members'],
      ['a non-array members', { type: 'group', name: 'g', members: 'everyone' }, 'members'],
      ['a members entry that is not a string', { type: 'group', name: 'g', members: [42] }, 'members'],
    ];
    for (const [label, body, field] of badBodies) {
      it(`refuses ${label}: 400 invalid_argument naming ${field}`, async function () {
        const a = await login();
        expectHttpError(await http('POST', '/v1/conversations', body, a.accessToken), 400, 'invalid_argument', field);
      });
    }
  });

  describe('GET /v1/conversations', function () {
    it('lists exactly the caller’s conversations', async function () {
      const [a, b, c] = [await login(), await login(), await login()];
      const direct = await createDirect(http, a, b.user.id);
      const group = await createGroup(http, c, [a.user.id], 'listed');
      const notMine = await createGroup(http, b, [c.user.id], 'not listed');
      const res = await http('GET', '/v1/conversations', undefined, a.accessToken);
      expect(res.status, res.text).to.equal(200);
      expect(res.body.conversations).to.be.an('array');
      const ids = res.body.conversations.map((conv: Json) => conv.id);
      expect(ids).to.have.members([direct.id, group.id]);
      expect(ids).to.not.include(notMine.id);
      for (const conv of res.body.conversations) expectConversationShape(conv);
      const listedGroup = res.body.conversations.find((conv: Json) => conv.id === group.id);
      expect(listedGroup).to.include({ type: 'group', name: 'listed', owner: c.user.id, memberCount: 2 });
    });

    it('answers an empty list for a user in no conversation', async function () {
      const a = await login();
      const res = await http('GET', '/v1/conversations', undefined, a.accessToken);
      expect(res.status).to.equal(200);
      expect(res.body.conversations).to.deep.equal([]);
    });
  });

  describe('GET /v1/conversations/:id', function () {
    it('answers 200 with the conversation for a member', async function () {
      const [owner, m] = [await login(), await login()];
      const conv = await createGroup(http, owner, [m.user.id], 'readable');
      const res = await http('GET', `/v1/conversations/${conv.id}`, undefined, m.accessToken);
      expect(res.status, res.text).to.equal(200);
      expectConversationShape(res.body);
      expect(res.body).to.include({ id: conv.id, type: 'group', name: 'readable', owner: owner.user.id, memberCount: 2 });
      expect(res.body.members).to.have.members([owner.user.id, m.user.id]);
    });

    it('answers 404 not_found to a non-member and for a nonexistent id alike (never leaks existence)', async function () {
      const [owner, outsider] = [await login(), await login()];
      const conv = await createGroup(http, owner, [], 'secret');
      const hidden = await http('GET', `/v1/conversations/${conv.id}`, undefined, outsider.accessToken);
      const missing = await http('GET', '/v1/conversations/no-such-conversation', undefined, outsider.accessToken);
      expectHttpError(hidden, 404, 'not_found');
      expectHttpError(missing, 404, 'not_found');
      expect(hidden.body.error.code).to.equal(missing.body.error.code);
    });

    it('answers 404 to a user outside a direct conversation', async function () {
      const [a, b, c] = [await login(), await login(), await login()];
      const conv = await createDirect(http, a, b.user.id);
      expectHttpError(await http('GET', `/v1/conversations/${conv.id}`, undefined, c.accessToken), 404, 'not_found');
    });

    it('reports lastSeq as the newest message and readSeq as the caller’s own cursor', async function () {
      const [a, b] = [await login(), await login()];
      const conv = await createGroup(http, a, [b.user.id], 'cursors');
      const { client: ca } = await connect(server.wsUrl(a.accessToken));
      const { client: cb } = await connect(server.wsUrl(b.accessToken));
      for (let i = 1; i <= 3; i++) await sendMessage(ca, conv.id, { text: `m${i}` });
      cb.send({ type: 'read', conv: conv.id, seq: 2 });
      await waitFor(async () => (await getConversation(http, b.accessToken, conv.id)).readSeq === 2, { message: 'readSeq 2 for b' });
      const seenByB = await getConversation(http, b.accessToken, conv.id);
      expect(seenByB.lastSeq).to.equal(3);
      const seenByA = await getConversation(http, a.accessToken, conv.id);
      expect(seenByA.lastSeq).to.equal(3);
      expect(seenByA.readSeq, 'a has read nothing').to.equal(0);
      const listB = await http('GET', '/v1/conversations', undefined, b.accessToken);
      expect(listB.body.conversations.find((c: Json) => c.id === conv.id)).to.include({ lastSeq: 3, readSeq: 2 });
    });
  });
});
