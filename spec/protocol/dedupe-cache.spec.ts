// Covers docs/architecture.md § De-duplication with the cache of recent ids at its smallest: a
// conversation actor remembers one (or two) client ids, so a re-send of an older one is not in
// memory and only the store's unique key can recognise it. The answer must be the same either
// way (docs/protocol.md § Guarantees: Idempotency): the original ack, and no second message.
import { expect } from 'chai';
import { api, closeAllClients, connect, registerAndLogin } from '../support/client.js';
import { clientMsgId, createDirect, createGroup, fetchAllMessages, sendMessage } from '../support/chat.js';
import { startTestServer, type TestServer } from '../support/server.js';

for (const cacheSize of [1, 2]) {
  describe(`protocol: re-sends that fell out of a de-duplication cache of ${cacheSize}`, function () {
    this.timeout(30000);
    let server: TestServer;

    before(async function () {
      server = await startTestServer({ 'actors.dedupeWindow': cacheSize });
    });
    afterEach(closeAllClients);
    after(async function () {
      await server?.stop();
    });

    it(`answers A after B and C with A's original ack and stores nothing new (cache ${cacheSize}, group)`, async function () {
      const http = api(server.baseUrl);
      const [alice, bob] = [await registerAndLogin(server.baseUrl), await registerAndLogin(server.baseUrl)];
      const conv = await createGroup(http, alice, [bob.user.id]);
      const { client } = await connect(server.wsUrl(alice.accessToken));
      const [a, b, c] = [clientMsgId('a'), clientMsgId('b'), clientMsgId('c')];
      const first = await sendMessage(client, conv.id, { text: 'A' }, a);
      await sendMessage(client, conv.id, { text: 'B' }, b);
      const third = await sendMessage(client, conv.id, { text: 'C' }, c);

      // C was the last: the cache answers it. A is two sends back: only storage knows it.
      expect(await sendMessage(client, conv.id, { text: 'C again' }, c)).to.deep.equal(third);
      const againA = await sendMessage(client, conv.id, { text: 'A, sent again with another body' }, a);
      expect(againA).to.deep.equal(first);
      expect(againA.seq).to.equal(1);

      const next = await sendMessage(client, conv.id, { text: 'D' });
      expect(next.seq).to.equal(4); // the re-sends took no seq
      const stored = await fetchAllMessages(http, alice.accessToken, conv.id);
      expect(stored.map((m: { seq: number; body: { text: string } }) => [m.seq, m.body.text])).to.deep.equal([
        [1, 'A'],
        [2, 'B'],
        [3, 'C'],
        [4, 'D'],
      ]);
    });

    it(`answers every id of a direct conversation's run again from storage, in one connection and another (cache ${cacheSize})`, async function () {
      const http = api(server.baseUrl);
      const [alice, bob] = [await registerAndLogin(server.baseUrl), await registerAndLogin(server.baseUrl)];
      const conv = await createDirect(http, alice, bob.user.id);
      const { client } = await connect(server.wsUrl(alice.accessToken));
      const ids = Array.from({ length: 6 }, () => clientMsgId('run'));
      const acks = [];
      for (const [i, id] of ids.entries()) acks.push(await sendMessage(client, conv.id, { text: `m${i}` }, id));

      const { client: other } = await connect(server.wsUrl(alice.accessToken));
      for (const [i, id] of ids.entries()) {
        expect(await sendMessage(other, conv.id, { text: `m${i} again` }, id)).to.deep.equal(acks[i]);
      }
      const stored = await fetchAllMessages(http, alice.accessToken, conv.id);
      expect(stored.map((m: { body: { text: string } }) => m.body.text)).to.deep.equal(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    });
  });
}
