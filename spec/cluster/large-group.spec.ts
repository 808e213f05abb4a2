// Large groups in the cluster mode (issue 4, "Done when"): a group of 5,000 members, over the
// default large-group threshold (1,000), every member online on one of two gateways. Stopping
// the task node (SIGSTOP) holds a message back from every member although its sender gets the
// ack; resuming it (SIGCONT) delivers it to every other member exactly once: the fanout goes
// through the task role and nowhere else. Then more messages reach every member in seq order.
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../config/load.js';
import { api, uniqueName, SPEC_PASSWORD, type Api, type Json } from '../support/client.js';
import { getConversation } from '../support/chat.js';
import { launchLocalCluster, type RunningCluster } from './local-cluster.js';
import { alive, inPool, MemberSocket, phase as timedPhase, waitForSockets, type Member, type Received } from './member-sockets.js';

const phase = <R>(name: string, total: number, run: (progress: { done: number }) => Promise<R>): Promise<R> => timedPhase('large-group', name, total, run);

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
  let cluster: RunningCluster | undefined;
  let gateways: [string, string];
  let http: [Api, Api];
  let members: Member[] = [];
  let groupId: string;
  /** By member index (members[i] holds sockets[i]); sparse while they open. */
  const sockets: MemberSocket[] = [];
  /** The launcher's last stderr lines (it reports a role that ended there), shown when something failed. */
  const clusterLog: string[] = [];

  const wsUrl = (member: Member): string => `${gateways[member.gateway]!.replace('http', 'ws')}/v1/ws?token=${encodeURIComponent(member.accessToken)}`;

  const totalReceived = (): number => sockets.reduce((n, s) => n + s.received.length, 0);

  before(async function () {
    this.timeout(300_000);
    cluster = await phase('local-cluster start', 1, () =>
      launchLocalCluster(
        { gateways: 2, logic: 1, repo: 1, task: 1 },
        // A node gives its etcd lease up (and exits 3) once no renewal was answered for half a
        // TTL. The task node is stopped for about 2.5 s below, and registering and logging in
        // thousands of users loads both cores: a long lease outlives both with room to spare.
        { logging: { level: 'warn' }, auth: { argon2: { memoryKiB: 1024, iterations: 1 } }, cluster: { leaseTtlMs: 30_000 } },
      ),
    );
    cluster.child.stderr?.on('data', (chunk: Buffer) => {
      clusterLog.push(...chunk.toString().split('\n').filter((line) => line !== ''));
      clusterLog.splice(0, clusterLog.length - 60);
    });
    gateways = cluster.gatewayUrls as [string, string];
    expect(gateways).to.have.length(2);
    http = [api(gateways[0]), api(gateways[1])];

    members = await phase('register and log in', MEMBERS, (progress) =>
      inPool(Array.from({ length: MEMBERS }, (_, i) => i % 2), CONCURRENCY, async (gateway) => {
        const username = uniqueName('lg');
        const reg = await http[gateway]!('POST', '/v1/users', { username, password: SPEC_PASSWORD });
        if (reg.status !== 201) throw new Error(`register ${username}: ${reg.status} ${reg.text}`);
        const login = await http[gateway]!('POST', '/v1/sessions', { username, password: SPEC_PASSWORD });
        if (login.status !== 200) throw new Error(`login ${username}: ${login.status} ${login.text}`);
        return { id: login.body.user.id as string, accessToken: login.body.accessToken as string, gateway };
      }, progress),
    );

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
        sockets[i] = await MemberSocket.open(wsUrl(member), groupId);
      }, progress),
    );
  });

  after(async function () {
    this.timeout(120_000);
    const allPassed = this.test?.parent?.tests.every((t) => t.state === 'passed') ?? false;
    if (!allPassed && clusterLog.length > 0) process.stderr.write(`    large-group: the cluster's last log lines:\n${clusterLog.join('\n')}\n`);
    const opened = sockets.filter((s) => s !== undefined);
    await phase('close the sockets', opened.length, (progress) => inPool(opened, 256, (socket) => socket.close(), progress));
    if (cluster !== undefined) {
      const code = await phase('local-cluster stop', 1, () => cluster!.stop());
      expect(code, 'local-cluster exit code after SIGTERM').to.equal(0);
    }
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
    const taskPid = cluster!.pids.get('task-1');
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
