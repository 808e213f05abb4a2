// Fault specs of the cluster mode (docs/architecture.md, "Failures, restarts and shutdown"). One local cluster (2 gateways, 3 logic,
// 3 repo, 1 task), started in this process through the launcher's API with `restart: false`: a
// node that ends stays dead, so a drill shows the survivors took over rather than a restarted
// node. While clients on both gateways keep sending (one message in flight per sender and group,
// re-sent with the same id on silence or `unavailable`), each drill strikes once:
//
// - kill -9 of a logic node, then of a repo node: the dead node stays dead (its pid gone, no
//   process with its node id, no registration, no claim) and the survivors claim its units;
// - one more logic node joins: the group rebalances;
// - Redis, MariaDB and etcd restarted on the same port and data;
// - a logic node SIGSTOPped past its lease, resumed once its successor has written: it exits 3
//   (lease lost) and stays dead; its writes refused for their epoch are counted;
// - SIGTERM of a logic node, then of a repo node: each drains, hands its units over and exits 0.
//
// Traffic goes on until every sender has had a few messages acked after the fault, then each
// group's stored history is checked: every acked message stored once with its acked seq, seqs
// without gap, each sender's messages in sending order. Each drill prints one line: sent, acked,
// lost, duplicated, reordered, longest pause in acks (ms); the logic kill adds the failover
// figure (kill to the first ack of a message written after the kill, in a conversation on a
// partition the dead node owned).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { createConnection } from 'mysql2/promise';
import { stringify } from 'yaml';
import { startLocalCluster, type LocalCluster } from '../../bin/local-cluster/launcher.js';
import type { RoleProcess } from '../../bin/local-cluster/role-process.js';
import { EtcdCoordinator } from '../../transport/coord/etcd.js';
import type { Watcher } from '../../transport/coord/port.js';
import { partitionFor } from '../../transport/log/partitioner.js';
import { api, closeAllClients, connect, registerAndLogin, type Api, type Json, type LoggedIn, type WsClient } from '../support/client.js';
import { createGroup, fetchAllMessages } from '../support/chat.js';
import { waitFor } from '../support/wait-for.js';
import { checkHistory, describeFigures, faultFigures, sendThroughFaults, type FaultFigures, type SenderRun, type SentMessage } from './resilient-sender.js';

const PARTITIONS = 16;
/** Acks each sender must get for messages sent after the fault before its traffic stops. */
const ACKS_AFTER = 4;

interface Sender {
  user: LoggedIn;
  client: WsClient;
}

interface Drill {
  senders: Sender[];
  /** Group ids, each with every sender as a member. */
  groups: string[];
  /** When the fault struck (set by drill() right before it calls the fault). */
  faultAt: number;
  /** Every ack as it arrives. */
  onAck: (ack: SentMessage) => void;
}

describe('cluster faults without restarts: nodes killed, stopped or added and services restarted under traffic lose no acked message', function () {
  this.timeout(120_000);
  const clusterName = `faults-${randomBytes(4).toString('hex')}`;
  const prefix = `/troupe/${clusterName}`;
  const lines: string[] = [];
  let cluster: LocalCluster;
  let etcd: EtcdCoordinator;
  let gateways: string[];
  let http: Api;
  let configDir: string;
  /** Nodes a drill ended on purpose; every other node must keep running. */
  const ended = new Set<string>();

  before(async function () {
    this.timeout(240_000);
    // Every role (and the one that joins later) reads it at start-up.
    configDir = await mkdtemp(join(tmpdir(), 'troupe-faults-spec-'));
    const configFile = join(configDir, 'troupe.yaml');
    await writeFile(configFile, stringify({ logging: { level: 'warn' }, auth: { argon2: { memoryKiB: 1024, iterations: 1 } }, rpc: { deadlineMs: 2000 } }));
    cluster = await startLocalCluster({
      gateways: 2,
      logic: 3,
      repo: 3,
      task: 1,
      cluster: clusterName,
      upstreamPartitions: PARTITIONS,
      configFile,
      entry: resolve('bin/troupe.ts'),
      restart: false,
      onLine: (line) => lines.push(line),
      readyTimeoutMs: 120_000,
    });
    gateways = cluster.gatewayUrls;
    http = api(gateways[0]!);
    etcd = new EtcdCoordinator({ endpoints: [cluster.services.etcd], callTimeoutMs: 3000 });
  });
  afterEach(closeAllClients);
  after(async function () {
    this.timeout(120_000);
    await etcd?.close();
    for (const line of lines) if (/ ended \(/.test(line)) process.stderr.write(`    local-cluster: ${line}\n`);
    for (const p of cluster?.processes ?? []) {
      if (p.exited === null || ended.has(p.spec.nodeId)) continue;
      const log = await readFile(p.logFile, 'utf8').catch(() => '');
      process.stderr.write(`    ${p.spec.nodeId} ended unexpectedly (${p.exited}); its last log lines:\n${log.trim().split('\n').slice(-15).join('\n')}\n`);
    }
    await cluster?.stop();
    if (configDir !== undefined) await rm(configDir, { recursive: true, force: true });
  });

  // ---- the cluster as etcd and the process table show it -------------------------------------

  /** Unit number → owner node id and epoch, of `/troupe/<cluster>/claims/<kind>/<n>`. */
  async function claims(kind: 'upstream' | 'repo'): Promise<Map<number, { owner: string; epoch: number }>> {
    const { kvs } = await etcd.getPrefix(`${prefix}/claims/${kind}/`);
    // An upstream claim holds its owner's node id; a repo claim `{"nodeId", "address"}`.
    const ownerOf = (value: string): string => (kind === 'repo' ? (JSON.parse(value) as { nodeId: string }).nodeId : value);
    return new Map(kvs.map((kv) => [Number(kv.key.slice(kv.key.lastIndexOf('/') + 1)), { owner: ownerOf(kv.value), epoch: kv.createRevision }]));
  }
  const owned = async (kind: 'upstream' | 'repo', nodeId: string): Promise<number[]> =>
    [...(await claims(kind))].filter(([, c]) => c.owner === nodeId).map(([n]) => n);
  /** Node ids registered in etcd (live leases). */
  async function registered(): Promise<string[]> {
    const { kvs } = await etcd.getPrefix(`${prefix}/nodes/`);
    return kvs.map((kv) => kv.key.slice(kv.key.lastIndexOf('/') + 1));
  }
  const liveProcess = (nodeId: string): RoleProcess => {
    const found = cluster.processes.find((p) => p.spec.nodeId === nodeId && p.exited === null);
    if (found === undefined) throw new Error(`no running process for ${nodeId}`);
    return found;
  };
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  /** Pids of running processes of this cluster with this node id, from /proc/<pid>/environ. */
  async function processesWithNodeId(nodeId: string): Promise<number[]> {
    const found: number[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
      const vars = environ.split('\0');
      if (vars.includes(`TROUPE_NODE__CLUSTER=${clusterName}`) && vars.includes(`TROUPE_NODE__ID=${nodeId}`)) found.push(Number(entry));
    }
    return found;
  }
  /** The dead node stayed dead: pid gone, no process of its id, no registration, no claim, not restarted. */
  async function expectStillDead(nodeId: string, pid: number): Promise<void> {
    expect(alive(pid), `${nodeId}'s pid ${pid} is gone`).to.equal(false);
    expect(await processesWithNodeId(nodeId), `processes with node id ${nodeId}`).to.deep.equal([]);
    expect(cluster.processes.filter((p) => p.spec.nodeId === nodeId && p.exited === null), `${nodeId} running again`).to.have.length(0);
    expect(await registered(), 'registered nodes').not.to.include(nodeId);
    expect(await owned('upstream', nodeId), `upstream claims of ${nodeId}`).to.deep.equal([]);
    expect(await owned('repo', nodeId), `repo claims of ${nodeId}`).to.deep.equal([]);
    expect(lines.filter((l) => l.includes(` ${nodeId} `) && / restarted$/.test(l)), `${nodeId} restarted`).to.deep.equal([]);
    expect(lines.filter((l) => l.startsWith(`logic ${nodeId} pid ${pid} ended (`) || l.startsWith(`repo ${nodeId} pid ${pid} ended (`)), `the launcher's line for ${nodeId}`)
      .to.have.length(1).and.satisfy((found: string[]) => found[0]!.endsWith('; not restarted (--no-restart)'));
  }
  /** Every upstream partition (or repo shard) is claimed by a running node. */
  async function allClaimedByLiveNodes(kind: 'upstream' | 'repo', count: number): Promise<boolean> {
    const held = await claims(kind);
    const running = new Set(cluster.processes.filter((p) => p.exited === null).map((p) => p.spec.nodeId));
    return held.size === count && [...held.values()].every((c) => running.has(c.owner));
  }
  /**
   * No rebalance of the logic group under way: every upstream partition hosted by exactly one
   * running logic node (its /units), which holds the partition's claim. A drill that strikes a
   * logic node waits for this first, so that what the node owned is what it owned when it died.
   */
  async function upstreamSettled(): Promise<boolean> {
    const logic = cluster.processes.filter((p) => p.spec.role === 'logic' && p.exited === null);
    const reports = await Promise.all(
      logic.map((p) => fetch(`http://127.0.0.1:${p.spec.readyPort}/units`, { signal: AbortSignal.timeout(2000) }).then((r) => r.json() as Promise<Json>, () => null)),
    );
    const hostedBy = new Map<number, string>();
    for (const [i, report] of reports.entries()) {
      for (const unit of (report?.units ?? []) as Json[]) {
        if (!String(unit.unit).startsWith('upstream/')) continue;
        const partition = Number(String(unit.unit).slice('upstream/'.length));
        if (unit.state !== 'hosted' || hostedBy.has(partition)) return false;
        hostedBy.set(partition, logic[i]!.spec.nodeId);
      }
    }
    const held = await claims('upstream');
    return reports.every((r) => r !== null) && hostedBy.size === PARTITIONS && [...hostedBy].every(([p, nodeId]) => held.get(p)?.owner === nodeId);
  }
  const settled = (): Promise<void> => waitFor(upstreamSettled, { timeoutMs: 60_000, intervalMs: 100, message: 'every upstream partition hosted by one logic node, under its claim' });

  // ---- traffic -------------------------------------------------------------------------------

  const wsUrl = (base: string, token: string): string => `${base.replace('http', 'ws')}/v1/ws?token=${encodeURIComponent(token)}`;

  /**
   * Four senders (two on each gateway) and four groups of all of them; with `on`, two groups whose
   * partition is in `on` and two whose partition is not.
   */
  async function setUp(label: string, on?: ReadonlySet<number>): Promise<{ senders: Sender[]; groups: string[] }> {
    const senders: Sender[] = [];
    for (let i = 0; i < 4; i++) {
      const gateway = gateways[i % 2]!;
      const user = await registerAndLogin(gateway);
      senders.push({ user, client: (await connect(wsUrl(gateway, user.accessToken), 15_000)).client });
    }
    const owner = senders[0]!.user;
    const others = senders.slice(1).map((s) => s.user.user.id);
    const inside: string[] = [];
    const outside: string[] = [];
    for (let made = 0; inside.length < 2 || outside.length < 2; made++) {
      if (made > 60) throw new Error(`no groups on partitions ${[...(on ?? [])].join(',')} after ${made} tries`);
      const id = (await createGroup(http, owner, others, `${label} ${made}`)).id as string;
      const mine = on === undefined ? inside.length < 2 : on.has(partitionFor(id, PARTITIONS));
      if (mine && inside.length < 2) inside.push(id);
      else if (!mine && outside.length < 2) outside.push(id);
    }
    return { senders, groups: [...inside, ...outside] };
  }

  /**
   * Runs traffic through `fault`: every sender sends to every group until traffic flows, the
   * fault strikes (resolving once what it waits for has happened), and every sender has had
   * ACKS_AFTER messages acked that it sent after that. Then checks every group's history and
   * prints the drill's line (with `extra()` appended). Returns the figures.
   */
  async function drill(label: string, on: ReadonlySet<number> | undefined, fault: (d: Drill) => Promise<void>, extra: () => string = () => ''): Promise<FaultFigures> {
    const { senders, groups } = await setUp(label, on);
    let faultDoneAt: number | undefined;
    let failed = false;
    const listeners: Array<(ack: SentMessage) => void> = [];
    const d: Drill = { senders, groups, faultAt: 0, onAck: () => undefined };
    const runs = senders.flatMap((s, i) =>
      groups.map((group, g) =>
        sendThroughFaults(s.client, group, `${label.replace(/[^A-Za-z0-9]+/g, '-')}-${i}-${g}`, {
          until: (acks) => failed || (faultDoneAt !== undefined && acks.filter((a) => a.sentAt >= faultDoneAt!).length >= ACKS_AFTER),
          onAck: (ack) => {
            d.onAck(ack);
            for (const listener of listeners) listener(ack);
          },
        }),
      ),
    );
    let runError: Error | undefined;
    for (const run of runs) run.catch((err: Error) => (runError ??= err));
    const results = Promise.all(runs);
    results.catch(() => undefined);
    const noRunFailed = (): void => {
      if (runError !== undefined) throw runError;
    };
    let finished: SenderRun[];
    try {
      // Strike once traffic flows on every sender and group.
      const counts = new Map<string, number>();
      listeners.push((ack) => counts.set(`${ack.conv}`, (counts.get(ack.conv) ?? 0) + 1));
      await waitFor(() => (noRunFailed(), groups.every((g) => (counts.get(g) ?? 0) >= 3 * senders.length)), { timeoutMs: 60_000, intervalMs: 20, message: `${label}: traffic flowing` });
      d.faultAt = Date.now();
      await fault(d);
      faultDoneAt = Date.now();
      finished = await results;
    } catch (err) {
      failed = true;
      await results.catch(() => undefined);
      throw err;
    }
    expect(cluster.processes.filter((p) => p.exited !== null && !ended.has(p.spec.nodeId)).map((p) => `${p.spec.nodeId} ${p.exited}`), 'nodes that ended although no drill ended them').to.deep.equal([]);
    const histories = new Map<string, Json[]>();
    for (const group of groups) histories.set(group, await fetchAllMessages(http, senders[0]!.user.accessToken, group));
    const figures = faultFigures(finished, histories, d.faultAt);
    console.log(`      ${describeFigures(label, figures, extra())}`);
    expect(finished.every((run) => run.acks.some((a) => a.ackedAt < d.faultAt)), 'every sender had acks before the fault').to.equal(true);
    expect(finished.every((run) => run.acks.some((a) => a.sentAt >= faultDoneAt!)), 'every sender had acks after the fault').to.equal(true);
    expect({ lost: figures.lost, duplicated: figures.duplicated, reordered: figures.reordered, gaps: figures.gaps }, label).to.deep.equal({ lost: 0, duplicated: 0, reordered: 0, gaps: 0 });
    expect(figures.acked).to.be.greaterThan(0);
    for (const group of groups) {
      const history = histories.get(group)!;
      checkHistory(history, finished.filter((run) => run.conv === group).map((run) => run.acks));
      expect(history.length, `${group}: every message sent was stored, none more`).to.equal(finished.filter((run) => run.conv === group).reduce((n, run) => n + run.sent.length, 0));
    }
    return figures;
  }

  /** Timestamps of etcd changes under the cluster's prefix, from a watch (for the failover breakdown). */
  async function watchChanges(): Promise<{ events: Array<{ at: number; type: string; key: string; value?: string }>; watcher: Watcher }> {
    const events: Array<{ at: number; type: string; key: string; value?: string }> = [];
    const { revision } = await etcd.getPrefix(`${prefix}/`);
    const watcher = await etcd.watchPrefix(`${prefix}/`, (event) => {
      if (event.type === 'put') events.push({ at: Date.now(), type: 'put', key: event.kv.key, value: event.kv.value });
      else events.push({ at: Date.now(), type: 'delete', key: event.key });
    }, revision);
    return { events, watcher };
  }

  // ---- the drills ----------------------------------------------------------------------------

  it('kill -9 of a logic node (not restarted): the survivors claim its partitions within the failover time; every acked message stored once, in order', async function () {
    const victim = 'logic-1';
    const proc = liveProcess(victim);
    const pid = proc.pid;
    await settled();
    const partitions = new Set(await owned('upstream', victim));
    expect(partitions.size, `${victim} owns upstream partitions`).to.be.greaterThan(0);
    let failoverMs: number | undefined;
    let breakdown = '';
    await drill('logic kill -9', partitions, async (d) => {
      const { events, watcher } = await watchChanges();
      const victimGroups = new Set(d.groups.filter((g) => partitions.has(partitionFor(g, PARTITIONS))));
      let firstAck: number | undefined;
      d.onAck = (ack) => {
        // Written after the kill (the writer's clock is this machine's): by a survivor.
        if (firstAck === undefined && victimGroups.has(ack.conv) && ack.ts > killAt) firstAck = ack.ackedAt;
      };
      ended.add(victim);
      const survivors = cluster.processes.filter((p) => p.spec.role === 'logic' && p.exited === null && p.spec.nodeId !== victim);
      process.kill(pid, 'SIGKILL');
      const killAt = Date.now();
      await waitFor(() => !alive(pid), { timeoutMs: 10_000, message: `${victim} pid ${pid} gone` });
      // When Kafka gave a survivor the first of the dead node's partitions (it shows the unit, claiming or hosted, in /units).
      let assignedAt: number | undefined;
      await waitFor(async () => {
        if (assignedAt === undefined) {
          const reports = await Promise.all(survivors.map((p) => fetch(`http://127.0.0.1:${p.spec.readyPort}/units`, { signal: AbortSignal.timeout(1000) }).then((r) => r.json() as Promise<Json>, () => null)));
          if (reports.some((r) => (r?.units as Json[] | undefined)?.some((u) => partitions.has(Number(String(u.unit).replace('upstream/', '')))))) assignedAt = Date.now();
        }
        return assignedAt !== undefined && (await allClaimedByLiveNodes('upstream', PARTITIONS)) && firstAck !== undefined;
      }, {
        timeoutMs: 60_000,
        intervalMs: 50,
        message: `${victim}'s partitions ${[...partitions].join(',')} assigned to and claimed by survivors, and acked`,
      });
      await watcher.cancel();
      failoverMs = firstAck! - killAt;
      const leaseGone = events.find((e) => e.type === 'delete' && e.key.endsWith(`/nodes/logic/${victim}`));
      const claimed = events.filter((e) => e.type === 'put' && e.key.includes('/claims/upstream/') && partitions.has(Number(e.key.slice(e.key.lastIndexOf('/') + 1))));
      breakdown = `; Kafka assigned its partitions to survivors after ${assignedAt! - killAt} ms, its lease expired after ${leaseGone === undefined ? '?' : leaseGone.at - killAt} ms, the survivors claimed them after ${claimed.length === 0 ? '?' : Math.max(...claimed.map((e) => e.at)) - killAt} ms`;
    }, () => `; failover ${failoverMs} ms (kill to the first ack of a message written after it, on a partition ${victim} owned)${breakdown}`);
    await expectStillDead(victim, pid);
    expect(failoverMs, 'failover (ms)').to.be.a('number');
  });

  it('kill -9 of a repo node (not restarted): the surviving repo nodes claim its shards; every acked message stored once, in order', async function () {
    const victim = 'repo-1';
    const pid = liveProcess(victim).pid;
    const shards = await owned('repo', victim);
    expect(shards.length, `${victim} owns repo shards`).to.be.greaterThan(0);
    const shardCount = (await claims('repo')).size;
    await drill('repo kill -9', undefined, async () => {
      ended.add(victim);
      process.kill(pid, 'SIGKILL');
      await waitFor(() => !alive(pid), { timeoutMs: 10_000, message: `${victim} pid ${pid} gone` });
      await waitFor(() => allClaimedByLiveNodes('repo', shardCount), { timeoutMs: 60_000, intervalMs: 50, message: `${victim}'s shards claimed by the other repo nodes` });
    });
    await expectStillDead(victim, pid);
  });

  it('a logic node joining under traffic: the partitions rebalance onto it with no duplicate or gap', async function () {
    await settled();
    let joined: RoleProcess | undefined;
    let took: number[] = [];
    await drill('logic join', undefined, async () => {
      joined = await cluster.addRole('logic');
      await waitFor(async () => (took = await owned('upstream', joined!.spec.nodeId)).length > 0 && (await allClaimedByLiveNodes('upstream', PARTITIONS)), {
        timeoutMs: 60_000,
        intervalMs: 50,
        message: 'the new logic node claims partitions and every partition is claimed',
      });
    }, () => `; ${joined?.spec.nodeId} took partitions ${took.join(',')}`);
    expect(joined!.exited, `${joined!.spec.nodeId} still runs`).to.equal(null);
    expect(await owned('upstream', joined!.spec.nodeId)).to.not.deep.equal([]);
  });

  for (const service of ['redis', 'mysql', 'etcd'] as const) {
    it(`${service === 'mysql' ? 'MariaDB' : service === 'redis' ? 'Redis' : 'etcd'} restarted on the same port and data under traffic: traffic resumes, nothing acked is lost`, async function () {
      let restartMs = 0;
      await drill(`${service} restart`, undefined, async () => {
        const started = Date.now();
        await cluster.restartService(service);
        restartMs = Date.now() - started;
      }, () => `; the restart took ${restartMs} ms`);
      // Every node rode it out (drill() checked none ended, e.g. on a lost lease), and every partition is served again.
      await waitFor(() => allClaimedByLiveNodes('upstream', PARTITIONS), { timeoutMs: 30_000, intervalMs: 100, message: 'every partition claimed' });
    });
  }

  it('a logic node SIGSTOPped past its lease, then resumed: it writes nothing after its successor took over and exits 3 (not restarted)', async function () {
    await settled();
    const logic = cluster.processes.filter((p) => p.spec.role === 'logic' && p.exited === null);
    const candidates = await Promise.all(logic.map(async (p) => ({ p, partitions: await owned('upstream', p.spec.nodeId) })));
    const { p: proc, partitions: mine } = candidates.sort((a, b) => b.partitions.length - a.partitions.length)[0]!;
    const victim = proc.spec.nodeId;
    const pid = proc.pid;
    const partitions = new Set(mine);
    expect(partitions.size, `${victim} owns upstream partitions`).to.be.greaterThan(0);
    const before = await claims('upstream');
    let refused = 0;
    let resumedAfterMs = 0;
    let logTail = '';
    let epochsAhead = '';
    await drill('logic SIGSTOP', partitions, async (d) => {
      const victimGroups = new Set(d.groups.filter((g) => partitions.has(partitionFor(g, PARTITIONS))));
      // Groups with a message written after the stop (by a successor: the stopped node writes nothing).
      const successorWrote = new Set<string>();
      ended.add(victim);
      process.kill(pid, 'SIGSTOP');
      const stoppedAt = Date.now();
      d.onAck = (ack) => {
        if (victimGroups.has(ack.conv) && ack.ts > stoppedAt) successorWrote.add(ack.conv);
      };
      try {
        // Its successors hold every partition it had, under newer epochs, and have written.
        await waitFor(async () => {
          const now = await claims('upstream');
          return [...partitions].every((p) => now.get(p) !== undefined && now.get(p)!.owner !== victim && now.get(p)!.epoch > before.get(p)!.epoch) && successorWrote.size === victimGroups.size;
        }, { timeoutMs: 60_000, intervalMs: 50, message: `${victim}'s partitions taken over while it is stopped` });
        // The store already holds a newer epoch than the stopped node's for the partitions of the
        // groups written to: any write it sends there once resumed is refused (stale_epoch).
        const written = [...new Set([...victimGroups].map((g) => partitionFor(g, PARTITIONS)))];
        const db = await createConnection(cluster.services.mysqlUrl);
        try {
          const [rows] = await db.query('SELECT unit, epoch FROM epochs WHERE unit IN (?)', [written.map((p) => `upstream/${p}`)]);
          const stored = new Map((rows as Array<{ unit: string; epoch: number | string }>).map((r) => [r.unit, Number(r.epoch)]));
          for (const p of written) expect(stored.get(`upstream/${p}`), `stored epoch of upstream/${p} (${victim} had ${before.get(p)!.epoch})`).to.be.greaterThan(before.get(p)!.epoch);
          epochsAhead = written.map((p) => `upstream/${p} ${before.get(p)!.epoch}→${stored.get(`upstream/${p}`)}`).join(', ');
        } finally {
          await db.end();
        }
      } finally {
        resumedAfterMs = Date.now() - stoppedAt;
        const logSize = (await stat(proc.logFile)).size;
        process.kill(pid, 'SIGCONT');
        await waitFor(() => proc.exited !== null, { timeoutMs: 30_000, message: `${victim} exits after it resumed` });
        logTail = (await readFile(proc.logFile)).subarray(logSize).toString('utf8');
      }
      // Its writes after it resumed that the store refused for their epoch (each fences its partition).
      refused = logTail.split('\n').filter((l) => /stale_epoch|is older than/.test(l)).length;
    }, () => `; ${victim} stopped for ${resumedAfterMs} ms (stored epochs ${epochsAhead}), then resumed: ${refused} of its writes refused by epoch (stale_epoch) before it exited`);
    expect(proc.exited, `${victim} exit (lease lost)`).to.equal('exit 3');
    expect(logTail, `${victim}'s log after it resumed`).to.match(/etcd lease lost; this node stopped serving and exits/);
    await expectStillDead(victim, pid);
  });

  for (const role of ['logic', 'repo'] as const) {
    it(`SIGTERM of a ${role} node: it drains, hands its ${role === 'logic' ? 'partitions' : 'shards'} over and exits 0; every acked message stored once, in order`, async function () {
      if (role === 'logic') await settled();
      const proc = cluster.processes.find((p) => p.spec.role === role && p.exited === null);
      if (proc === undefined) throw new Error(`no running ${role} node`);
      const victim = proc.spec.nodeId;
      const kind = role === 'logic' ? 'upstream' : 'repo';
      const units = (await claims(kind)).size;
      await drill(`${role} SIGTERM`, undefined, async () => {
        ended.add(victim);
        process.kill(proc.pid, 'SIGTERM');
        await waitFor(() => proc.exited !== null, { timeoutMs: 30_000, message: `${victim} drained and exited` });
        await waitFor(() => allClaimedByLiveNodes(kind, units), { timeoutMs: 30_000, intervalMs: 50, message: `${victim}'s units claimed by the others` });
      });
      expect(proc.exited, `${victim} exit after draining`).to.equal('exit 0');
      await expectStillDead(victim, proc.pid);
    });
  }
});
