/**
 * The quick benchmark's command line (`npm run bench -- --rate 2000 …`). Defaults are small so a
 * run takes about a minute on the 2-core machines; every figure the run depends on is a flag.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TroupeError } from '../../transport/errors.js';

/** What the load runs against: `troupe dev` in one process, a local multi-process cluster, or both in turn. */
export type BenchTarget = 'embedded' | 'cluster' | 'both';

/** Processes of each role in the cluster target (`troupe local-cluster`). */
export interface ClusterShape {
  gateways: number;
  logic: number;
  repo: number;
  task: number;
}

export interface BenchOptions {
  target: BenchTarget;
  cluster: ClusterShape;
  /** Load users, each with one WebSocket. */
  connections: number;
  groups: number;
  groupSize: number;
  directs: number;
  /** Offered rate of the first step (sends/s); each next step doubles it, up to maxRate. */
  rate: number;
  maxRate: number;
  /** Steps that bisect between the highest sustained and the lowest failed rate. */
  refine: number;
  /** Seconds per step. */
  duration: number;
  /** Longest wait after a step's window for its acks and deliveries, in seconds. */
  drain: number;
  /** A step whose ack p99 exceeds this (ms) is not sustained. */
  maxP99Ms: number;
  /** Characters of each message's text. */
  bodyChars: number;
  /** Idle authenticated WebSockets for the memory figure; 0 skips that part. */
  idle: number;
  /** Compare with a bare uWebSockets.js server too. */
  raw: boolean;
  /** Run dist/bin/troupe.js instead of the TypeScript sources. */
  dist: boolean;
  help: boolean;
}

export const USAGE = `usage: npm run bench -- [flags]

  --target T        embedded (default: troupe dev in one process), cluster (troupe local-cluster:
                    MariaDB, Redis, etcd, the Kafka mock and one process per role), or both in turn
  --gateways N      cluster target: gateway processes (default 2); users are spread over them
  --logic N         cluster target: logic processes (default 2)
  --repo N          cluster target: repo processes (default 2)
  --task N          cluster target: task processes (default 1)
  --connections N   load users, one WebSocket each (default 200)
  --groups N        groups (default 20)
  --group-size N    members per group (default 10)
  --directs N       direct conversations, user i with user i+1 (default: one per user)
  --rate N          offered sends/s of the first step (default 1000); each step doubles it
                    (if the first is not sustained, each next one halves it, at most 4 times)
  --max-rate N      last step's rate at most (default 32000)
  --refine N        after the first failed step, bisect N times towards the limit (default 1)
  --duration S      seconds per step (default 5)
  --drain S         longest wait for a step's acks and deliveries after it (default 15)
  --max-p99 MS      a step with a higher ack p99 is not sustained (default 1000)
  --body-chars N    characters of each message's text (default 100)
  --idle N          idle authenticated WebSockets for the memory figure (default 5000; 0 skips;
                    embedded server only)
  --no-raw          skip the bare uWebSockets.js comparison
  --dist            run dist/bin/troupe.js (after npm run build) instead of bin/troupe.ts
`;

/** File descriptors kept free for the process's own files, HTTP keep-alive sockets and the like. */
const SPARE_FDS = 200;

export function parseOptions(argv: readonly string[]): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        target: { type: 'string' }, gateways: { type: 'string' }, logic: { type: 'string' }, repo: { type: 'string' }, task: { type: 'string' },
        connections: { type: 'string' }, groups: { type: 'string' }, 'group-size': { type: 'string' },
        directs: { type: 'string' }, rate: { type: 'string' }, 'max-rate': { type: 'string' },
        refine: { type: 'string' }, duration: { type: 'string' }, drain: { type: 'string' }, 'max-p99': { type: 'string' },
        'body-chars': { type: 'string' }, idle: { type: 'string' }, 'no-raw': { type: 'boolean' },
        dist: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new TroupeError('config', `${(err as Error).message}\n${USAGE}`);
  }
  const connections = int(values.connections, '--connections', 200, 2);
  const options: BenchOptions = {
    target: target(values.target),
    cluster: {
      gateways: int(values.gateways, '--gateways', 2, 1),
      logic: int(values.logic, '--logic', 2, 1),
      repo: int(values.repo, '--repo', 2, 1),
      task: int(values.task, '--task', 1, 1),
    },
    connections,
    groups: int(values.groups, '--groups', 20, 0),
    groupSize: int(values['group-size'], '--group-size', 10, 2),
    directs: int(values.directs, '--directs', connections, 0),
    rate: int(values.rate, '--rate', 1000, 1),
    maxRate: int(values['max-rate'], '--max-rate', 32_000, 1),
    refine: int(values.refine, '--refine', 1, 0),
    duration: int(values.duration, '--duration', 5, 1),
    drain: int(values.drain, '--drain', 15, 1),
    maxP99Ms: int(values['max-p99'], '--max-p99', 1000, 1),
    bodyChars: int(values['body-chars'], '--body-chars', 100, 1),
    idle: int(values.idle, '--idle', 5000, 0),
    raw: values['no-raw'] !== true,
    dist: values.dist === true,
    help: values.help === true,
  };
  check(options);
  return options;
}

function check(o: BenchOptions): void {
  if (o.groupSize > o.connections) throw new TroupeError('config', `--group-size ${o.groupSize} is more than --connections ${o.connections}`);
  if (o.groups + o.directs === 0) throw new TroupeError('config', 'no conversations: give --groups or --directs above 0');
  // The ring's pairs (i, i+1) are distinct for up to one per user, but with two users both are the same pair.
  const maxDirects = o.connections < 3 ? 1 : o.connections;
  if (o.directs > maxDirects) throw new TroupeError('config', `--directs ${o.directs}: at most ${maxDirects} with --connections ${o.connections}`);
  if (o.bodyChars > 4000) throw new TroupeError('config', '--body-chars: the protocol allows 4,000 characters of text at most');
  const limit = openFileLimit();
  const needed = Math.max(o.connections, o.idle) + SPARE_FDS;
  if (limit !== undefined && needed > limit) {
    throw new TroupeError(
      'config',
      `this process may open ${limit} files and the server process as many, so --connections and --idle must stay below ${limit - SPARE_FDS} ` +
        '(one socket each on both sides; extra source addresses lift the port limit, not this one)',
    );
  }
}

/** The soft limit of open files of this process (/proc/self/limits), if it can be read. */
function openFileLimit(): number | undefined {
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

function target(raw: string | undefined): BenchTarget {
  if (raw === undefined) return 'embedded';
  if (raw === 'embedded' || raw === 'cluster' || raw === 'both') return raw;
  throw new TroupeError('config', `--target must be embedded, cluster or both, got "${raw}"`);
}

function int(raw: string | undefined, flag: string, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new TroupeError('config', `${flag} must be a whole number of at least ${min}, got "${raw}"`);
  return value;
}
