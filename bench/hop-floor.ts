/**
 * The hop floor: what the hops of one direct message cost on this machine with the chosen
 * libraries alone, no Troupe code in between, at the rate a cluster's processes see them.
 *
 * A message in `troupe local-cluster` takes two Kafka hops (gateway → logic, logic → gateway),
 * one gRPC call (logic → repo), one MySQL transaction in two round trips (repo → MariaDB), one
 * Redis script call (logic's presence lookup), and three WebSocket frames on the gateways (the
 * send in, the ack and the delivery out). Here each hop runs between bare processes
 * (bench/floor/hop-peer.ts: kafkajs, grpc-js, mysql2, ioredis, uWebSockets.js) against the same
 * services `troupe local-cluster` starts (librdkafka's mock, MariaDB, Redis), one operation per
 * message, at `--rate` messages a second split over two processes per side as the cluster's
 * 2 gateways, 2 logic and 2 repo nodes split them. Each hop is measured after a warm-up, from
 * the processes' own CPU clocks (and /proc for the services).
 *
 * The sum is the floor a Troupe cluster stands on at that rate: what its own code costs is the
 * cluster's figure from `npm run bench -- direct --cluster` less this one. The floor has no
 * batching across messages, which the cluster does where messages meet in one turn, so at high
 * rates the cluster can come in under a hop's figure.
 *
 * With `--part idle` (or all) it also measures one kafkajs consumer with nothing to consume at
 * several fetch waits: the part of an idle cluster's CPU that every role process pays on the mock.
 *
 *     npm run build && npm run bench:floor -- [--rate 300] [--duration 10] [--part all|hops|pipeline|idle]
 */
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import { startKafkaMock, type KafkaMock } from '../bin/services/kafka-mock.js';
import { startMariadb } from '../bin/services/mariadb.js';
import { startRedis } from '../bin/services/redis.js';
import type { FromHopPeer, HopPeerOptions, ToHopPeer } from './floor/hop-peer.js';
import { IpcChild } from './lib/ipc-child.js';
import { childProcesses, readCpuMillis } from './lib/proc-stats.js';
import { processKind, readCommandLine, type ServiceKind } from './lib/process-cpu.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FROM_SOURCES = import.meta.url.endsWith('.ts');
/** Unmeasured seconds at the rate first: consumer groups joined, code compiled, pools settled. */
const WARM_UP_SEC = 3;
/** Longest wait after the warm-up for the hop to carry the rate. */
const FLOW_WAIT_SEC = 30;
const ANSWER_TIMEOUT_MS = 30_000;
/** The fetch wait `troupe local-cluster` gives its consumers while records flow. */
const FETCH_WAIT_MS = 20;

type HopPeer = IpcChild<FromHopPeer, ToHopPeer> & { role: string };

function startHopPeer(role: string, options: HopPeerOptions): HopPeer {
  const peer = IpcChild.start<FromHopPeer, ToHopPeer>(join(HERE, 'floor', 'hop-peer.js'), FROM_SOURCES, [role, JSON.stringify(options)], {
    name: role,
    timeoutMs: ANSWER_TIMEOUT_MS,
    failure: (m) => (m.type === 'failed' ? m.error : undefined),
    stopSignal: 'SIGKILL',
  });
  return Object.assign(peer, { role });
}

/** One hop's set-up: processes started stage by stage (each stage gets the ports of the ones before). */
interface HopPlan {
  name: string;
  /** How many times one message takes this hop. */
  perMessage: number;
  /** What the processes stand in for. */
  stands: string;
  /** The service whose CPU belongs to the hop, if any. */
  service?: ServiceKind;
  stages: Array<(ports: number[]) => Array<{ role: string; options: HopPeerOptions }>>;
  /** The role whose finished operations count (a Kafka hop's consumers, a pipeline's edges' acks). */
  counted: string;
  /** A role that stands in for the users, whose CPU is not the cluster's. */
  users?: string;
}

interface HopFigures {
  plan: HopPlan;
  ops: number;
  opsPerSec: number;
  failures: number;
  roleUsPerOp: number;
  serviceUsPerOp: number | undefined;
  rolePercent: number;
}

async function measureHop(plan: HopPlan, rate: number, durationSec: number, servicePids: number[]): Promise<HopFigures> {
  const started: HopPeer[] = [];
  try {
    const ports: number[] = [];
    for (const stage of plan.stages) {
      const peers = stage([...ports]).map((c) => startHopPeer(c.role, c.options));
      started.push(...peers);
      for (const ready of await Promise.all(peers.map((p) => p.next('ready')))) if (ready.port !== undefined) ports.push(ready.port);
    }
    for (const p of started) p.send({ type: 'start' });
    const cluster = started.filter((p) => p.role !== plan.users);
    const counted = started.filter((p) => p.role === plan.counted);
    const read = async (): Promise<Reading & { ops: number; failures: number }> => {
      const reports = await Promise.all(started.map((p) => p.next('report', { type: 'report' })));
      const of = (set: HopPeer[], pick: (r: (typeof reports)[number]) => number): number => set.reduce((sum, p) => sum + pick(reports[started.indexOf(p)]!), 0);
      return { cpuUs: of(cluster, (r) => r.cpuUs), ops: of(counted, (r) => r.ops), failures: of(started, (r) => r.failures), serviceMs: await cpuMillisOf(servicePids), at: performance.now() };
    };
    await sleep(WARM_UP_SEC * 1000);
    await flowing(rate, read);
    const { before, after, wallMs } = await measuredWindow(read, durationSec);
    const ops = after.ops - before.ops;
    return {
      plan,
      ops,
      opsPerSec: ops / (wallMs / 1000),
      failures: after.failures,
      roleUsPerOp: (after.cpuUs - before.cpuUs) / ops,
      serviceUsPerOp: servicePids.length === 0 ? undefined : ((after.serviceMs - before.serviceMs) * 1000) / ops,
      rolePercent: ((after.cpuUs - before.cpuUs) / 1000 / wallMs) * 100,
    };
  } finally {
    await Promise.all(started.map((p) => p.stop()));
  }
}

/** What a measurement reads at each end of its window. */
interface Reading {
  /** CPU of the measured helper processes, their own clocks. */
  cpuUs: number;
  /** CPU of the hop's services, from /proc. */
  serviceMs: number;
  /** performance.now() when read. */
  at: number;
}

/** Two readings `durationSec` apart. */
async function measuredWindow<R extends Reading>(read: () => Promise<R>, durationSec: number): Promise<{ before: R; after: R; wallMs: number }> {
  const before = await read();
  await sleep(durationSec * 1000);
  const after = await read();
  return { before, after, wallMs: after.at - before.at };
}

async function cpuMillisOf(pids: readonly number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) total += await readCpuMillis(pid);
  return total;
}

/**
 * Waits until a second's finished operations reach 90 % of the rate: every consumer group has
 * joined and nothing is catching up, so the window measures the steady state.
 */
async function flowing(rate: number, read: () => Promise<{ ops: number; failures: number }>): Promise<void> {
  let last = (await read()).ops;
  for (let waited = 0; ; waited++) {
    await sleep(1000);
    const { ops, failures } = await read();
    if (ops - last >= rate * 0.9) return;
    if (waited >= FLOW_WAIT_SEC) throw new Error(`the hop did not reach ${rate * 0.9} operations a second within ${FLOW_WAIT_SEC} s (last second: ${ops - last}; failed operations: ${failures})`);
    last = ops;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function servicePids(): Promise<Map<ServiceKind, number>> {
  const found = new Map<ServiceKind, number>();
  for (const child of await childProcesses(process.pid)) {
    const kind = processKind(await readCommandLine(child.pid));
    if (kind === 'mariadb' || kind === 'redis' || kind === 'kafka-mock' || kind === 'etcd') found.set(kind, child.pid);
  }
  return found;
}

interface Services {
  brokers: string[];
  mysqlUrl: string;
  redisUrl: string;
}

/** Each dependency alone, one request per message. */
function hopPlans(rate: number, { brokers, mysqlUrl, redisUrl }: Services): HopPlan[] {
  const half = rate / 2;
  const twice = <T>(value: T): T[] => [value, value];
  return [
    {
      name: 'Kafka hop',
      perMessage: 2,
      stands: '2 producers (gateways or logic nodes) at half the rate each, one request per record; 2 consumers in a group (logic nodes or gateways), 16 partitions',
      service: 'kafka-mock',
      stages: [() => twice({ role: 'kafka-consumer', options: { brokers, topic: 'floor-hop', group: 'floor-hop', maxWaitMs: FETCH_WAIT_MS } }), () => twice({ role: 'kafka-producer', options: { brokers, topic: 'floor-hop', rate: half } })],
      counted: 'kafka-consumer',
    },
    {
      name: 'gRPC call',
      perMessage: 1,
      stands: '2 clients (logic nodes) at half the rate each, alternating between 2 servers (repo nodes)',
      stages: [() => twice({ role: 'grpc-server', options: {} }), (ports) => twice({ role: 'grpc-client', options: { ports, rate: half } })],
      counted: 'grpc-client',
    },
    {
      name: 'MySQL commit',
      perMessage: 1,
      stands: '2 clients (repo nodes) at half the rate each; BEGIN and an INSERT, then COMMIT',
      service: 'mariadb',
      stages: [() => twice({ role: 'mysql-client', options: { url: mysqlUrl, rate: half } })],
      counted: 'mysql-client',
    },
    {
      name: 'Redis script',
      perMessage: 1,
      stands: '2 clients (logic nodes) at half the rate each; one script reading two hashes',
      service: 'redis',
      stages: [() => twice({ role: 'redis-client', options: { url: redisUrl, rate: half } })],
      counted: 'redis-client',
    },
    {
      name: 'WebSocket frames',
      perMessage: 1,
      stands: "2 uWS servers (gateways): a frame in, an ack back and a delivery to another socket; the users' client not counted",
      stages: [() => twice({ role: 'ws-server', options: {} }), (ports) => [{ role: 'ws-client', options: { ports, rate } }]],
      counted: 'ws-server',
      users: 'ws-client',
    },
  ];
}

/** The whole Kafka, gRPC, Redis and MySQL path of a message, batched per turn as the cluster batches it. */
/** Topic and group suffixes of the two pipelines: unary appends, appends over a stream. */
const PIPELINE_TAGS = ['', '-s'] as const;

function pipelinePlan(rate: number, { brokers, mysqlUrl, redisUrl }: Services, stream = false): HopPlan {
  const tag = PIPELINE_TAGS[stream ? 1 : 0];
  return {
    name: stream ? 'pipeline, appends over a stream' : 'pipeline',
    perMessage: 1,
    stands: `2 gateway stand-ins (Kafka only, no WebSocket) at half the rate each, 2 logic stand-ins, 2 repo stand-ins${stream ? '; each logic stand-in appends over one long-lived gRPC stream per repo instead of a unary call per turn' : ''}`,
    stages: [
      () => [0, 1].map(() => ({ role: 'pipe-repo', options: { url: mysqlUrl } })),
      (ports) => [0, 1].map(() => ({ role: 'pipe-logic', options: { brokers, url: redisUrl, ports, maxWaitMs: FETCH_WAIT_MS, stream, tag } })),
      () => [0, 1].map((edge) => ({ role: 'pipe-edge', options: { brokers, edge, rate: rate / 2, maxWaitMs: FETCH_WAIT_MS, tag } })),
    ],
    counted: 'pipe-edge',
  };
}

function fmt(n: number | undefined, digits = 0): string {
  return n === undefined || !Number.isFinite(n) ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

const PARTS = ['all', 'hops', 'pipeline', 'idle'] as const;

/** A command-line mistake: one line naming the flag and the fix, exit status 2. */
function usage(problem: string): never {
  process.stderr.write(`hop-floor: ${problem} (flags: --rate N --duration S --part ${PARTS.join('|')})\n`);
  process.exit(2);
}
/** Fetch waits an idle consumer is measured at: the launcher's idle wait and two longer ones. */
const IDLE_WAITS_MS = [100, 250, 500];
/** Role processes of `troupe local-cluster` that run a consumer: 2 gateways, 2 logic nodes, 1 task node. */
const LOCAL_CLUSTER_CONSUMERS = 5;

interface IdleFigures {
  waitMs: number;
  percent: number;
  mockPercent: number | undefined;
}

/**
 * One kafkajs consumer with nothing to consume, fetching with `waitMs`: what every role process
 * pays for its consumer on the mock when idle (the mock holds an empty fetch for the whole wait).
 */
async function measureIdleConsumer(kafka: KafkaMock, waitMs: number, durationSec: number, mockPid: number | undefined): Promise<IdleFigures> {
  const topic = `floor-idle-${waitMs}`;
  await kafka.createTopic(topic, 4);
  const consumer = startHopPeer('kafka-consumer', { brokers: kafka.brokers, topic, group: topic, maxWaitMs: waitMs });
  try {
    await consumer.next('ready');
    // Joining the group takes a few fetch waits; then only the empty fetches are left.
    await sleep(2 * WARM_UP_SEC * 1000);
    const mockPids = mockPid === undefined ? [] : [mockPid];
    const read = async (): Promise<Reading> => ({ cpuUs: (await consumer.next('report', { type: 'report' })).cpuUs, serviceMs: await cpuMillisOf(mockPids), at: performance.now() });
    const { before, after, wallMs } = await measuredWindow(read, durationSec);
    return {
      waitMs,
      percent: ((after.cpuUs - before.cpuUs) / 1000 / wallMs) * 100,
      mockPercent: mockPid === undefined ? undefined : ((after.serviceMs - before.serviceMs) / wallMs) * 100,
    };
  } finally {
    await consumer.stop();
  }
}

async function main(): Promise<void> {
  let values: { rate: string; duration: string; part: string };
  try {
    ({ values } = parseArgs({ options: { rate: { type: 'string', default: '300' }, duration: { type: 'string', default: '10' }, part: { type: 'string', default: 'all' } } }));
  } catch (err) {
    usage((err as Error).message);
  }
  const rate = Number(values.rate);
  const duration = Number(values.duration);
  const part = values.part as (typeof PARTS)[number];
  if (!(rate > 0)) usage(`--rate takes a positive number of messages a second, got "${values.rate}"`);
  if (!(duration > 0)) usage(`--duration takes a positive number of seconds, got "${values.duration}"`);
  if (!PARTS.includes(part)) usage(`--part takes one of ${PARTS.join(', ')}, got "${values.part}"`);
  process.stdout.write(`hop floor at ${rate} msgs/s, ${duration} s per measurement after ${WARM_UP_SEC} s of warm-up (${cpus().length} cores)\n  starting MariaDB, Redis and the Kafka mock\n`);
  const topics = [
    { topic: 'floor-hop', partitions: 16 },
    // Each pipeline has its own topics (its tag): the plain one and the one appending over a stream.
    ...PIPELINE_TAGS.flatMap((tag) => [
      { topic: `floor-up${tag}`, partitions: 16 },
      // 16, not the cluster's 4: the mock returns one produce request's records per partition
      // per fetch, and with 4 partitions the bare consumers fell behind at 300 msgs/s.
      { topic: `floor-down${tag}-0`, partitions: 16 },
      { topic: `floor-down${tag}-1`, partitions: 16 },
    ]),
  ];
  const [mariadb, redis, kafka] = await Promise.all([startMariadb(), startRedis(), startKafkaMock({ topics })]);
  try {
    const mysqlUrl = await mariadb.createDatabase('troupe_floor');
    const db = await mysql.createConnection(mysqlUrl);
    await db.query('CREATE TABLE floor_messages (id VARCHAR(64) PRIMARY KEY, body TEXT NOT NULL, ts BIGINT NOT NULL) ENGINE=InnoDB');
    await db.end();
    const services: Services = { brokers: kafka.brokers, mysqlUrl, redisUrl: redis.url };
    const pids = await servicePids();
    const measure = async (plan: HopPlan, kinds: ServiceKind[]): Promise<HopFigures> => {
      process.stdout.write(`  ${plan.name}: ${plan.stands}\n`);
      const figures = await measureHop(plan, rate, duration, kinds.map((k) => pids.get(k)).filter((pid): pid is number => pid !== undefined));
      process.stdout.write(`    ${fmt(figures.opsPerSec)} ops/s, cluster side ${fmt(figures.roleUsPerOp)} µs/op (${fmt(figures.rolePercent, 1)} % of a core)${figures.serviceUsPerOp === undefined ? '' : `, services ${fmt(figures.serviceUsPerOp)} µs/op`}${figures.failures > 0 ? `, ${figures.failures} failed` : ''}\n`);
      return figures;
    };
    const hops: HopFigures[] = [];
    if (part === 'all' || part === 'hops') for (const plan of hopPlans(rate, services)) hops.push(await measure(plan, plan.service === undefined ? [] : [plan.service]));
    const pipelines = part === 'all' || part === 'pipeline';
    const pipeline = pipelines ? await measure(pipelinePlan(rate, services), ['kafka-mock', 'mariadb', 'redis']) : undefined;
    const streamed = pipelines ? await measure(pipelinePlan(rate, services, true), ['kafka-mock', 'mariadb', 'redis']) : undefined;
    const idle: IdleFigures[] = [];
    if (part === 'all' || part === 'idle') {
      for (const waitMs of IDLE_WAITS_MS) {
        process.stdout.write(`  an idle consumer fetching with a ${waitMs} ms wait\n`);
        const figures = await measureIdleConsumer(kafka, waitMs, duration, pids.get('kafka-mock'));
        idle.push(figures);
        process.stdout.write(`    ${fmt(figures.percent, 2)} % of a core, the mock ${fmt(figures.mockPercent, 2)} %\n`);
      }
    }
    report(rate, hops, pipeline, streamed);
    reportIdle(idle);
    if ([...hops, ...(pipeline === undefined ? [] : [pipeline]), ...(streamed === undefined ? [] : [streamed])].some((r) => r.failures > 0 || r.ops === 0)) process.exitCode = 1;
  } finally {
    await Promise.all([kafka.stop(), redis.stop(), mariadb.stop()]);
  }
}

function reportIdle(idle: IdleFigures[]): void {
  if (idle.length === 0) return;
  const out = (line = ''): void => void process.stdout.write(`${line}\n`);
  out();
  out('An idle consumer on the mock, % of one core (a local cluster has five: 2 gateways, 2 logic nodes, the task node; repo nodes consume nothing):');
  out();
  out('| idle fetch wait | the consumer | the mock | five consumers |');
  out('| ---: | ---: | ---: | ---: |');
  for (const f of idle) out(`| ${f.waitMs} ms | ${fmt(f.percent, 2)} | ${fmt(f.mockPercent, 2)} | ${fmt(LOCAL_CLUSTER_CONSUMERS * f.percent, 1)} |`);
}

function report(rate: number, hops: HopFigures[], pipeline: HopFigures | undefined, streamed: HopFigures | undefined): void {
  const out = (line = ''): void => void process.stdout.write(`${line}\n`);
  let ws: HopFigures | undefined;
  if (hops.length > 0) {
    const rows = hops.map((r) => ({ r, role: r.roleUsPerOp * r.plan.perMessage, service: (r.serviceUsPerOp ?? 0) * r.plan.perMessage }));
    out();
    out(`Each hop alone, one request per message, at ${rate} msgs/s (µs of CPU):`);
    out();
    out('| hop | times per message | cluster processes per hop | its service per hop | cluster processes per message |');
    out('| --- | ---: | ---: | ---: | ---: |');
    for (const { r, role } of rows) out(`| ${r.plan.name} | ${r.plan.perMessage} | ${fmt(r.roleUsPerOp)} | ${r.serviceUsPerOp === undefined ? '-' : fmt(r.serviceUsPerOp)} | ${fmt(role)} |`);
    out(`| **every hop, unbatched** | | | | **${fmt(rows.reduce((s, x) => s + x.role, 0) / 1000, 2)} ms** |`);
    ws = hops.find((h) => h.plan.users !== undefined);
  }
  if (pipeline !== undefined) {
    const wsUs = ws?.roleUsPerOp;
    out();
    out(`The pipeline (Kafka, Redis, gRPC and MySQL, batched per turn): ${fmt(pipeline.roleUsPerOp / 1000, 2)} ms of the cluster processes' CPU per message, services ${fmt((pipeline.serviceUsPerOp ?? NaN) / 1000, 2)} ms.`);
    if (wsUs !== undefined) {
      const floor = (pipeline.roleUsPerOp + wsUs) / 1000;
      out(`With the WebSocket frames (${fmt(wsUs)} µs), the floor of a message is ${fmt(floor, 2)} ms for the role processes.`);
      out(`A cluster's own cost per message is its figure (npm run bench -- direct --cluster --rate ${rate}) less ${fmt(floor, 2)} ms.`);
    }
  }
  if (streamed !== undefined) {
    out(`What if: with each logic stand-in appending over one long-lived gRPC stream per repo instead of a unary call per turn, the pipeline costs ${fmt(streamed.roleUsPerOp / 1000, 2)} ms.`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`hop-floor: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
