// A group of 100,000 members in the cluster mode (issue 11): 3,000 of them online over two
// gateways, the rest created directly in the cluster's database (registering 97,000 users over
// HTTP would take the spec's whole budget and prove nothing more). Adding 1,000 members answers
// within 2 s, the conversation leaves its member list out, and every online member gets each
// message exactly once and in seq order, through the task pool.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import type { Knex } from 'knex';
import { newId } from '../../actors/ids.js';
import { openMysqlStore } from '../../transport/store/mysql.js';
import type { Store } from '../../transport/store/port.js';
import { uniqueName, type Json } from '../support/client.js';
import { getConversation } from '../support/chat.js';
import { inPool, MemberSocket, phase as timedPhase, registerMembers, startGroupCluster, stopGroupCluster, waitForSockets, wsUrlOf, type GroupCluster, type Member, type Received } from './member-sockets.js';

const LABEL = '100k group';
const phase = <R>(name: string, total: number, run: (progress: { done: number }) => Promise<R>): Promise<R> => timedPhase(LABEL, name, total, run);

const TOTAL = 100_000;
/** Members with a socket, half on each gateway. */
const ONLINE = 3000;
/** Members added over HTTP by the spec (docs/protocol.md: at most 1,000 ids a request). */
const ADDED = 1000;
/** Members the group is created with in the database: one more than TOTAL - ADDED, removed first. */
const CREATED = TOTAL - ADDED + 1;
const MESSAGES = 5;
const CONCURRENCY = 32;
/** Rows per insert when writing users straight into the database. */
const INSERT_ROWS = 1000;

/** Resident memory of a process, from /proc (KiB). */
function rssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? NaN);
}

describe(`cluster: a group of ${TOTAL} members, ${ONLINE} online over two gateways`, function () {
  this.timeout(180_000);
  let group: GroupCluster | undefined;
  let database: { store: Store; knex: Knex } | undefined;
  let online: Member[] = [];
  /** Offline users made in the database: the group's other members, then the ones the spec adds. */
  let offline: string[] = [];
  let groupId: string;
  const sockets: MemberSocket[] = [];
  const rssBefore = new Map<string, number>();

  const report = (line: string): void => {
    if (process.env.SPEC_PHASE_TIMES === '1') process.stderr.write(`    ${LABEL}: ${line}\n`);
  };

  before(async function () {
    this.timeout(900_000);
    group = await startGroupCluster(LABEL);
    const { cluster } = group;
    for (const node of ['logic-1', 'task-1']) rssBefore.set(node, rssKiB(cluster.pids.get(node)!));
    const mysqlUrl = cluster.lines.find((l) => l.startsWith('mysql '))?.slice(6);
    if (mysqlUrl === undefined) throw new Error(`local-cluster printed no mysql line: ${cluster.lines.join(' | ')}`);
    database = await openMysqlStore(mysqlUrl);

    online = await phase('register and log in', ONLINE, (progress) => registerMembers(group!, ONLINE, 'ht', CONCURRENCY, progress));

    const offlineCount = CREATED - ONLINE + ADDED;
    const tag = uniqueName('off').replace(/[^a-z0-9]/g, '').slice(-10);
    offline = Array.from({ length: offlineCount }, () => newId('u'));
    await phase('write offline users to the database', offlineCount, async (progress) => {
      for (let i = 0; i < offline.length; i += INSERT_ROWS) {
        const rows = offline.slice(i, i + INSERT_ROWS).map((id, j) => ({ id, username: `${tag}${i + j}`, display_name: id, password_hash: 'x', created_at: Date.now() }));
        await database!.knex('users').insert(rows);
        progress.done += rows.length;
      }
    });
    groupId = newId('c');
    const memberIds = [...online.map((m) => m.id), ...offline.slice(0, CREATED - ONLINE)];
    await phase('write the group to the database', CREATED, () =>
      database!.store.createGroup({ id: groupId, type: 'group', name: 'one hundred thousand', ownerId: online[0]!.id, lastSeq: 0, memberCount: CREATED, createdAt: Date.now() }, memberIds),
    );
  });

  after(async function () {
    this.timeout(120_000);
    await database?.store.close();
    await stopGroupCluster(LABEL, this.test?.parent, group, sockets);
  });

  it(`removes one member and adds ${ADDED} to the group, each answered (the add within 2 s), to ${TOTAL} members`, async function () {
    const owner = online[0]!;
    // The first request loads the group's conversation actor (every member from the database).
    let started = Date.now();
    const removed = await group!.http[0]('DELETE', `/v1/conversations/${encodeURIComponent(groupId)}/members/${encodeURIComponent(offline[0]!)}`, undefined, owner.accessToken);
    expect(removed.status, removed.text).to.equal(204);
    report(`removing a member (the actor's first load of ${CREATED} members included) answered in ${Date.now() - started} ms`);

    const added = offline.slice(CREATED - ONLINE);
    expect(added).to.have.length(ADDED);
    started = Date.now();
    const answer = await group!.http[1]('POST', `/v1/conversations/${encodeURIComponent(groupId)}/members`, { members: added }, owner.accessToken);
    const tookMs = Date.now() - started;
    report(`adding ${ADDED} members answered in ${tookMs} ms`);
    expect(answer.status, answer.text).to.equal(200);
    expect(answer.body.memberCount).to.equal(TOTAL);
    expect(answer.body, 'a group over 1,000 members leaves its member list out').to.not.have.property('members');
    expect(tookMs, `adding ${ADDED} members to a group of ${TOTAL - ADDED} answered in`).to.be.lessThan(2000);
  });

  it(`opens ${ONLINE} sockets over both gateways, each listing the group, which counts ${TOTAL} members from either`, async function () {
    await phase('open one socket per online member', ONLINE, (progress) =>
      inPool(online, CONCURRENCY, async (member, i) => {
        sockets[i] = await MemberSocket.open(wsUrlOf(group!, member), groupId);
      }, progress),
    );
    for (const [g, reader] of [[0, online[2]!], [1, online[ONLINE - 1]!]] as const) {
      const conv = await getConversation(group!.http[g], reader.accessToken, groupId);
      expect(conv).to.include({ id: groupId, type: 'group', memberCount: TOTAL });
      expect(conv, 'a group over 1,000 members leaves its member list out').to.not.have.property('members');
    }
    const listing = sockets.filter((s) => (s.ready.conversations as Json[]).some((c) => c.id === groupId));
    expect(listing.length, 'ready frames listing the group').to.equal(ONLINE);
  });

  it(`delivers ${MESSAGES} messages from both gateways to every other online member exactly once, in seq order`, async function () {
    const senders = [sockets[1]!, sockets[2]!]; // one on each gateway
    const sent: Array<{ sender: MemberSocket; expected: Received }> = [];
    const started = Date.now();
    for (let n = 1; n <= MESSAGES; n++) {
      const sender = senders[n % 2]!;
      const id = uniqueName('ht-msg');
      const body = { text: `to ${TOTAL}: ${n}` };
      const ack = await sender.sendAndAck(groupId, id, body);
      sent.push({ sender, expected: { seq: ack.seq as number, id, from: online[sockets.indexOf(sender)]!.id, body } });
    }
    expect(sent.map((s) => s.expected.seq), 'seqs in the order sent').to.deep.equal(Array.from({ length: MESSAGES }, (_, i) => i + 1));
    const expectedFor = (socket: MemberSocket): Received[] => sent.filter((s) => s.sender !== socket).map((s) => s.expected);
    // A member's frames come in the order its pool slot's jobs were produced, so once a socket
    // has its last message, any duplicate of an earlier one would have come before it.
    const hasLast = (socket: MemberSocket): boolean => socket.received.some((r) => r.seq === expectedFor(socket).at(-1)!.seq);
    await waitForSockets(sockets, hasLast, 'every message', undefined, 120_000);
    report(`${MESSAGES} messages reached all ${ONLINE} sockets ${Date.now() - started} ms after the first send`);
    for (const [i, socket] of sockets.entries()) {
      expect(socket.received, `socket ${i}: each message once, in seq order`).to.deep.equal(expectedFor(socket));
      expect(socket.strayMsgs, `socket ${i}: msg frames of other conversations`).to.equal(0);
    }
    expect(sockets.filter((s) => s.closeCode !== undefined).length, 'sockets closed by the server').to.equal(0);
    for (const node of ['logic-1', 'task-1']) {
      const pid = group!.cluster.pids.get(node)!;
      report(`${node} RSS ${Math.round(rssBefore.get(node)! / 1024)} MiB before the group, ${Math.round(rssKiB(pid) / 1024)} MiB now`);
    }
  });
});
