// Large groups in the cluster mode (issue 4, "Done when"): a group of 5,000 members, over the
// default large-group threshold (1,000), every member online on one of two gateways. Stopping
// the task node (SIGSTOP) holds a message back from every member although its sender gets the
// ack; resuming it (SIGCONT) delivers it to every other member exactly once: the fanout goes
// through the task role and nowhere else. Then more messages reach every member in seq order.
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../config/load.js';
import type { Api, Json } from '../support/client.js';
import { getConversation } from '../support/chat.js';
import type { RunningCluster } from './local-cluster.js';
import { alive, inPool, MemberSocket, phase as timedPhase, registerMembers, startGroupCluster, stopGroupCluster, waitForSockets, wsUrlOf, type GroupCluster, type Member, type Received } from './member-sockets.js';

const LABEL = 'large-group';
const phase = <R>(name: string, total: number, run: (progress: { done: number }) => Promise<R>): Promise<R> => timedPhase(LABEL, name, total, run);

const MEMBERS = 5000;
/** The cluster runs with these defaults (config/default.yaml), none of them overridden. */
const DEFAULTS = loadConfig({ env: {} });
/** `groups.largeGroupThreshold` (1,000): the group is well over it. */
const LARGE_GROUP_THRESHOLD = DEFAULTS.groups.largeGroupThreshold;
/** `gateway.maxBodyBytes` (64 KiB): every create and add body stays under it. */
const MAX_BODY_BYTES = DEFAULTS.gateway.maxBodyBytes;
/** HTTP requests (registrations, logins) and socket openings in flight at once. */
const CONCURRENCY = 32;
/** docs/protocol.md: a request names at most 1,000 member ids. */
const MAX_IDS_PER_REQUEST = 1000;

/** Splits `ids` into consecutive batches of at most MAX_IDS_PER_REQUEST whose `{"members": [...]}` JSON fits in `budget` bytes. */
function batchesUnder(ids: readonly string[], budget: number): string[][] {
  const batches: string[][] = [];
  let batch: string[] = [];
  let bytes = '{"members":[]}'.length;
  for (const id of ids) {
    const cost = JSON.stringify(id).length + 1;
    if (batch.length > 0 && (bytes + cost > budget || batch.length === MAX_IDS_PER_REQUEST)) {
      batches.push(batch);
      batch = [];
      bytes = '{"members":[]}'.length;
    }
    batch.push(id);
    bytes += cost;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

describe(`cluster: a group of ${MEMBERS} members (over the default large-group threshold) fanned out by the task role`, function () {
  this.timeout(120_000);
  let group: GroupCluster | undefined;
  let http: [Api, Api];
  let cluster: RunningCluster;
  let members: Member[] = [];
  let groupId: string;
  /** By member index (members[i] holds sockets[i]); sparse while they open. */
  const sockets: MemberSocket[] = [];

  const totalReceived = (): number => sockets.reduce((n, s) => n + s.received.length, 0);

  before(async function () {
    this.timeout(300_000);
    group = await startGroupCluster(LABEL);
    ({ cluster, http } = group);
    members = await phase('register and log in', MEMBERS, (progress) => registerMembers(group!, MEMBERS, 'lg', CONCURRENCY, progress));

    // Members are added before anyone connects: adding to a group announces every join to every
    // online member, which is not what this spec measures.
    const owner = members[0]!;
    await phase('create the group and add members', MEMBERS, async (progress) => {
      const [first, ...rest] = batchesUnder(members.slice(1).map((m) => m.id), MAX_BODY_BYTES - 200);
      expect(rest.length, 'the members take more than one request body').to.be.greaterThan(0);
      const created = await http[0]('POST', '/v1/conversations', { type: 'group', name: 'five thousand', members: first }, owner.accessToken);
      expect(created.status, created.text).to.equal(201);
      groupId = created.body.id as string;
      progress.done = first!.length + 1;
      for (const [b, batch] of rest.entries()) {
        const added = await http[(b + 1) % 2]!('POST', `/v1/conversations/${encodeURIComponent(groupId)}/members`, { members: batch }, owner.accessToken);
        expect(added.status, added.text).to.equal(200);
        progress.done += batch.length;
        expect(added.body.memberCount).to.equal(progress.done);
      }
    });

    await phase('open one socket per member', MEMBERS, (progress) =>
      inPool(members, CONCURRENCY, async (member, i) => {
        sockets[i] = await MemberSocket.open(wsUrlOf(group!, member), groupId);
      }, progress),
    );
  });

  after(async function () {
    this.timeout(120_000);
    await stopGroupCluster(LABEL, this.test?.parent, group, sockets);
  });

  it(`the group counts ${MEMBERS} members from either gateway, and every member's ready frame lists it`, async function () {
    for (const [g, reader] of [[0, members[1]!], [1, members[MEMBERS - 1]!]] as const) {
      const conv = await getConversation(http[g], reader.accessToken, groupId);
      expect(conv.memberCount, `memberCount seen through gateway ${g + 1}`).to.equal(MEMBERS);
      expect(conv.memberCount).to.be.greaterThan(LARGE_GROUP_THRESHOLD);
      expect(conv.type).to.equal('group');
    }
    expect(sockets.filter((s) => s !== undefined), 'open sockets').to.have.length(MEMBERS);
    const listing = sockets.filter((s) => (s.ready.conversations as Json[]).some((c) => c.id === groupId));
    expect(listing.length, 'ready frames listing the group').to.equal(MEMBERS);
  });

  it('a message is held back while the task node is stopped (its sender still gets the ack), then reaches every other member exactly once', async function () {
    const sender = sockets[1]!;
    const taskPid = cluster.pids.get('task-1');
    if (taskPid === undefined) throw new Error('no pid for task-1');
    const body = { text: 'to five thousand' };
    const id = 'large-held-1';
    let ack: Json;
    process.kill(taskPid, 'SIGSTOP');
    try {
      ack = await sender.sendAndAck(groupId, id, body, 8000); // well within the task node's lease
      // Absence can only be shown by waiting: with the task node stopped, nothing may arrive.
      await sleep(2000);
      expect(totalReceived(), 'msg frames delivered while the task node was stopped').to.equal(0);
    } finally {
      process.kill(taskPid, 'SIGCONT');
    }
    expect(ack.seq).to.equal(1);

    const others = sockets.filter((s) => s !== sender);
    const resumed = Date.now();
    await waitForSockets(others, (s) => s.received.length > 0, 'the message', () => {
      if (!alive(taskPid)) throw new Error('task-1 exited after SIGSTOP/SIGCONT: its messages can no longer be fanned out');
    });
    if (process.env.SPEC_PHASE_TIMES === '1') process.stderr.write(`    large-group: delivered to ${others.length} sockets ${Date.now() - resumed} ms after SIGCONT\n`);
    const expected: Received = { seq: 1, id, from: members[1]!.id, body };
    for (const [i, socket] of others.entries()) {
      expect(socket.received, `socket ${i}`).to.deep.equal([expected]);
    }
    expect(sender.received, "the sender's own connection").to.deep.equal([]);
    expect(sockets.filter((s) => s.closeCode !== undefined).length, 'sockets closed by the server').to.equal(0);
  });

  it('three more messages reach every member, in seq order on each socket, never on the sending one', async function () {
    const sender = sockets[0]!;
    const earlier = sockets.map((s) => [...s.received]);
    const sent = [1, 2, 3].map((n) => ({ id: `large-more-${n}`, body: { text: `more ${n}` } }));
    const acks = await Promise.all(sent.map((m) => sender.sendAndAck(groupId, m.id, m.body)));
    // One connection's sends to one conversation are accepted in the order sent.
    expect(acks.map((a) => a.seq as number)).to.deep.equal([2, 3, 4]);
    const fresh: Received[] = sent.map((m, n) => ({ seq: acks[n].seq as number, id: m.id, from: members[0]!.id, body: m.body }));
    const expectedCount = new Map(sockets.map((s, i) => [s, earlier[i]!.length + fresh.length]));
    await waitForSockets(sockets.filter((s) => s !== sender), (s) => s.received.length >= expectedCount.get(s)!, 'the three messages');
    for (const [i, socket] of sockets.entries()) {
      const expected = socket === sender ? earlier[i]! : [...earlier[i]!, ...fresh];
      expect(socket.received, `socket ${i}`).to.deep.equal(expected);
      expect(socket.strayMsgs, `socket ${i}: msg frames of other conversations`).to.equal(0);
    }
    expect(sockets.filter((s) => s.closeCode !== undefined).length, 'sockets closed by the server').to.equal(0);
  });
});
