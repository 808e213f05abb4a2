/**
 * `troupe status` (bin/commands/status.ts) against a private etcd: the registrations and claims
 * are written here as nodes write them (under each node's lease), and every node's ops address
 * is a tiny HTTP server answering /units and /metrics the way bin/ops-server.ts does. One of them
 * never answers, one unit is claimed by nobody. Then `--url` against a real embedded server.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { NodeStatus } from '../../actors/runtime/node-status.js';
import type { UnitStatus } from '../../actors/runtime/unit-registry.js';
import { age, runStatus, type StatusReport } from '../../bin/commands/status.js';
import { startEtcd, type EtcdService } from '../../bin/services/etcd.js';
import { freePort } from '../../bin/services/processes.js';
import { loadConfig } from '../../config/load.js';
import { EtcdCoordinator } from '../../transport/coord/etcd.js';
import type { Lease } from '../../transport/coord/port.js';
import { startTestServer } from '../support/server.js';
import { uniqueName } from '../support/wait-for.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TIMEOUT_MS = 400;

/** A node's ops listener as the spec plays it: /units and /metrics from fixed answers, or silence. */
interface FakeOps {
  url: string;
  close(): Promise<void>;
}

async function fakeOps(answer: { units: NodeStatus; metrics?: string } | 'silent'): Promise<FakeOps> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res: ServerResponse) => {
    if (answer === 'silent') return; // takes the request and never answers, like a wedged process
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.url === '/units') return send(200, 'application/json', JSON.stringify(answer.units));
    if (req.url === '/metrics') return send(200, 'text/plain; version=0.0.4', answer.metrics ?? '');
    send(404, 'application/json', '{}');
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function hosted(unit: string, epoch: number, since: number, figures: Partial<UnitStatus> = {}): UnitStatus {
  return { unit, state: 'hosted', epoch, since, inFlight: 0, oldestInFlightMs: 0, parked: 0, ...figures };
}

function captured(): { lines: string[]; errors: string[]; output: { out: (l: string) => void; err: (l: string) => void } } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, output: { out: (l) => lines.push(...l.split('\n')), err: (l) => errors.push(l) } };
}

/** The table row of a unit, split into its columns (the first column is `!` or empty). */
function unitRow(lines: string[], unit: string): string[] {
  const line = lines.find((l) => l.split(/\s+/).filter((w) => w !== '' && w !== '!')[0] === unit);
  expect(line, `a row for ${unit} in\n${lines.join('\n')}`).to.be.a('string');
  return line!.trim().split(/\s{2,}/);
}

describe('troupe status', function () {
  this.timeout(30_000);
  let etcd: EtcdService | undefined;
  let coord: EtcdCoordinator;
  const cleanups: Array<() => Promise<unknown>> = [];

  before(async function () {
    this.timeout(120_000);
    etcd = await startEtcd();
    coord = new EtcdCoordinator({ endpoints: etcd.endpoint });
  });
  afterEach(async function () {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  after(async function () {
    await coord?.close();
    await etcd?.stop();
  });

  const configOf = (cluster: string): ReturnType<typeof loadConfig> =>
    loadConfig({
      env: {},
      overrides: { 'cluster.etcd': etcd!.endpoint, 'node.cluster': cluster, 'log.upstreamPartitions': 2, 'log.taskPartitions': 1, 'repo.shards': 2 },
    });

  /** A node: its lease, its registration (as ports.ts and placement-keys.ts write it) with its ops address. */
  async function registerNode(cluster: string, role: string, nodeId: string, ops: FakeOps): Promise<Lease> {
    const lease = await coord.grantLease(10_000);
    cleanups.push(() => lease.revoke());
    const value = role === 'repo' ? { nodeId, address: '127.0.0.1:1', ops: ops.url } : { nodeId, role, pid: 1, ops: ops.url };
    await lease.put(`/troupe/${cluster}/nodes/${role}/${nodeId}`, JSON.stringify(value));
    return lease;
  }

  async function claim(lease: Lease, cluster: string, unit: string, value: string): Promise<number> {
    const held = await lease.claim(`/troupe/${cluster}/claims/${unit}`, value);
    expect(held, unit).not.to.equal(null);
    return held!.createRevision;
  }

  async function ops(answer: Parameters<typeof fakeOps>[0]): Promise<FakeOps> {
    const server = await fakeOps(answer);
    cleanups.push(() => server.close());
    return server;
  }

  it('shows every unit claimed and hosted and every node ready, and exits 0 (table and --json)', async function () {
    const cluster = uniqueName('status-ok');
    const now = Date.now();
    // Epochs are the claims' revisions, known once claimed: the fake /units answers are filled in after.
    const logic: NodeStatus = { nodeId: 'logic-1', role: 'logic', ready: true, problems: [], units: [] };
    const task: NodeStatus = { nodeId: 'task-1', role: 'task', ready: true, problems: [], units: [] };
    const repo: NodeStatus = { nodeId: 'repo-1', role: 'repo', ready: true, problems: [], units: [] };
    const metrics = [
      '# TYPE troupe_log_lag gauge',
      'troupe_log_lag{node="logic-1",role="logic",topic="im-upstream",partition="0"} 7',
      'troupe_log_lag{node="logic-1",role="logic",topic="im-upstream",partition="1"} 0',
    ].join('\n');
    const logicOps = await ops({ units: logic, metrics });
    const logicLease = await registerNode(cluster, 'logic', 'logic-1', logicOps);
    const taskLease = await registerNode(cluster, 'task', 'task-1', await ops({ units: task }));
    const repoLease = await registerNode(cluster, 'repo', 'repo-1', await ops({ units: repo }));
    await registerNode(cluster, 'gateway', 'gateway-1', await ops({ units: { nodeId: 'gateway-1', role: 'gateway', ready: true, problems: [], units: [] } }));
    const e0 = await claim(logicLease, cluster, 'upstream/0', 'logic-1');
    const e1 = await claim(logicLease, cluster, 'upstream/1', 'logic-1');
    const t0 = await claim(taskLease, cluster, 'task/0', 'task-1');
    const r0 = await claim(repoLease, cluster, 'repo/0', JSON.stringify({ nodeId: 'repo-1', address: '127.0.0.1:1' }));
    const r1 = await claim(repoLease, cluster, 'repo/1', JSON.stringify({ nodeId: 'repo-1', address: '127.0.0.1:1' }));
    logic.units.push(hosted('upstream/0', e0, now - 192_000, { inFlight: 4, oldestInFlightMs: 1500, parked: 2 }), hosted('upstream/1', e1, now - 5_000));
    task.units.push(hosted('task/0', t0, now - 60_000));
    repo.units.push(hosted('repo/0', r0, now - 3_600_000), hosted('repo/1', r1, now - 10_000));

    const table = captured();
    expect(await runStatus(configOf(cluster), { json: false, timeoutMs: TIMEOUT_MS }, table.output)).to.equal(0);
    expect(table.errors).to.deep.equal([]);
    expect(table.lines[0]).to.equal(`cluster ${cluster} (etcd ${etcd!.endpoint}): 4 nodes (4 ready), 5 units (5 hosted)`);
    expect(table.lines).to.include.members(['ok: every unit is claimed and hosted, every node is ready']);
    expect(table.lines.some((l) => /^\s*UNIT\s+OWNER\s+EPOCH\s+STATE\s+SINCE\s+IN FLIGHT\s+OLDEST\s+PARKED\s+LAG$/.test(l)), 'units header').to.equal(true);
    expect(unitRow(table.lines, 'upstream/0')).to.deep.equal(['upstream/0', 'logic-1', String(e0), 'hosted', '3m12s', '4', '1s', '2', '7']);
    expect(unitRow(table.lines, 'task/0')).to.deep.equal(['task/0', 'task-1', String(t0), 'hosted', '1m00s', '0', '-', '0', '-']);
    expect(unitRow(table.lines, 'repo/0')).to.deep.equal(['repo/0', 'repo-1', String(r0), 'hosted', '1h00m', '0', '-', '0', '-']);
    // Units along the data path: upstream partitions, then task partitions, then repo shards.
    const order = ['upstream/0', 'upstream/1', 'task/0', 'repo/0', 'repo/1'].map((u) => table.lines.findIndex((l) => l.includes(` ${u} `)));
    expect(order).to.deep.equal([...order].sort((a, b) => a - b));
    const logicRow = table.lines.find((l) => /^logic\s+logic-1\s/.test(l));
    expect(logicRow).to.match(new RegExp(`^logic\\s+logic-1\\s+${BigInt(logicLease.id).toString(16)}\\s+${logicOps.url}\\s+ready$`));

    const json = captured();
    expect(await runStatus(configOf(cluster), { json: true, timeoutMs: TIMEOUT_MS }, json.output)).to.equal(0);
    const report = JSON.parse(json.lines.join('\n')) as StatusReport;
    expect(report.ok).to.equal(true);
    expect(report.problems).to.deep.equal([]);
    expect(report.nodes.map((n) => `${n.role} ${n.nodeId}`)).to.deep.equal(['gateway gateway-1', 'logic logic-1', 'task task-1', 'repo repo-1']);
    expect(report.units.find((u) => u.unit === 'upstream/0')).to.deep.equal({
      unit: 'upstream/0', owner: 'logic-1', epoch: e0, state: 'hosted', since: now - 192_000, inFlight: 4, oldestInFlightMs: 1500, parked: 2, lag: 7, ok: true,
    });
  });

  it('flags an unclaimed partition, a node that does not answer and one that is not ready, exits 1, and never waits past its timeout', async function () {
    const cluster = uniqueName('status-bad');
    const now = Date.now();
    const logic: NodeStatus = { nodeId: 'logic-1', role: 'logic', ready: false, problems: ['upstream/0 is fenced: a newer epoch took it'], units: [] };
    const logicLease = await registerNode(cluster, 'logic', 'logic-1', await ops({ units: logic }));
    const silentLease = await registerNode(cluster, 'task', 'task-1', await ops('silent'));
    const repo: NodeStatus = { nodeId: 'repo-1', role: 'repo', ready: true, problems: [], units: [] };
    const repoLease = await registerNode(cluster, 'repo', 'repo-1', await ops({ units: repo }));
    const e0 = await claim(logicLease, cluster, 'upstream/0', 'logic-1');
    // upstream/1: nobody claims it (its node died and no survivor took it yet).
    const t0 = await claim(silentLease, cluster, 'task/0', 'task-1');
    for (const shard of [0, 1]) {
      const epoch = await claim(repoLease, cluster, `repo/${shard}`, JSON.stringify({ nodeId: 'repo-1', address: '127.0.0.1:1' }));
      repo.units.push(hosted(`repo/${shard}`, epoch, now - 1000));
    }
    logic.units.push({ ...hosted('upstream/0', e0, now - 2000), state: 'fenced', reason: 'a newer epoch took it' });

    const started = Date.now();
    const table = captured();
    expect(await runStatus(configOf(cluster), { json: false, timeoutMs: TIMEOUT_MS }, table.output)).to.equal(1);
    expect(Date.now() - started, 'bounded by the timeout, not by the silent node').to.be.below(TIMEOUT_MS + 3000);

    expect(unitRow(table.lines, 'upstream/1')).to.deep.equal(['!', 'upstream/1', '-', '-', 'UNCLAIMED', '-', '-', '-', '-', '-']);
    expect(unitRow(table.lines, 'upstream/0')).to.deep.equal(['!', 'upstream/0', 'logic-1', String(e0), 'fenced', '2s', '0', '-', '0', '-']);
    expect(unitRow(table.lines, 'task/0')).to.deep.equal(['!', 'task/0', 'task-1', String(t0), 'unknown', '-', '-', '-', '-', '-']);
    expect(unitRow(table.lines, 'repo/1')[0]).to.equal('repo/1');
    expect(table.lines.find((l) => /^task\s+task-1\s/.test(l))).to.match(new RegExp(`NO ANSWER: no answer within ${TIMEOUT_MS} ms$`));
    expect(table.lines.find((l) => /^logic\s+logic-1\s/.test(l))).to.match(/NOT READY: upstream\/0 is fenced: a newer epoch took it$/);
    const problems = table.lines.slice(table.lines.findIndex((l) => l.startsWith('NOT OK: ')));
    expect(problems[0]).to.equal('NOT OK: 4 problems');
    expect(problems.slice(1)).to.have.members([
      '  logic logic-1 is not ready: upstream/0 is fenced: a newer epoch took it',
      `  task task-1 did not answer at ${(await coord.get(`/troupe/${cluster}/nodes/task/task-1`).then((kv) => JSON.parse(kv!.value).ops))}: no answer within ${TIMEOUT_MS} ms; the state of its 1 unit is unknown`,
      '  upstream/0 is fenced on logic-1: a newer epoch took it',
      '  upstream/1 is not claimed by any node',
    ]);

    const json = captured();
    expect(await runStatus(configOf(cluster), { json: true, timeoutMs: TIMEOUT_MS }, json.output)).to.equal(1);
    const report = JSON.parse(json.lines.join('\n')) as StatusReport;
    expect(report.ok).to.equal(false);
    expect(report.units.find((u) => u.unit === 'upstream/1')).to.deep.include({ owner: null, state: 'unclaimed', ok: false, problem: 'upstream/1 is not claimed by any node' });
    expect(report.nodes.find((n) => n.nodeId === 'task-1')).to.deep.include({ answered: false, ready: false, problems: [`no answer within ${TIMEOUT_MS} ms`] });
  });

  it('flags a unit hosted by a node that does not hold its claim', async function () {
    const cluster = uniqueName('status-split');
    const now = Date.now();
    const one: NodeStatus = { nodeId: 'logic-1', role: 'logic', ready: true, problems: [], units: [] };
    const two: NodeStatus = { nodeId: 'logic-2', role: 'logic', ready: true, problems: [], units: [] };
    const lease = await registerNode(cluster, 'logic', 'logic-1', await ops({ units: one }));
    await registerNode(cluster, 'logic', 'logic-2', await ops({ units: two }));
    const epoch = await claim(lease, cluster, 'upstream/0', 'logic-1');
    one.units.push(hosted('upstream/0', epoch, now));
    two.units.push(hosted('upstream/0', epoch - 1, now));
    const json = captured();
    expect(await runStatus(configOf(cluster), { json: true, timeoutMs: TIMEOUT_MS }, json.output)).to.equal(1);
    const report = JSON.parse(json.lines.join('\n')) as StatusReport;
    expect(report.units.find((u) => u.unit === 'upstream/0')).to.deep.include({ owner: 'logic-1', state: 'hosted', ok: false, problem: 'upstream/0 also hosted by logic-2, but logic-1 holds its claim' });
  });

  it('tells a claim left by an earlier run of a node that registered again under a new lease', async function () {
    const cluster = uniqueName('status-stale');
    const before = await coord.grantLease(10_000);
    cleanups.push(() => before.revoke());
    const epoch = await claim(before, cluster, 'upstream/0', 'logic-1');
    // The node died and started again: same id, new lease, and it waits for the claim to go.
    const again: NodeStatus = { nodeId: 'logic-1', role: 'logic', ready: false, problems: ['upstream/0 is not hosted yet'], units: [] };
    const now = await registerNode(cluster, 'logic', 'logic-1', await ops({ units: again }));
    again.units.push({ unit: 'upstream/0', state: 'claiming', epoch: null, since: Date.now(), inFlight: 0, oldestInFlightMs: 0, parked: 0 });
    const json = captured();
    expect(await runStatus(configOf(cluster), { json: true, timeoutMs: TIMEOUT_MS }, json.output)).to.equal(1);
    const report = JSON.parse(json.lines.join('\n')) as StatusReport;
    const hex = (id: string): string => BigInt(id).toString(16);
    expect(report.units.find((u) => u.unit === 'upstream/0')).to.deep.include({
      owner: 'logic-1', epoch, state: 'stale claim', ok: false,
      problem: `upstream/0 is still claimed by an earlier run of logic-1 (lease ${hex(before.id)}; it registered again under ${hex(now.id)}): the claim goes when that lease expires`,
    });
  });

  it('as a process: prints the table, exits 1 for an unclaimed unit, and 1 with one line when etcd is unreachable', async function () {
    const cluster = uniqueName('status-cli');
    const run = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
      new Promise((resolve, reject) => {
        const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TROUPE_')));
        const child = spawn(process.execPath, ['--import', 'tsx', 'bin/troupe.ts', 'status', ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    // Nothing registered: every expected unit (16 + 8 + 64 with the defaults) is unclaimed.
    const empty = await run(['--etcd', etcd!.endpoint, '--cluster', cluster, '--timeout', String(TIMEOUT_MS)]);
    expect(empty.code, empty.stderr).to.equal(1);
    expect(empty.stdout).to.include(`cluster ${cluster} (etcd ${etcd!.endpoint}): 0 nodes (0 ready), 88 units (0 hosted)`);
    expect(empty.stdout).to.match(/^!\s+upstream\/15\s+-\s+-\s+UNCLAIMED/m);
    expect(empty.stdout).to.include('NOT OK: 88 problems');

    const away = await run(['--etcd', `http://127.0.0.1:${await freePort()}`, '--timeout', '300', '--json']);
    expect(away.code).to.equal(1);
    expect(away.stdout).to.equal('');
    expect(away.stderr).to.match(/^troupe: cannot reach etcd at http:\/\/127\.0\.0\.1:\d+ \((unavailable|timeout)\); check --etcd[^\n]*\n$/);
  });

  it('--url: reads one embedded server\'s /units, exits 0 while it is ready and 1 with the problem when a unit is fenced', async function () {
    const server = await startTestServer();
    cleanups.push(() => server.stop());
    const config = loadConfig({ env: {}, overrides: {} });
    const ok = captured();
    expect(await runStatus(config, { json: true, timeoutMs: 2000, url: server.baseUrl }, ok.output)).to.equal(0);
    const report = JSON.parse(ok.lines.join('\n')) as StatusReport;
    expect(report.source).to.deep.equal({ url: server.baseUrl });
    expect(report.nodes).to.have.length(1);
    expect(report.nodes[0]).to.deep.include({ role: 'embedded', ready: true, answered: true, ops: server.baseUrl });
    for (const unit of report.units) expect(unit, unit.unit).to.deep.include({ state: 'hosted', ok: true });

    const unit = `${uniqueName('spec')}/0`;
    server.units.enter(unit, 'fenced', { epoch: 9, reason: 'a newer epoch took it' });
    const bad = captured();
    expect(await runStatus(config, { json: false, timeoutMs: 2000, url: `${server.baseUrl}/` }, bad.output)).to.equal(1);
    expect(unitRow(bad.lines, unit).slice(0, 5)).to.deep.equal(['!', unit, report.nodes[0]!.nodeId, '9', 'fenced']);
    expect(bad.lines).to.include(`  ${unit} is fenced: a newer epoch took it`);

    const closed = captured();
    const nobody = `http://127.0.0.1:${await freePort()}`;
    expect(await runStatus(config, { json: false, timeoutMs: 500, url: nobody }, closed.output)).to.equal(1);
    expect(closed.lines).to.include(`  ${nobody} did not answer: connection refused`);
  });

  it('writes ages as an operator reads them', function () {
    expect([0, 45_900, 192_000, 3_600_000 + 5 * 60_000, 3 * 86_400_000 + 4 * 3_600_000].map(age)).to.deep.equal(['0s', '45s', '3m12s', '1h05m', '3d04h']);
  });
});
