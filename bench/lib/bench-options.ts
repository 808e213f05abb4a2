/**
 * `troupe bench`'s command line: `troupe bench <scenario> [target] [flags]` and
 * `troupe bench compare [flags]`. A bad flag is one line naming the flag and the fix (a
 * BenchUsageError; the command exits 2).
 */
import { CPU_LIST } from './pinning.js';
import type { ScenarioName } from '../report/types.js';

export const SCENARIOS: readonly ScenarioName[] = ['connect', 'direct', 'group', 'sync', 'ramp', 'idle'];
/** What compare runs without --scenarios: the five that compare Troupe with the peers under load. */
export const COMPARE_SCENARIOS: readonly ScenarioName[] = ['connect', 'direct', 'group', 'sync', 'ramp'];

export type TargetChoice =
  | { kind: 'embedded' }
  | { kind: 'cluster' }
  | { kind: 'url'; urls: string[] }
  | { kind: 'peer'; name: 'socketio' | 'uws' };

export interface BenchOptions {
  /** The scenarios to run, in order, on every target. */
  scenarios: ScenarioName[];
  targets: TargetChoice[];
  compare: boolean;
  /** Seconds of each timed window (each ramp step); absent: the scenario's default. */
  duration?: number;
  /** Sends per second (the ramp's first step, the sync fill); absent: the scenario's default. */
  rate?: number;
  /**
   * Seconds of unmeasured load before the window (direct, group, ramp); absent: 2. A fresh
   * cluster's processes compile for their first half minute of traffic (docs/benchmarks.md).
   */
  warmup?: number;
  pairs: number;
  /** group: members online, each with a socket. */
  groupSize: number;
  /**
   * group: members in all; those beyond --group-size are offline users written straight into the
   * target's storage. Absent: --group-size (every member online).
   */
  members?: number;
  sockets: number;
  workers: number;
  out: string;
  p99Bound: number;
  /** Longest wait for a phase's acks and deliveries after its window, seconds. */
  drain: number;
  /** sync: messages per conversation before the reconnect. */
  messages: number;
  /** ramp: highest rate tried. */
  maxRate: number;
  /** Characters of each message's text. */
  bodyChars: number;
  pinServer?: string;
  pinGenerator?: string;
  /** --url: the server's process ids on this machine, so its CPU and RSS are sampled too. */
  serverPids?: number[];
  help: boolean;
}

/** A command-line mistake: one line for the user, exit status 2. */
export class BenchUsageError extends Error {}

export const BENCH_USAGE = `usage: troupe bench <scenario> [target] [flags]
       troupe bench compare [flags]
       troupe bench report <run.json> [--out DIR]

Scenarios:
  connect   --sockets N sockets log in and open: time to all ready, connect rate,
            server RSS per idle socket ((RSS after - RSS before) / N)
  direct    --pairs P direct conversations, --rate msgs/s in all, open loop (send i due at
            start + i/rate; latency from that intended time): ack and delivery latency
  group     one group of --group-size online members (of --members in all), --rate msgs/s
            from random members: delivery latency to every online member
  sync      --pairs conversations filled with --messages each, then every member reconnects
            and pulls the history with sync: sync latency, memory per conversation
  ramp      direct at rising rates until delivery p99 passes --p99-bound, then bisect:
            the highest rate that held
  idle      no load for --duration seconds (default 20) after a 2 s settle: CPU of each
            kind of server process in percent of one core
  compare   the embedded server, the Socket.IO peer and the raw uWebSockets.js bound, the
            same scenarios (--scenarios, default all) in one run and one report; for
            figures worth comparing pin both sides, e.g. --pin-server 0 --pin-generator 1

Targets (a positional word or a flag; several run one after the other; default --embedded):
  --embedded             start a Troupe server for the run (dist/ when built and fresh, else the
                         sources); cheap argon2 and no frame rate limit, for setup speed
  --cluster              start troupe local-cluster (MariaDB, Redis, etcd, Kafka mock, 2 gateways,
                         2 logic, 2 repo, 1 task)
  --url URL[,URL...]     a running Troupe (embedded, or a cluster's gateways); public API only,
                         with its own argon2 settings and rate limits
  --server-pid PID[,PID] with --url: its processes on this machine, to sample their CPU and RSS
  --peer socketio|uws    the Socket.IO + redis-adapter + MariaDB peer, or the raw uWS bound

Flags:
  --scenarios LIST       compare: scenarios to run, comma-separated (default all but idle)
  --duration S           seconds of each timed window (direct/group 10, ramp steps 5, idle 20)
  --rate N               msgs/s (direct 300, group 10, ramp's first step 500, sync fill 1000)
  --pairs P              direct, sync and ramp conversations (default 200)
  --group-size G         group: members online, each with a socket (default 1000)
  --members M            group: members in all (default --group-size); the M - G offline ones
                         are written straight into the started target's storage (--embedded
                         or --cluster), then added to the group through the API
  --sockets N            connect: sockets (default 10000)
  --messages N           sync: messages per conversation before the reconnect (default 100;
                         1000 for the memory per conversation figure, which is defined after 1,000)
  --p99-bound MS         ramp: a step holds while delivery p99 stays below this (default 50)
  --max-rate N           ramp: highest rate tried (default 50000)
  --warmup S             direct, group, ramp: seconds of checked but unmeasured load first
                         (default 2; a fresh cluster compiles for about 30 s, so 30 measures
                         its steady state)
  --drain S              longest wait for the last acks and deliveries (default 15)
  --body-chars N         characters of each message's text (default 100)
  --workers N            generator worker processes (default 1; raised to fit the sockets,
                         at most 18,000 per process; 127.0.0.x source addresses beyond 25,000)
  --pin-server CPUS      taskset CPU list for the server processes, e.g. 0
  --pin-generator CPUS   taskset CPU list for the generator, e.g. 1
  --out DIR              where the JSON, HTML and markdown reports go (default bench/out)
  -h, --help             this help

Exit status: 0 every check passed, 1 a run lost, duplicated or reordered something, or failed,
2 a bad command line.

direct, group and idle also report the server's CPU by kind of process (gateway, logic, repo,
task, MariaDB, Redis, etcd, Kafka mock; from /proc at the window's start and end), per message
where messages were sent, and the machine's wakeup floor (two processes' TCP ping-pong, CPU per
round trip with 5 ms gaps and back to back) measured right after the window.
`;

type FlagKind = 'int' | 'number' | 'string' | 'boolean';

const FLAGS: Record<string, FlagKind> = {
  '--embedded': 'boolean', '--cluster': 'boolean', '--url': 'string', '--peer': 'string', '--scenarios': 'string',
  '--duration': 'number', '--rate': 'number', '--warmup': 'number', '--pairs': 'int', '--group-size': 'int', '--members': 'int', '--sockets': 'int', '--messages': 'int',
  '--p99-bound': 'number', '--max-rate': 'number', '--drain': 'number', '--body-chars': 'int', '--workers': 'int',
  '--pin-server': 'string', '--pin-generator': 'string', '--server-pid': 'string', '--out': 'string', '--help': 'boolean', '-h': 'boolean',
};

const TARGET_WORDS = ['embedded', 'cluster', 'socketio', 'uws'];

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const values = new Map<string, string | true>();
  const positionals: string[] = [];
  const targets: TargetChoice[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const kind = FLAGS[flag];
    if (kind === undefined) throw new BenchUsageError(`unknown flag ${flag}: see troupe bench --help for the flags`);
    let value: string | true;
    if (kind === 'boolean') {
      if (eq !== -1) throw new BenchUsageError(`${flag} takes no value: give ${flag} alone`);
      value = true;
    } else if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('-') && !/^-\d/.test(next))) throw new BenchUsageError(`${flag} needs a value: give ${flag} <value>`);
      value = next;
      i += 1;
    }
    if (flag === '--embedded') targets.push({ kind: 'embedded' });
    else if (flag === '--cluster') targets.push({ kind: 'cluster' });
    else if (flag === '--url') targets.push(urlTarget(value as string));
    else if (flag === '--peer') targets.push(peerTarget(value as string));
    values.set(flag === '-h' ? '--help' : flag, value);
  }
  const help = values.get('--help') === true;
  const [first, ...rest] = positionals;
  if (help && first === undefined) return defaults({ scenarios: [], targets: [], compare: false, help });
  if (first === undefined) throw new BenchUsageError(`no scenario: give one of ${[...SCENARIOS, 'compare'].join(', ')} (troupe bench --help)`);
  const compare = first === 'compare';
  if (!compare && !(SCENARIOS as readonly string[]).includes(first)) {
    throw new BenchUsageError(`unknown scenario "${first}": give one of ${[...SCENARIOS, 'compare'].join(', ')}`);
  }
  for (const word of rest) targets.push(positionalTarget(word));
  if (compare && targets.length > 0) throw new BenchUsageError('compare starts its own targets (embedded, socketio, uws): leave out the target');
  const scenarios = compare ? scenarioList(values.get('--scenarios')) : [first as ScenarioName];
  if (!compare && values.has('--scenarios')) throw new BenchUsageError('--scenarios is for compare only: name one scenario instead');

  const options = defaults({
    scenarios,
    targets: compare ? [{ kind: 'embedded' }, { kind: 'peer', name: 'socketio' }, { kind: 'peer', name: 'uws' }] : targets.length > 0 ? targets : [{ kind: 'embedded' }],
    compare,
    help,
  });
  const num = (flag: string, kind: 'int' | 'number', min: number): number | undefined => {
    const raw = values.get(flag);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value) || (kind === 'int' && !Number.isInteger(value)) || value < min) {
      throw new BenchUsageError(`${flag} must be ${kind === 'int' ? 'a whole number' : 'a number'} of at least ${min}, got "${String(raw)}"`);
    }
    return value;
  };
  const duration = num('--duration', 'number', 1);
  const rate = num('--rate', 'number', 0.1);
  if (duration !== undefined) options.duration = duration;
  if (rate !== undefined) options.rate = rate;
  const warmup = num('--warmup', 'number', 1);
  if (warmup !== undefined) options.warmup = warmup;
  options.pairs = num('--pairs', 'int', 1) ?? options.pairs;
  options.groupSize = num('--group-size', 'int', 2) ?? options.groupSize;
  const members = num('--members', 'int', 2);
  if (members !== undefined) options.members = checkMembers(members, options);
  options.sockets = num('--sockets', 'int', 1) ?? options.sockets;
  options.messages = num('--messages', 'int', 1) ?? options.messages;
  options.p99Bound = num('--p99-bound', 'number', 0.1) ?? options.p99Bound;
  options.maxRate = num('--max-rate', 'number', 1) ?? options.maxRate;
  options.drain = num('--drain', 'number', 1) ?? options.drain;
  options.bodyChars = num('--body-chars', 'int', 1) ?? options.bodyChars;
  options.workers = num('--workers', 'int', 1) ?? options.workers;
  if (options.bodyChars > 4000) throw new BenchUsageError('--body-chars: the protocol allows at most 4000 characters of text');
  const out = values.get('--out');
  if (typeof out === 'string') options.out = out;
  for (const [flag, key] of [['--pin-server', 'pinServer'], ['--pin-generator', 'pinGenerator']] as const) {
    const raw = values.get(flag);
    if (raw === undefined) continue;
    if (typeof raw !== 'string' || !CPU_LIST.test(raw)) throw new BenchUsageError(`${flag} must be a CPU list such as 0, 0,1 or 2-3, got "${String(raw)}"`);
    options[key] = raw;
  }
  const pids = values.get('--server-pid');
  if (pids !== undefined) {
    const list = String(pids).split(',').map((p) => Number(p.trim()));
    if (list.some((pid) => !Number.isInteger(pid) || pid < 1)) throw new BenchUsageError(`--server-pid takes process ids such as 1234 or 1234,1240, got "${String(pids)}"`);
    if (!options.targets.some((t) => t.kind === 'url')) throw new BenchUsageError('--server-pid goes with --url: the targets the run starts are sampled anyway');
    options.serverPids = list;
  }
  return options;
}

function defaults(partial: Pick<BenchOptions, 'scenarios' | 'targets' | 'compare' | 'help'>): BenchOptions {
  return {
    ...partial, pairs: 200, groupSize: 1000, sockets: 10_000, workers: 1, out: 'bench/out', p99Bound: 50, drain: 15,
    messages: 100, maxRate: 50_000, bodyChars: 100,
  };
}

/**
 * --members against the rest of the command line: at least --group-size, for the group scenario
 * alone, and (when some members are offline) only on targets the run starts, whose storage it
 * can write the offline users into.
 */
function checkMembers(members: number, options: BenchOptions): number {
  if (options.compare || !options.scenarios.includes('group')) throw new BenchUsageError('--members is for the group scenario: troupe bench group --members M --group-size G');
  if (members < options.groupSize) {
    throw new BenchUsageError(`--members (${members}) must be at least --group-size (${options.groupSize}), the members online: give --members ${options.groupSize} or more`);
  }
  const other = options.targets.find((t) => t.kind !== 'embedded' && t.kind !== 'cluster');
  if (members > options.groupSize && other !== undefined) {
    throw new BenchUsageError(`--members above --group-size writes offline users into the target's storage: use --embedded or --cluster, not ${other.kind === 'url' ? '--url' : `--peer ${other.name}`}`);
  }
  return members;
}

function scenarioList(raw: string | true | undefined): ScenarioName[] {
  if (raw === undefined) return [...COMPARE_SCENARIOS];
  const names = String(raw).split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = names.find((n) => !(SCENARIOS as readonly string[]).includes(n));
  if (unknown !== undefined || names.length === 0) throw new BenchUsageError(`--scenarios takes a comma-separated list of ${SCENARIOS.join(', ')}${unknown === undefined ? '' : `, got "${unknown}"`}`);
  return names as ScenarioName[];
}

function urlTarget(raw: string): TargetChoice {
  const urls = raw.split(',').map((u) => u.trim()).filter((u) => u !== '');
  for (const url of urls) {
    if (!/^https?:\/\/[^/\s]+\/?$/.test(url)) throw new BenchUsageError(`--url takes http://host:port[,http://host:port...], got "${url}"`);
  }
  if (urls.length === 0) throw new BenchUsageError('--url needs at least one http://host:port');
  return { kind: 'url', urls };
}

function peerTarget(raw: string): TargetChoice {
  if (raw !== 'socketio' && raw !== 'uws') throw new BenchUsageError(`--peer must be socketio or uws, got "${raw}"`);
  return { kind: 'peer', name: raw };
}

function positionalTarget(word: string): TargetChoice {
  if (/^https?:\/\//.test(word)) return urlTarget(word);
  if (word === 'embedded') return { kind: 'embedded' };
  if (word === 'cluster') return { kind: 'cluster' };
  if (word === 'socketio' || word === 'uws') return { kind: 'peer', name: word };
  throw new BenchUsageError(`unknown target "${word}": give ${TARGET_WORDS.join(', ')} or a URL (or --url, --peer)`);
}
