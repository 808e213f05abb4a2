// Covers docs/protocol.md § HTTP: POST /v1/conversations/:id/members and
// DELETE /v1/conversations/:id/members/:userId (owner only, leaving, owner hand-over), and
// § WebSocket: the `conversation` and `member` frames, and what a removed member loses.
import { expect } from 'chai';
import { api, closeAllClients, connect, registerAndLogin, type Api, type Json, type LoggedIn, type WsClient } from '../support/client.js';
import { clientMsgId, createDirect, createGroup, getConversation, sendMessage } from '../support/chat.js';
import { expectErrorFrame, expectHttpError } from '../support/expect-error.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait-for.js';

describe('protocol: members', function () {
  let server: TestServer;
  let http: Api;
  const login = (): Promise<LoggedIn> => registerAndLogin(server.baseUrl);
  const online = async (user: LoggedIn): Promise<WsClient> => (await connect(server.wsUrl(user.accessToken))).client;
  const memberFrame = (conv: string, event: string, user: string) => (f: Json) =>
    f.type === 'member' && f.conv === conv && f.event === event && f.user === user;

  before(async function () {
    server = await startTestServer();
    http = api(server.baseUrl);
  });
  afterEach(closeAllClients);
  after(async function () {
    await server?.stop();
  });

  describe('adding', function () {
    it('lets the owner add members: 200 with the conversation including them', async function () {
      const [owner, m1, n1, n2] = [await login(), await login(), await login(), await login()];
      const conv = await createGroup(http, owner, [m1.user.id]);
      const res = await http('POST', `/v1/conversations/${conv.id}/members`, { members: [n1.user.id, n2.user.id] }, owner.accessToken);
      expect(res.status, res.text).to.equal(200);
      expect(res.body.id).to.equal(conv.id);
      expect(res.body.members).to.have.members([owner.user.id, m1.user.id, n1.user.id, n2.user.id]);
      expect(res.body.memberCount).to.equal(4);
      const view = await getConversation(http, n1.accessToken, conv.id);
      expect(view.members).to.include(n1.user.id);
    });

    it('sends the new member a `conversation` frame and every member a `member` joined frame', async function () {
      const [owner, m1, newbie] = [await login(), await login(), await login()];
      const conv = await createGroup(http, owner, [m1.user.id]);
      const [cOwner, cM1, cNew] = [await online(owner), await online(m1), await online(newbie)];
      const res = await http('POST', `/v1/conversations/${conv.id}/members`, { members: [newbie.user.id] }, owner.accessToken);
      expect(res.status).to.equal(200);
      const added = await cNew.next((f) => f.type === 'conversation' && f.conversation?.id === conv.id);
      expect(added.conversation.members).to.include(newbie.user.id);
      for (const client of [cOwner, cM1, cNew]) {
        const frame = await client.next(memberFrame(conv.id, 'joined', newbie.user.id));
        expect(frame).to.deep.equal({ type: 'member', conv: conv.id, event: 'joined', user: newbie.user.id });
      }
    });

    it('sends existing members a `conversation` frame with the changed member list and their own readSeq', async function () {
      const [owner, m1, newbie] = [await login(), await login(), await login()];
      const conv = await createGroup(http, owner, [m1.user.id]);
      await sendMessage(await online(owner), conv.id, { text: 'before the change' });
      const cM1 = await online(m1);
      cM1.send({ type: 'read', conv: conv.id, seq: 1 });
      await waitFor(async () => (await getConversation(http, m1.accessToken, conv.id)).readSeq === 1);
      await http('POST', `/v1/conversations/${conv.id}/members`, { members: [newbie.user.id] }, owner.accessToken);
      const changed = await cM1.next((f) => f.type === 'conversation' && f.conversation?.id === conv.id);
      expect(changed.conversation.members).to.have.members([owner.user.id, m1.user.id, newbie.user.id]);
      expect(changed.conversation.memberCount).to.equal(3);
      expect(changed.conversation.readSeq).to.equal(1);
    });

    it('refuses a member who is not the owner: 403 forbidden', async function () {
      const [owner, m1, other] = [await login(), await login(), await login()];
      const conv = await createGroup(http, owner, [m1.user.id]);
      const res = await http('POST', `/v1/conversations/${conv.id}/members`, { members: [other.user.id] }, m1.accessToken);
      expectHttpError(res, 403, 'forbidden');
      const view = await getConversation(http, owner.accessToken, conv.id);
      expect(view.members).to.not.include(other.user.id);
    });

    it('answers a non-member 404 not_found (never leaks existence)', async function () {
      const [owner, outsider] = [await login(), await login()];
      const conv = await createGroup(http, owner, []);
      const res = await http('POST', `/v1/conversations/${conv.id}/members`, { members: [outsider.user.id] }, outsider.accessToken);
      expectHttpError(res, 404, 'not_found');
    });

    it('refuses adding to a direct conversation: 400 invalid_argument', async function () {
      const [a, b, c] = [await login(), await login(), await login()];
      const conv = await createDirect(http, a, b.user.id);
      const res = await http('POST', `/v1/conversations/${conv.id}/members`, { members: [c.user.id] }, a.accessToken);
      expectHttpError(res, 400, 'invalid_argument');
      const view = await getConversation(http, a.accessToken, conv.id);
      expect(view.memberCount).to.equal(2);
    });

    it('answers a member id that cannot be a user id like an unknown one: 404 not_found naming members, nothing added', async function () {
      const [owner, m1] = [await login(), await login()];
      const conv = await createGroup(http, owner, []);
      const unknown = await http('POST', `/v1/conversations/${conv.id}/members`, { members: ['u_doesnotexist0000'] }, owner.accessToken);
      expectHttpError(unknown, 404, 'not_found', 'members');
      const malformed = await http('POST', `/v1/conversations/${conv.id}/members`, { members: [m1.user.id, "u_' OR 1=1 --"] }, owner.accessToken);
      expectHttpError(malformed, 404, 'not_found', 'members');
      expect(malformed.body.error.message).to.equal(`members: no user "u_' OR 1=1 --"`);
      expect((await getConversation(http, owner.accessToken, conv.id)).memberCount).to.equal(1);
    });

    it('refuses a missing or non-array members field: 400 invalid_argument naming members', async function () {
      const owner = await login();
      const conv = await createGroup(http, owner, []);
      expectHttpError(await http('POST', `/v1/conversations/${conv.id}/members`, {}, owner.accessToken), 400, 'invalid_argument', 'members');
      expectHttpError(await http('POST', `/v1/conversations/${conv.id}/members`, { members: 'x' }, owner.accessToken), 400, 'invalid_argument', 'members');
    });
  });

  describe('removing and leaving', function () {
    it('lets the owner remove a member: 204; the removed user and the remaining members get `member` left', async function () {
      const [owner, m1, m2] = [await login(), await login(), await login()];
      const conv = await createGroup(http, owner, [m1.user.id, m2.user.id]);
      const [cOwner, cM1, cM2] = [await online(owner), await online(m1), await online(m2)];
      const res = await http('DELETE', `/v1/conversations/${conv.id}/members/${m2.user.id}`, undefined, owner.accessToken);
      expect(res.status, res.text).to.equal(204);
      for (const client of [cOwner, cM1, cM2]) {
        const frame = await client.next(memberFrame(conv.id, 'left', m2.user.id));
        expect(frame).to.deep.equal({ type: 'member', conv: conv.id, event: 'left', user: m2.user.id });
      }
      const view = await getConversation(http, owner.accessToken, conv.id);
      expect(view.members).to.have.members([owner.user.id, m1.user.id]);
      expect(view.memberCount).to.equal(2);
    });

    it('lets a member remove itself (leave): 204, and it gets `member` left', async function () {
      const [owner, m1] = [await login(), await login()];
      const conv = await createGroup(http, owner, [m1.user.id]);
      const [cOwner, cM1] = [await online(owner), await online(m1)];
      const res = await http('DELETE', `/v1/conversations/${conv.id}/members/${m1.user.id}`, undefined, m1.accessToken);
      expect(res.status, res.text).to.equal(204);
      await cM1.next(memberFrame(conv.id, 'left', m1.user.id));
      await cOwner.next(memberFrame(conv.id, 'left', m1.user.id));
      const list = await http('GET', '/v1/conversations', undefined, m1.accessToken);
      expect(list.body.conversations.map((c: Json) => c.id)).to.not.include(conv.id);
    });

    it('refuses a non-owner removing someone else: 403 forbidden, and nobody is removed', async function () {
      const [owner, m1, m2] = [await login(), await login(), await login()];
      const conv = await createGroup(http, owner, [m1.user.id, m2.user.id]);
      const res = await http('DELETE', `/v1/conversations/${conv.id}/members/${m2.user.id}`, undefined, m1.accessToken);
      expectHttpError(res, 403, 'forbidden');
      const view = await getConversation(http, owner.accessToken, conv.id);
      expect(view.members).to.include(m2.user.id);
    });

    it('answers a user id that cannot be one like a non-member: 404 not_found, nobody removed', async function () {
      const [owner, m1, outsider] = [await login(), await login(), await login()];
      const conv = await createGroup(http, owner, [m1.user.id]);
      const nonMember = await http('DELETE', `/v1/conversations/${conv.id}/members/${outsider.user.id}`, undefined, owner.accessToken);
      expectHttpError(nonMember, 404, 'not_found');
      for (const target of ["u_' OR 1=1 --", 'u_a%2Fb', conv.id]) {
        const res = await http('DELETE', `/v1/conversations/${conv.id}/members/${encodeURIComponent(target)}`, undefined, owner.accessToken);
        expectHttpError(res, 404, 'not_found');
        expect(res.body.error.message).to.equal(nonMember.body.error.message);
      }
      expect((await getConversation(http, owner.accessToken, conv.id)).memberCount).to.equal(2);
    });

    it('answers a non-member trying to remove someone 404 not_found', async function () {
      const [owner, m1, outsider] = [await login(), await login(), await login()];
      const conv = await createGroup(http, owner, [m1.user.id]);
      const res = await http('DELETE', `/v1/conversations/${conv.id}/members/${m1.user.id}`, undefined, outsider.accessToken);
      expectHttpError(res, 404, 'not_found');
    });

    it('hands ownership to the longest-standing remaining member when the owner leaves', async function () {
      const [owner, x, y] = [await login(), await login(), await login()];
      // The earlier joiner is chosen to have the larger id, so ordering by id would pick the wrong one.
      const [earlier, later] = x.user.id > y.user.id ? [x, y] : [y, x];
      const conv = await createGroup(http, owner, [earlier.user.id]);
      const add = await http('POST', `/v1/conversations/${conv.id}/members`, { members: [later.user.id] }, owner.accessToken);
      expect(add.status).to.equal(200);
      const res = await http('DELETE', `/v1/conversations/${conv.id}/members/${owner.user.id}`, undefined, owner.accessToken);
      expect(res.status, res.text).to.equal(204);
      const view = await getConversation(http, later.accessToken, conv.id);
      expect(view.owner).to.equal(earlier.user.id);
      expect(view.members).to.have.members([earlier.user.id, later.user.id]);
      // The new owner holds the owner's rights.
      const removed = await http('DELETE', `/v1/conversations/${conv.id}/members/${later.user.id}`, undefined, earlier.accessToken);
      expect(removed.status, removed.text).to.equal(204);
    });

    it('sends the remaining members a `conversation` frame naming the new owner when the owner leaves', async function () {
      const [owner, m1] = [await login(), await login()];
      const conv = await createGroup(http, owner, [m1.user.id]);
      const cM1 = await online(m1);
      const res = await http('DELETE', `/v1/conversations/${conv.id}/members/${owner.user.id}`, undefined, owner.accessToken);
      expect(res.status).to.equal(204);
      await cM1.next(memberFrame(conv.id, 'left', owner.user.id));
      const changed = await cM1.next((f) => f.type === 'conversation' && f.conversation?.id === conv.id && f.conversation.owner === m1.user.id);
      expect(changed.conversation.members).to.deep.equal([m1.user.id]);
    });

    it('takes everything from a removed member: history 404, send `not_found`, no more pushes', async function () {
      const [owner, m1, gone] = [await login(), await login(), await login()];
      const conv = await createGroup(http, owner, [m1.user.id, gone.user.id]);
      const [cOwner, cGone] = [await online(owner), await online(gone)];
      await sendMessage(cOwner, conv.id, { text: 'before' });
      await cGone.next((f) => f.type === 'msg' && f.conv === conv.id && f.seq === 1);
      const res = await http('DELETE', `/v1/conversations/${conv.id}/members/${gone.user.id}`, undefined, owner.accessToken);
      expect(res.status).to.equal(204);
      await cGone.next(memberFrame(conv.id, 'left', gone.user.id));

      expectHttpError(await http('GET', `/v1/conversations/${conv.id}/messages`, undefined, gone.accessToken), 404, 'not_found');
      expectHttpError(await http('GET', `/v1/conversations/${conv.id}`, undefined, gone.accessToken), 404, 'not_found');

      const id = clientMsgId('gone');
      cGone.send({ type: 'send', id, conv: conv.id, body: { text: 'still here?' } });
      expectErrorFrame(await cGone.next((f) => f.type === 'error' && f.ref === id), 'not_found', id);

      await sendMessage(cOwner, conv.id, { text: 'after' });
      await cGone.assertNoFrame((f) => f.type === 'msg' && f.conv === conv.id);
      const view = await getConversation(http, owner.accessToken, conv.id);
      expect(view.lastSeq, 'the refused send stored nothing').to.equal(2);
    });
  });
});
