/**
 * `troupe status`: what an operator reads first during an incident. From etcd it reads the live
 * nodes (`/troupe/<cluster>/nodes/<role>/<nodeId>`: role, id, lease, and the `ops` address each
 * node writes into its registration) and every claim (`/troupe/<cluster>/claims/<unit>`: owner,
 * epoch = create revision); then it asks every node's `/units` (state, since, in flight, oldest
 * unfinished record, parked; readiness and its problems) and, from the owners of partitions, the
 * `troupe_log_lag` gauge of `/metrics`. It prints one row per node and one per unit, then the
 * problems, one a line (README, "Running a cluster").
 *
 * The units expected are `upstream/0 .. log.upstreamPartitions-1`, `task/0 .. log.taskPartitions-1`
 * and `repo/0 .. repo.shards-1` of this command's configuration, plus any other unit claimed or
 * reported: one that nobody claims is shown UNCLAIMED.
 *
 * Every request has a deadline (--timeout): a node that does not answer is shown as such, and the
 * command never hangs. Exit status 0 when every unit is claimed and hosted and every node ready,
 * 1 otherwise (or when etcd or the --url server cannot be reached), 2 for a bad command line.
 * `--url` asks one server instead (an embedded server, or any node's ops address).
 */
import type { NodeStatus } from '../../actors/runtime/node-status.js';
import { splitUnit, type UnitStatus } from '../../actors/runtime/unit-registry.js';
import { TASK_UNIT_PREFIX } from '../../actors/task/task-kind.js';
import type { TroupeConfig } from '../../config/types.js';
import { EtcdCoordinator } from '../../transport/coord/etcd.js';
import type { KeyValue } from '../../transport/coord/port.js';
import { isTroupeError, TroupeError } from '../../transport/errors.js';
import { STANDARD_OUTPUT, type CommandOutput } from '../cli/output.js';
import { decodeNodeRegistration } from '../cluster/node-registration.js';

export interface StatusOptions {
  json: boolean;
  /** Deadline of every etcd call and every request to a node. */
  timeoutMs: number;
  /** One server's /units instead of a cluster's etcd. */
  url?: string;
  /** --etcd was on the command line (it makes no sense with --url). */
  etcdFlag?: boolean;
}

const SEE = '(see troupe status --help)';

/** A node as the report shows it. */
export interface NodeRow {
  role: string;
  nodeId: string;
  /** `http://host:port` of its /units, from its registration; null if it wrote none. */
  ops: string | null;
  /** Its etcd lease, in hex as etcdctl prints it; null with --url. */
  lease: string | null;
  /** It answered /units. */
  answered: boolean;
  ready: boolean;
  /** Its own problems (not ready), or why it did not answer. */
  problems: string[];
}

/** A unit as the report shows it. */
export interface UnitRow {
  unit: string;
  /** The node holding its claim (with --url: the server); null when unclaimed. */
  owner: string | null;
  /** The claim's create revision (fencing epoch). */
  epoch: number | null;
  /**
   * The owner's state for it (claiming, hosted, draining, fenced), or `unclaimed`, `unknown` (its
   * owner did not answer or is not registered), `not hosted` (its owner does not report it) or
   * `stale claim` (claimed by an earlier run of a node that registered again).
   */
  state: string;
  /** Wall-clock ms when it entered that state, per its owner. */
  since: number | null;
  inFlight: number | null;
  oldestInFlightMs: number | null;
  parked: number | null;
  /** `troupe_log_lag` of the unit's partition on its owner; null when not published. */
  lag: number | null;
  ok: boolean;
  problem?: string;
}

export interface StatusReport {
  ok: boolean;
  /** Where it was read: the cluster and etcd, or one server's URL. */
  source: { cluster: string; etcd: string[] } | { url: string };
  /** Wall-clock ms of the report (the reference of every `since`). */
  at: number;
  nodes: NodeRow[];
  units: UnitRow[];
  /** Everything not right, one sentence each; empty when ok. */
  problems: string[];
}

/** Runs the command; resolves to the exit status. */
export async function runStatus(config: TroupeConfig, options: StatusOptions, output: CommandOutput = STANDARD_OUTPUT): Promise<number> {
  if (options.url !== undefined && options.etcdFlag === true) {
    throw new TroupeError('config', `troupe status takes --url (one server) or --etcd (a cluster), not both ${SEE}`);
  }
  let report: StatusReport;
  if (options.url !== undefined) {
    report = await serverReport(config, options.url.replace(/\/+$/, ''), options.timeoutMs);
  } else {
    const endpoints = config.cluster.etcd.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (endpoints.length === 0) {
      throw new TroupeError('config', `troupe status needs --etcd URLS (a cluster) or --url URL (one server), e.g. --etcd http://127.0.0.1:2379 ${SEE}`);
    }
    const read = await readEtcd(endpoints, config.node.cluster, options.timeoutMs);
    if (typeof read === 'string') {
      output.err(`troupe: cannot reach etcd at ${endpoints.join(',')} (${read}); check --etcd or TROUPE_CLUSTER__ETCD and that etcd is running`);
      return 1;
    }
    report = await clusterReport(config, endpoints, read, options.timeoutMs);
  }
  if (options.json) output.out(JSON.stringify(report, null, 2));
  else for (const line of renderReport(report)) output.out(line);
  return report.ok ? 0 : 1;
}

// ---- reading

interface EtcdView {
  nodes: KeyValue[];
  claims: KeyValue[];
  nodesPrefix: string;
  claimsPrefix: string;
}

/** The registrations and claims, or why etcd could not be read. */
async function readEtcd(endpoints: string[], cluster: string, timeoutMs: number): Promise<EtcdView | string> {
  const nodesPrefix = `/troupe/${cluster}/nodes/`;
  const claimsPrefix = `/troupe/${cluster}/claims/`;
  const coord = new EtcdCoordinator({ endpoints, callTimeoutMs: timeoutMs });
  try {
    const [nodes, claims] = await Promise.all([coord.getPrefix(nodesPrefix), coord.getPrefix(claimsPrefix)]);
    return { nodes: nodes.kvs, claims: claims.kvs, nodesPrefix, claimsPrefix };
  } catch (err) {
    if (isTroupeError(err, 'unavailable') || isTroupeError(err, 'timeout')) return err.code;
    throw err;
  } finally {
    await coord.close().catch(() => undefined);
  }
}

/** What a node answered: its /units, and the lag gauges of its /metrics when asked for them. */
interface Answer {
  status: NodeStatus | null;
  error?: string;
  /** `topic/partition` → records. */
  lag: Map<string, number>;
}

async function askNode(ops: string, timeoutMs: number, withLag: boolean): Promise<Answer> {
  const lag = new Map<string, number>();
  const [units, metrics] = await Promise.allSettled([
    fetchText(`${ops}/units`, timeoutMs),
    withLag ? fetchText(`${ops}/metrics`, timeoutMs) : Promise.resolve(''),
  ]);
  if (metrics.status === 'fulfilled') for (const [key, value] of lagGauges(metrics.value)) lag.set(key, value);
  if (units.status === 'rejected') return { status: null, error: whyNoAnswer(units.reason, timeoutMs), lag };
  const status = nodeStatusOf(units.value);
  return status === null ? { status: null, error: 'its /units answer is not a unit report', lag } : { status, lag };
}

async function fetchText(url: string, timeoutMs: number): Promise<string> {
  // The signal bounds the whole exchange, body included: a server that stalls mid-answer is cut too.
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return text;
}

function whyNoAnswer(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  if (e.cause?.code === 'ECONNREFUSED') return 'connection refused';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

/** A /units body, checked enough to be read safely; null for anything else. */
function nodeStatusOf(text: string): NodeStatus | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null) return null;
  const b = body as Record<string, unknown>;
  if (typeof b.nodeId !== 'string' || typeof b.role !== 'string' || typeof b.ready !== 'boolean' || !Array.isArray(b.problems) || !Array.isArray(b.units)) return null;
  const units = b.units.filter((u): u is UnitStatus => typeof u === 'object' && u !== null && typeof (u as UnitStatus).unit === 'string' && typeof (u as UnitStatus).state === 'string');
  return { nodeId: b.nodeId, role: b.role, ready: b.ready, problems: b.problems.map(String), units };
}

/** `troupe_log_lag{…topic="t",partition="p"…} v` samples as `t/p` → v. */
function lagGauges(metrics: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of metrics.split('\n')) {
    const m = /^troupe_log_lag\{([^}]*)\} (\S+)/.exec(line);
    if (m === null) continue;
    const labels = new Map<string, string>();
    for (const l of m[1]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels.set(l[1]!, l[2]!);
    const value = Number(m[2]);
    const topic = labels.get('topic');
    const partition = labels.get('partition');
    if (topic !== undefined && partition !== undefined && Number.isFinite(value)) out.set(`${topic}/${partition}`, value);
  }
  return out;
}

// ---- assembling

interface Registered {
  role: string;
  nodeId: string;
  ops: string | null;
  leaseId: string | null;
}

interface Held {
  unit: string;
  owner: string;
  epoch: number;
  leaseId: string | null;
}

async function clusterReport(config: TroupeConfig, endpoints: string[], view: EtcdView, timeoutMs: number): Promise<StatusReport> {
  const registered: Registered[] = [];
  for (const kv of view.nodes) {
    const rest = kv.key.slice(view.nodesPrefix.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) continue;
    const { ops } = decodeNodeRegistration(kv.value);
    registered.push({ role: rest.slice(0, slash), nodeId: rest.slice(slash + 1), ops: ops ?? null, leaseId: kv.leaseId ?? null });
  }
  const claims = new Map<string, Held>();
  for (const kv of view.claims) {
    const unit = kv.key.slice(view.claimsPrefix.length);
    // Partition claims hold the owner's id; repo shard claims a JSON `{ nodeId, address }`.
    const owner = decodeNodeRegistration(kv.value).nodeId ?? kv.value;
    claims.set(unit, { unit, owner, epoch: kv.createRevision, leaseId: kv.leaseId ?? null });
  }

  // Lag only matters for partitions: ask /metrics of the nodes that hold one.
  const partitionOwners = new Set([...claims.values()].filter((c) => partitionTopic(config, c.unit) !== undefined).map((c) => c.owner));
  const answers = await Promise.all(
    registered.map((node) => (node.ops === null ? Promise.resolve<Answer>({ status: null, error: 'its registration has no ops address', lag: new Map() }) : askNode(node.ops, timeoutMs, partitionOwners.has(node.nodeId)))),
  );
  const byId = new Map<string, { node: Registered; answer: Answer }>();
  registered.forEach((node, i) => byId.set(node.nodeId, { node, answer: answers[i]! }));

  const problems: string[] = [];
  const nodes: NodeRow[] = registered.map((node, i) => {
    const answer = answers[i]!;
    const row: NodeRow = {
      role: node.role,
      nodeId: node.nodeId,
      ops: node.ops,
      lease: hexLease(node.leaseId),
      answered: answer.status !== null,
      ready: answer.status?.ready === true,
      problems: answer.status === null ? [answer.error ?? 'no answer'] : answer.status.problems,
    };
    const owned = [...claims.values()].filter((c) => c.owner === node.nodeId).length;
    if (answer.status === null) {
      problems.push(`${node.role} ${node.nodeId} did not answer at ${node.ops ?? '(no address)'}: ${answer.error}${owned > 0 ? `; the state of its ${plural(owned, 'unit')} is unknown` : ''}`);
    } else if (answer.status.nodeId !== node.nodeId) {
      row.ready = false;
      row.problems = [`its ops address answers as ${answer.status.nodeId}`, ...row.problems];
      problems.push(`${node.role} ${node.nodeId}: ${node.ops} answers as ${answer.status.nodeId}`);
    } else if (!answer.status.ready) {
      problems.push(`${node.role} ${node.nodeId} is not ready: ${answer.status.problems.join('; ') || 'no reason given'}`);
    }
    return row;
  });

  const names = new Set<string>(expectedUnits(config));
  for (const unit of claims.keys()) names.add(unit);
  for (const answer of answers) for (const status of answer.status?.units ?? []) names.add(status.unit);

  const units: UnitRow[] = [...names].sort(compareUnits).map((unit) => {
    const claim = claims.get(unit);
    const row: UnitRow = { unit, owner: null, epoch: null, state: 'unclaimed', since: null, inFlight: null, oldestInFlightMs: null, parked: null, lag: null, ok: false };
    // Other nodes hosting what they do not hold: two hosts of one unit is what fencing prevents.
    const strays = [...byId.values()].filter(({ node, answer }) => node.nodeId !== claim?.owner && answer.status?.units.some((s) => s.unit === unit && s.state === 'hosted'));
    if (claim === undefined) {
      const waiting = [...byId.values()].filter(({ answer }) => answer.status?.units.some((s) => s.unit === unit && s.state === 'claiming')).map(({ node }) => node.nodeId);
      row.problem = `${unit} is not claimed by any node${waiting.length > 0 ? ` (${waiting.join(', ')} claiming it)` : ''}`;
    } else {
      row.owner = claim.owner;
      row.epoch = claim.epoch;
      const owner = byId.get(claim.owner);
      const status = owner?.answer.status?.units.find((s) => s.unit === unit);
      // A node that died and started again registers under a new lease; the claims of its
      // previous run stay until their lease expires, and nobody hosts them meanwhile.
      const stale = owner !== undefined && owner.node.leaseId !== null && claim.leaseId !== null && owner.node.leaseId !== claim.leaseId;
      if (owner === undefined) {
        row.state = 'unknown';
        row.problem = `${unit} is claimed by ${claim.owner}, which is not registered`;
      } else if (stale) {
        row.state = 'stale claim';
        row.problem = `${unit} is still claimed by an earlier run of ${claim.owner} (lease ${hexLease(claim.leaseId)}; it registered again under ${hexLease(owner.node.leaseId)}): the claim goes when that lease expires`;
      } else if (owner.answer.status === null) {
        row.state = 'unknown';
      } else if (status === undefined) {
        row.state = 'not hosted';
        row.problem = `${unit} is claimed by ${claim.owner}, which does not report it`;
      } else {
        Object.assign(row, { state: status.state, since: status.since, inFlight: status.inFlight, oldestInFlightMs: status.oldestInFlightMs, parked: status.parked });
        row.lag = lagOf(config, unit, owner.answer.lag);
        if (status.state !== 'hosted') row.problem = `${unit} is ${status.state} on ${claim.owner}${status.reason ? `: ${status.reason}` : ''}`;
        else if (status.epoch !== null && status.epoch !== claim.epoch) row.problem = `${unit}: ${claim.owner} hosts it at epoch ${status.epoch}, its claim is epoch ${claim.epoch}`;
        else row.ok = strays.length === 0;
      }
    }
    if (strays.length > 0) {
      const who = strays.map(({ node }) => node.nodeId).join(', ');
      row.ok = false;
      row.problem = `${row.problem === undefined ? unit : `${row.problem};`} also hosted by ${who}${claim === undefined ? '' : `, but ${claim.owner} holds its claim`}`;
    }
    if (row.problem !== undefined) problems.push(row.problem);
    return row;
  });

  return { ok: problems.length === 0 && units.every((u) => u.ok), source: { cluster: config.node.cluster, etcd: endpoints }, at: Date.now(), nodes: nodes.sort(compareNodes), units, problems };
}

/** `--url`: one server, which hosts every unit it reports. */
async function serverReport(config: TroupeConfig, url: string, timeoutMs: number): Promise<StatusReport> {
  const answer = await askNode(url, timeoutMs, true);
  const problems: string[] = [];
  const status = answer.status;
  if (status === null) problems.push(`${url} did not answer: ${answer.error}`);
  else if (!status.ready) problems.push(`${status.role} ${status.nodeId} is not ready: ${status.problems.join('; ') || 'no reason given'}`);
  const nodes: NodeRow[] = [{
    role: status?.role ?? '?',
    nodeId: status?.nodeId ?? '?',
    ops: url,
    lease: null,
    answered: status !== null,
    ready: status?.ready === true,
    problems: status === null ? [answer.error ?? 'no answer'] : status.problems,
  }];
  const units: UnitRow[] = (status?.units ?? []).map((s) => {
    const row: UnitRow = {
      unit: s.unit, owner: status!.nodeId, epoch: s.epoch, state: s.state, since: s.since, inFlight: s.inFlight,
      oldestInFlightMs: s.oldestInFlightMs, parked: s.parked, lag: lagOf(config, s.unit, answer.lag), ok: s.state === 'hosted',
    };
    if (!row.ok) {
      row.problem = `${s.unit} is ${s.state}${s.reason ? `: ${s.reason}` : ''}`;
      problems.push(row.problem);
    }
    return row;
  });
  return { ok: problems.length === 0, source: { url }, at: Date.now(), nodes, units: units.sort((a, b) => compareUnits(a.unit, b.unit)), problems };
}

function expectedUnits(config: TroupeConfig): string[] {
  const range = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}/${i}`);
  return [...range('upstream', config.log.upstreamPartitions), ...range(TASK_UNIT_PREFIX, config.log.taskPartitions), ...range('repo', config.repo.shards)];
}

/** The topic whose partitions a unit is, for its lag; undefined for a repo shard. */
function partitionTopic(config: TroupeConfig, unit: string): string | undefined {
  if (unit.startsWith('upstream/')) return config.log.upstreamTopic;
  if (unit.startsWith(`${TASK_UNIT_PREFIX}/`)) return config.log.taskTopic;
  return undefined;
}

/** The owner's `troupe_log_lag` of the unit's partition; null for a shard or when not published. */
function lagOf(config: TroupeConfig, unit: string, lag: Map<string, number>): number | null {
  const topic = partitionTopic(config, unit);
  return topic === undefined ? null : (lag.get(`${topic}/${unit.slice(unit.lastIndexOf('/') + 1)}`) ?? null);
}

function hexLease(id: string | null): string | null {
  if (id === null || !/^\d+$/.test(id)) return id;
  return BigInt(id).toString(16);
}

/** Along the data path: upstream partitions, task partitions, repo shards; by number within. */
const UNIT_ORDER = ['upstream', TASK_UNIT_PREFIX, 'repo'];
const ROLE_ORDER = ['gateway', 'logic', 'task', 'repo', 'embedded'];

function compareUnits(a: string, b: string): number {
  const [pa, na] = splitUnit(a);
  const [pb, nb] = splitUnit(b);
  if (pa !== pb) return rank(UNIT_ORDER, pa) - rank(UNIT_ORDER, pb) || (pa < pb ? -1 : 1);
  return na - nb || (a < b ? -1 : a > b ? 1 : 0);
}

function compareNodes(a: NodeRow, b: NodeRow): number {
  return rank(ROLE_ORDER, a.role) - rank(ROLE_ORDER, b.role) || a.nodeId.localeCompare(b.nodeId, 'en', { numeric: true });
}

function rank(order: string[], item: string): number {
  const i = order.indexOf(item);
  return i === -1 ? order.length : i;
}

// ---- printing

/** The report as an operator reads it: the nodes, the units (`!` marks a row that is not right), then the problems. */
export function renderReport(report: StatusReport): string[] {
  const lines: string[] = [];
  const where = 'url' in report.source ? report.source.url : `cluster ${report.source.cluster} (etcd ${report.source.etcd.join(',')})`;
  const hosted = report.units.filter((u) => u.ok).length;
  const ready = report.nodes.filter((n) => n.ready).length;
  lines.push(`${where}: ${plural(report.nodes.length, 'node')} (${ready} ready), ${plural(report.units.length, 'unit')} (${hosted} hosted)`);
  lines.push('');
  lines.push(...table(
    ['ROLE', 'NODE', 'LEASE', 'OPS', 'READY'],
    report.nodes.map((n) => [n.role, n.nodeId, n.lease ?? '-', n.ops ?? '-', !n.answered ? `NO ANSWER: ${n.problems.join('; ')}` : n.ready ? 'ready' : `NOT READY: ${n.problems.join('; ')}`]),
  ));
  lines.push('');
  lines.push(...table(
    ['', 'UNIT', 'OWNER', 'EPOCH', 'STATE', 'SINCE', 'IN FLIGHT', 'OLDEST', 'PARKED', 'LAG'],
    report.units.map((u) => [
      u.ok ? '' : '!',
      u.unit,
      u.owner ?? '-',
      u.epoch === null ? '-' : String(u.epoch),
      u.state === 'unclaimed' ? 'UNCLAIMED' : u.state,
      u.since === null ? '-' : age(report.at - u.since),
      num(u.inFlight),
      u.oldestInFlightMs === null || u.oldestInFlightMs === 0 ? '-' : age(u.oldestInFlightMs),
      num(u.parked),
      num(u.lag),
    ]),
  ));
  lines.push('');
  if (report.ok) lines.push('ok: every unit is claimed and hosted, every node is ready');
  else {
    lines.push(`NOT OK: ${plural(report.problems.length, 'problem')}`);
    for (const problem of report.problems) lines.push(`  ${problem}`);
  }
  return lines;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function num(value: number | null): string {
  return value === null ? '-' : String(value);
}

/** `45s`, `3m12s`, `2h05m`, `3d04h`. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d${pad(Math.floor(s / 3600) % 24)}h`;
}

function table(header: string[], rows: string[][]): string[] {
  const all = [header, ...rows];
  // The last column is free text (the node's problems): not padded.
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  return all.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd());
}
