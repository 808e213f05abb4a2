// Covers docs/protocol.md § Guarantees: Durability (acked messages survive the process), across a
// graceful restart of the embedded server on the same data: users and passwords, access
// tokens (signing keys persist), conversations, messages, lastSeq, readSeq, and seq
// continuing at lastSeq + 1.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { api, closeAllClients, connect, registerAndLogin, type Json } from '../support/client.js';
import { createDirect, createGroup, fetchAllMessages, getConversation, sendMessage } from '../support/chat.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait-for.js';

describe('protocol: restart on the same data', function () {
  this.timeout(60000);
  let dataDir: string;
  const servers: TestServer[] = [];

  before(async function () {
    dataDir = await mkdtemp(join(tmpdir(), 'troupe-spec-restart-'));
  });
  afterEach(closeAllClients);
  after(async function () {
    for (const server of servers) await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps users, tokens, conversations, messages and cursors, and continues seq at lastSeq + 1', async function () {
    const first = await startTestServer({}, { dataDir, keepDataDir: true });
    servers.push(first);
    let http = api(first.baseUrl);
    const [a, b] = [await registerAndLogin(first.baseUrl), await registerAndLogin(first.baseUrl)];
    const group = await createGroup(http, a, [b.user.id], 'durable');
    const direct = await createDirect(http, b, a.user.id);
    const { client: ca } = await connect(first.wsUrl(a.accessToken));
    const { client: cb } = await connect(first.wsUrl(b.accessToken));
    const acks: Json[] = [];
    for (let i = 0; i < 5; i++) acks.push(await sendMessage(i % 2 === 0 ? ca : cb, group.id, { text: `g${i}`, n: i }));
    await sendMessage(cb, direct.id, { text: 'direct one' });
    cb.send({ type: 'read', conv: group.id, seq: 4 });
    await waitFor(async () => (await getConversation(http, b.accessToken, group.id)).readSeq === 4, { message: 'readSeq 4' });
    const storedBefore = await fetchAllMessages(http, a.accessToken, group.id);
    const groupBefore = await getConversation(http, a.accessToken, group.id);
    await closeAllClients();
    await first.stop();

    const second = await startTestServer({}, { dataDir, keepDataDir: true });
    servers.push(second);
    http = api(second.baseUrl);

    const relogin = await http('POST', '/v1/sessions', { username: a.user.username, password: a.password });
    expect(relogin.status, relogin.text).to.equal(200);
    expect(relogin.body.user.id).to.equal(a.user.id);

    const me = await http('GET', '/v1/me', undefined, b.accessToken);
    expect(me.status, 'an access token from before the restart still verifies').to.equal(200);
    expect(me.body.id).to.equal(b.user.id);
    const refreshed = await http('POST', '/v1/sessions/refresh', { refreshToken: b.refreshToken });
    expect(refreshed.status, 'a refresh token from before the restart still works').to.equal(200);

    const groupAfter = await getConversation(http, a.accessToken, group.id);
    expect(groupAfter).to.deep.include({ id: group.id, type: 'group', name: 'durable', owner: a.user.id, lastSeq: 5, memberCount: 2, createdAt: groupBefore.createdAt });
    expect(groupAfter.members).to.have.members([a.user.id, b.user.id]);
    expect((await getConversation(http, b.accessToken, group.id)).readSeq).to.equal(4);
    expect((await getConversation(http, a.accessToken, direct.id)).lastSeq).to.equal(1);

    const storedAfter = await fetchAllMessages(http, b.accessToken, group.id);
    expect(storedAfter).to.deep.equal(storedBefore);
    expect(storedAfter.map((m) => m.seq)).to.deep.equal([1, 2, 3, 4, 5]);
    acks.forEach((ack, i) => expect(storedAfter[i]).to.deep.include({ seq: ack.seq, ts: ack.ts, body: { text: `g${i}`, n: i } }));

    const { client: cb2, ready } = await connect(second.wsUrl(b.accessToken));
    expect(ready.conversations).to.deep.include({ id: group.id, lastSeq: 5, readSeq: 4 });
    expect(ready.conversations).to.deep.include({ id: direct.id, lastSeq: 1, readSeq: 0 });

    // A re-send of an id acked before the restart is still recognised.
    const resent = await sendMessage(cb2, group.id, { text: 'g1', n: 1 }, acks[1].id);
    expect(resent).to.deep.equal(acks[1]);
    const next = await sendMessage(cb2, group.id, { text: 'after restart' });
    expect(next.seq).to.equal(6);
  });

  it('keeps accepting messages after a restart whose clock runs behind the epochs already stored', async function () {
    const first = await startTestServer({}, { dataDir, keepDataDir: true });
    servers.push(first);
    const a = await registerAndLogin(first.baseUrl);
    const b = await registerAndLogin(first.baseUrl);
    const group = await createGroup(api(first.baseUrl), a, [b.user.id], 'clock');
    const { client: before } = await connect(first.wsUrl(a.accessToken));
    await sendMessage(before, group.id, { text: 'before' });
    await closeAllClients();
    await first.stop();

    // As if the last run's clock had been a day ahead of this one's: every stored epoch is
    // newer than any revision this run's clock would start from.
    const db = new Database(join(dataDir, 'troupe.sqlite'));
    db.prepare('UPDATE epochs SET epoch = epoch + ?').run(86_400_000);
    db.close();

    const second = await startTestServer({}, { dataDir, keepDataDir: true });
    servers.push(second);
    const { client: after } = await connect(second.wsUrl(a.accessToken));
    const ack = await sendMessage(after, group.id, { text: 'after' });
    expect(ack.seq).to.equal(2);
  });
});
