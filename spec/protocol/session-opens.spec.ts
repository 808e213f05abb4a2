// Covers docs/protocol.md § Connecting (`ready` after the socket opens) under a burst of opens:
// the gateway opens at most gateway.sessionOpens.concurrency sockets at once and queues the rest,
// so every socket of a reconnect storm still gets its `ready` with its own conversations.
import { expect } from 'chai';
import { api, closeAllClients, connect, registerAndLogin, type LoggedIn } from '../support/client.js';
import { createGroup } from '../support/chat.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('protocol: a burst of socket opens', function () {
  this.timeout(60000);
  let server: TestServer;

  before(async function () {
    // One open at a time: every other socket of the burst waits in the queue.
    server = await startTestServer({ 'gateway.sessionOpens.concurrency': 1 });
  });
  afterEach(closeAllClients);
  after(async function () {
    await server?.stop();
  });

  it('answers every socket of a burst with its ready and its own conversations, one open at a time', async function () {
    const users: LoggedIn[] = [];
    for (let i = 0; i < 12; i++) users.push(await registerAndLogin(server.baseUrl));
    const [owner, ...rest] = users as [LoggedIn, ...LoggedIn[]];
    const conv = (await createGroup(api(server.baseUrl), owner, rest.slice(0, 5).map((u) => u.user.id), 'burst')).id as string;
    const opened = await Promise.all(users.map((u) => connect(server.wsUrl(u.accessToken), 20_000)));
    opened.forEach(({ ready }, i) => {
      expect(ready.user.id).to.equal(users[i]!.user.id);
      const convs = (ready.conversations as Array<{ id: string }>).map((c) => c.id);
      expect(convs, `user ${i}'s conversations`).to.deep.equal(i <= 5 ? [conv] : []);
    });
  });
});
