// The cluster mode end to end (issue 4, "Done when"): `troupe local-cluster` starts MariaDB,
// Redis, etcd and the Kafka mock, then 2 gateways, 2 logic, 2 repo and 1 task node as separate
// processes; these specs drive the protocol through both gateways: users on different gateways
// talk to each other, groups span gateways, history and sync work from either gateway, and a
// group over the large-group threshold is fanned out by the task node.
import { execFile } from 'node:child_process';
import { expect } from 'chai';
import { api, closeAllClients, connect, registerAndLogin, type Api, type Json, type LoggedIn, type WsClient } from '../support/client.js';
import { clientMsgId, createDirect, createGroup, fetchAllMessages, getConversation, sendMany, sendMessage } from '../support/chat.js';
import { checkHostileClient } from '../support/hostile.js';
import { waitFor } from '../support/wait-for.js';
import { launchLocalCluster, type RunningCluster } from './local-cluster.js';

const LARGE_GROUP_THRESHOLD = 6;
/** Partitions of im-upstream (the default, given so the hostile check knows which to cover). */
const UPSTREAM_PARTITIONS = 16;

describe('cluster: 2 gateways, 2 logic, 2 repo, 1 task as processes (troupe local-cluster)', function () {
  this.timeout(60_000);
  let cluster: RunningCluster;
  let g1: string;
  let g2: string;
  let http1: Api;
  let http2: Api;
  const ws = (base: string, token: string): string => `${base.replace('http', 'ws')}/v1/ws?token=${encodeURIComponent(token)}`;
  const online = async (base: string, user: LoggedIn): Promise<WsClient> => (await connect(ws(base, user.accessToken), 15_000)).client;

  before(async function () {
    this.timeout(240_000);
    cluster = await launchLocalCluster(
      { gateways: 2, logic: 2, repo: 2, task: 1 },
      {
        logging: { level: 'warn' },
        auth: { argon2: { memoryKiB: 1024, iterations: 1 } },
        groups: { largeGroupThreshold: LARGE_GROUP_THRESHOLD },
        task: { chunkSize: 3 },
        log: { upstreamPartitions: UPSTREAM_PARTITIONS },
      },
    );
    [g1, g2] = cluster.gatewayUrls as [string, string];
    http1 = api(g1);
    http2 = api(g2);
  });
  afterEach(closeAllClients);
  after(async function () {
    this.timeout(120_000);
    if (cluster !== undefined) expect(await cluster.stop(), 'local-cluster exit code after SIGTERM').to.equal(0);
  });

  it('prints one line per process, gateways with their URL, then `cluster ready`', function () {
    const processLines = cluster.lines.filter((l) => / pid \d+/.test(l));
    expect(processLines).to.have.length(7);
    for (const role of ['repo-1', 'repo-2', 'logic-1', 'logic-2', 'task-1']) {
      expect(processLines.some((l) => new RegExp(`^(repo|logic|task) ${role} pid \\d+$`).test(l)), role).to.equal(true);
    }
    expect(processLines.filter((l) => /^gateway gateway-\d pid \d+ http:\/\/127\.0\.0\.1:\d+$/.test(l))).to.have.length(2);
    expect(cluster.lines[cluster.lines.length - 1]).to.equal('cluster ready');
    for (const pid of cluster.pids.values()) expect(() => process.kill(pid, 0), `pid ${pid} alive`).not.to.throw();
  });

  it('prints where MariaDB, Redis, etcd and Kafka listen before the processes', function () {
    const services = cluster.lines.slice(0, 4);
    expect(services[0]).to.match(/^mysql mysql:\/\/\S+@127\.0\.0\.1:\d+\/troupe$/);
    expect(services[1]).to.match(/^redis redis:\/\/127\.0\.0\.1:\d+$/);
    expect(services[2]).to.match(/^etcd http:\/\/127\.0\.0\.1:\d+$/);
    expect(services[3]).to.match(/^kafka 127\.0\.0\.1:\d+$/);
  });

  it('`troupe config set` changes a live key on every gateway at once, and `unset` reverts it', async function () {
    const config = (...args: string[]): Promise<{ code: number | null; out: string }> =>
      new Promise((resolve) => {
        execFile(process.execPath, ['--import', 'tsx', 'bin/troupe.ts', 'config', ...args, '--etcd', cluster.etcd], (err, stdout, stderr) =>
          resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), out: stdout + stderr }),
        );
      });
    const user = await registerAndLogin(g1);
    const clients = [await online(g1, user), await online(g2, user)];
    const burstOf = async (client: WsClient): Promise<number> => {
      const before = client.count((f) => f.type === 'pong');
      for (let i = 0; i < 10; i++) client.send({ type: 'ping' });
      await client.next((f) => f.type === 'error' && f.code === 'rate_limited', 2_000).catch(() => undefined);
      await client.expectAlive().catch(() => undefined);
      return client.count((f) => f.type === 'pong') - before;
    };
    try {
      expect(await config('set', 'gateway.rateLimit.burst', '3')).to.deep.include({ code: 0 });
      expect(await config('set', 'gateway.rateLimit.perSecond', '1')).to.deep.include({ code: 0 });
      for (const client of clients) {
        // A fresh connection's bucket would start full at the new burst; these started at 60 and
        // are trimmed to 3 by the change: 10 quick pings get at most burst + refill answers.
        await waitFor(async () => (await burstOf(client)) <= 5, { timeoutMs: 15_000, intervalMs: 1500, message: 'rate limit lowered live' });
      }
      expect((await config('get', 'gateway.rateLimit.burst')).out).to.include('3');
    } finally {
      await config('unset', 'gateway.rateLimit.burst');
      await config('unset', 'gateway.rateLimit.perSecond');
    }
    expect((await config('list')).out).to.match(/gateway\.rateLimit\.burst\s+60\s+default/);
  });

  it('every gateway answers /healthz, /readyz and /metrics', async function () {
    for (const base of [g1, g2]) {
      expect((await fetch(`${base}/healthz`)).status).to.equal(200);
      expect((await fetch(`${base}/readyz`)).status).to.equal(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).to.include('troupe_rpc_calls_total');
    }
  });

  it('`troupe status --json` shows every upstream and task partition and repo shard claimed by a live node and hosted', async function () {
    const status = (): Promise<{ code: number | null; out: string; err: string }> =>
      new Promise((resolve) => {
        execFile(process.execPath, ['--import', 'tsx', 'bin/troupe.ts', 'status', '--json', '--etcd', cluster.etcd], (err, stdout, stderr) =>
          resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), out: stdout, err: stderr }),
        );
      });
    // Right after start-up a shard or partition may still be moving: wait for the steady state.
    let last = { code: null as number | null, out: '', err: '' };
    await waitFor(async () => (last = await status()).code === 0, { timeoutMs: 30_000, intervalMs: 1000, message: 'troupe status exits 0' }).catch(() => {
      expect.fail(`troupe status exited ${last.code}: ${last.err}${last.out}`);
    });
    const report = JSON.parse(last.out) as { ok: boolean; nodes: Json[]; units: Json[] };
    expect(report.ok).to.equal(true);
    const live = new Set(report.nodes.filter((n) => n.answered && n.ready && typeof n.ops === 'string').map((n) => n.nodeId as string));
    expect([...live].sort()).to.deep.equal([...cluster.pids.keys()].sort());
    const expected = [
      ...Array.from({ length: UPSTREAM_PARTITIONS }, (_, p) => `upstream/${p}`),
      ...Array.from({ length: 8 }, (_, p) => `task/${p}`),
      ...Array.from({ length: 64 }, (_, s) => `repo/${s}`),
    ];
    expect(report.units.map((u) => u.unit).sort()).to.deep.equal(expected.sort());
    for (const unit of report.units) {
      expect(unit.state, unit.unit).to.equal('hosted');
      expect(live.has(unit.owner), `${unit.unit} owned by a live node (${unit.owner})`).to.equal(true);
      expect(unit.epoch, unit.unit).to.be.a('number');
      const role = (unit.unit as string).split('/')[0] === 'upstream' ? 'logic' : (unit.unit as string).split('/')[0];
      expect(unit.owner, unit.unit).to.match(new RegExp(`^${role}-\\d+$`));
    }
  });

  it('a token from one gateway opens a WebSocket on the other (shared signing keys)', async function () {
    const user = await registerAndLogin(g1);
    const { ready } = await connect(ws(g2, user.accessToken), 15_000);
    expect(ready.user.id).to.equal(user.user.id);
    const me = await http2('GET', '/v1/me', undefined, user.accessToken);
    expect(me.status).to.equal(200);
    expect(me.body.username).to.equal(user.user.username);
  });

  it('counts failed logins across both gateways: the 11th for one username is rate_limited on either', async function () {
    const victim = await registerAndLogin(g1);
    const name = victim.user.username;
    for (let i = 0; i < 10; i++) {
      const res = await (i % 2 === 0 ? http1 : http2)('POST', '/v1/sessions', { username: name, password: `wrong-password-${i}` });
      expect(res.status, `failure ${i + 1}`).to.equal(401);
    }
    for (const http of [http1, http2]) {
      const res = await http('POST', '/v1/sessions', { username: name, password: 'wrong-password-x' });
      expect(res.status, res.text).to.equal(429);
      expect(res.body.error.code).to.equal('rate_limited');
    }
  });

  it('finds a user by username through the repo role from either gateway, and counts one caller\'s look-ups across both: the 11th is rate_limited on either', async function () {
    const [caller, target] = [await registerAndLogin(g1), await registerAndLogin(g2)];
    const expected = { id: target.user.id, username: target.user.username, displayName: target.user.displayName };
    for (let i = 0; i < 10; i++) {
      const res = await (i % 2 === 0 ? http1 : http2)('GET', `/v1/users?username=${i < 8 ? target.user.username : `nobody_${i}_${caller.user.id.slice(2, 10).toLowerCase()}`}`, undefined, caller.accessToken);
      if (i < 8) expect(res.body, `look-up ${i + 1}: ${res.text}`).to.deep.equal(expected);
      else expect(res.status, `look-up ${i + 1}: ${res.text}`).to.equal(404);
    }
    for (const http of [http1, http2]) {
      const res = await http('GET', `/v1/users?username=${target.user.username}`, undefined, caller.accessToken);
      expect(res.status, res.text).to.equal(429);
      expect(res.headers.get('retry-after')).to.match(/^\d+$/);
    }
  });

  it('pages a group\'s members by user id from either gateway, members only', async function () {
    const members = [await registerAndLogin(g1), await registerAndLogin(g2), await registerAndLogin(g1), await registerAndLogin(g2)];
    const [owner, outsider] = [members[0]!, await registerAndLogin(g1)];
    const group = await createGroup(http1, owner, members.slice(1).map((m) => m.user.id), 'paged');
    const sorted = members.map((m) => m.user.id).sort();
    const first = await http2('GET', `/v1/conversations/${group.id}/members?limit=3`, undefined, members[3]!.accessToken);
    expect(first.status, first.text).to.equal(200);
    expect(first.body.members.map((m: Json) => m.id)).to.deep.equal(sorted.slice(0, 3));
    expect(first.body.more).to.equal(true);
    const rest = await http1('GET', `/v1/conversations/${group.id}/members?after=${sorted[2]!}`, undefined, owner.accessToken);
    expect(rest.body).to.deep.include({ more: false });
    const last = members.find((m) => m.user.id === sorted[3])!;
    expect(rest.body.members).to.deep.equal([{ id: last.user.id, username: last.user.username, displayName: last.user.displayName, joinedAt: group.createdAt }]);
    const refused = await http2('GET', `/v1/conversations/${group.id}/members`, undefined, outsider.accessToken);
    expect(refused.status, refused.text).to.equal(404);
  });

  it('users on different gateways talk in a direct conversation, with presence across gateways', async function () {
    const [a, b] = [await registerAndLogin(g1), await registerAndLogin(g2)];
    const conv = await createDirect(http1, a, b.user.id);
    const again = await createDirect(http2, b, a.user.id);
    expect(again.id, 'the same direct conversation from either gateway').to.equal(conv.id);
    const ca = await online(g1, a);
    const cb = await online(g2, b);
    await ca.next((f) => f.type === 'presence' && f.user === b.user.id && f.online === true, 15_000);
    const ack = await sendMessage(ca, conv.id, { text: 'hello from gateway 1' }, clientMsgId(), 20_000);
    expect(ack.seq).to.equal(1);
    const msg = await cb.next((f) => f.type === 'msg' && f.conv === conv.id, 15_000);
    expect(msg).to.include({ seq: 1, from: a.user.id, id: ack.id });
    expect(msg.body).to.deep.equal({ text: 'hello from gateway 1' });
    const reply = await sendMessage(cb, conv.id, { text: 'hi from gateway 2' }, clientMsgId(), 20_000);
    expect(reply.seq).to.equal(2);
    await ca.next((f) => f.type === 'msg' && f.conv === conv.id && f.seq === 2, 15_000);
    await cb.close();
    await ca.next((f) => f.type === 'presence' && f.user === b.user.id && f.online === false, 15_000);
  });

  it('a group spanning both gateways: every member gets every other member\'s messages, seqs gap-free, history and sync equal from either gateway', async function () {
    const members = [await registerAndLogin(g1), await registerAndLogin(g2), await registerAndLogin(g1), await registerAndLogin(g2)];
    const [owner] = members as [LoggedIn];
    const group = await createGroup(http2, owner, members.slice(1).map((m) => m.user.id), 'spans gateways');
    const clients = await Promise.all(members.map((m, i) => online(i % 2 === 0 ? g1 : g2, m)));
    const perSender = 5;
    const acks = (await Promise.all(clients.map((c, i) => sendMany(c, group.id, perSender, { prefix: `s${i}`, window: 2 })))).flat();
    const seqs = acks.map((a: Json) => a.seq as number).sort((x, y) => x - y);
    expect(seqs).to.deep.equal(Array.from({ length: members.length * perSender }, (_, i) => i + 1));
    for (const [i, client] of clients.entries()) {
      await waitFor(() => client.count((f) => f.type === 'msg' && f.conv === group.id) === (members.length - 1) * perSender, {
        timeoutMs: 20_000,
        message: `member ${i} got every other member's messages`,
      });
    }
    const history1 = await fetchAllMessages(http1, members[1]!.accessToken, group.id);
    const history2 = await fetchAllMessages(http2, members[2]!.accessToken, group.id);
    expect(history1.map((m: Json) => m.seq)).to.deep.equal(seqs);
    expect(history2).to.deep.equal(history1);
    clients[3]!.send({ type: 'sync', conv: group.id, after: 10, limit: 500 });
    const synced = await clients[3]!.next((f) => f.type === 'history' && f.conv === group.id, 15_000);
    expect(synced.messages).to.deep.equal(history1.slice(10));
    expect(synced.more).to.equal(false);
  });

  it('re-sending a client id through the other gateway returns the original ack', async function () {
    const [a, b] = [await registerAndLogin(g1), await registerAndLogin(g2)];
    const conv = await createDirect(http1, a, b.user.id);
    const id = clientMsgId('dup');
    const first = await sendMessage(await online(g1, a), conv.id, { text: 'once' }, id, 20_000);
    const second = await sendMessage(await online(g2, a), conv.id, { text: 'once' }, id, 20_000);
    expect(second).to.deep.include({ seq: first.seq, id, ts: first.ts });
    expect(await fetchAllMessages(http2, b.accessToken, conv.id)).to.have.length(1);
  });

  it('member changes asked on one gateway reach members on the other; read cursors cross gateways', async function () {
    const [owner, joiner, watcher] = [await registerAndLogin(g1), await registerAndLogin(g1), await registerAndLogin(g2)];
    const group = await createGroup(http1, owner, [watcher.user.id], 'members');
    const cw = await online(g2, watcher);
    const cj = await online(g1, joiner);
    const added = await http2('POST', `/v1/conversations/${group.id}/members`, { members: [joiner.user.id] }, owner.accessToken);
    expect(added.status, added.text).to.equal(200);
    expect(added.body.members).to.include(joiner.user.id);
    const frame = await cj.next((f) => f.type === 'conversation' && f.conversation?.id === group.id, 15_000);
    expect(frame.conversation.members).to.include(joiner.user.id);
    await cw.next((f) => f.type === 'member' && f.conv === group.id && f.event === 'joined' && f.user === joiner.user.id, 15_000);
    const ack = await sendMessage(cj, group.id, { text: 'joined' }, clientMsgId(), 20_000);
    await cw.next((f) => f.type === 'msg' && f.seq === ack.seq, 15_000);
    cw.send({ type: 'read', conv: group.id, seq: ack.seq });
    await cj.next((f) => f.type === 'read' && f.conv === group.id && f.user === watcher.user.id && f.seq === ack.seq, 15_000);
    await waitFor(async () => (await getConversation(http1, watcher.accessToken, group.id)).readSeq === ack.seq, { timeoutMs: 15_000 });
    const removed = await http1('DELETE', `/v1/conversations/${group.id}/members/${joiner.user.id}`, undefined, owner.accessToken);
    expect(removed.status, removed.text).to.equal(204);
    await cj.next((f) => f.type === 'member' && f.event === 'left' && f.user === joiner.user.id, 15_000);
  });

  it(`a group over the large-group threshold (${LARGE_GROUP_THRESHOLD}) is delivered to every online member on both gateways`, async function () {
    const members: LoggedIn[] = [];
    for (let i = 0; i < LARGE_GROUP_THRESHOLD + 4; i++) members.push(await registerAndLogin(i % 2 === 0 ? g1 : g2));
    const [owner] = members as [LoggedIn];
    const group = await createGroup(http1, owner, members.slice(1).map((m) => m.user.id), 'large');
    expect(group.memberCount).to.be.greaterThan(LARGE_GROUP_THRESHOLD);
    const clients = await Promise.all(members.map((m, i) => online(i % 2 === 0 ? g1 : g2, m)));
    const acks = await sendMany(clients[1]!, group.id, 3, { prefix: 'big', window: 1 });
    for (const [i, client] of clients.entries()) {
      if (i === 1) continue;
      for (const ack of acks) await client.next((f) => f.type === 'msg' && f.conv === group.id && f.seq === ack.seq, 20_000);
    }
    await clients[1]!.assertNoFrame((f) => f.type === 'msg' && f.conv === group.id, 300);
  });

  it(`a hostile client's malformed ids are refused at the gateway at once, and every one of the ${UPSTREAM_PARTITIONS} upstream partitions still acks within 2 s`, async function () {
    this.timeout(30_000);
    await checkHostileClient(g2, UPSTREAM_PARTITIONS);
  });
});
