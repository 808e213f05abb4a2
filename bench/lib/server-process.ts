/**
 * The embedded Troupe server under test (`troupe dev`), in its own child process so that its
 * memory and CPU can be read from /proc apart from the load generator's, with a temporary data
 * folder, optionally pinned to CPUs with `taskset -c`.
 *
 * Each gets a free loopback port and is ready when GET /readyz answers 200. Its stdout and
 * stderr are shown prefixed with its name (the Troupe server logs at `warn`, so only trouble
 * shows), up to a cap; the count of lines is kept so the summary can say whether it complained.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TroupeError } from '../../transport/errors.js';
import { readCpuMillis, readRssKiB } from './proc-stats.js';
import { sleep } from './wait-until.js';

/** The checkout's root: the nearest folder above this file with package.json (bench/lib/ from sources, dist/bench/lib/ when built). */
export const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  return from;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;
const SHOWN_OUTPUT_LINES = 20;

/**
 * Settings of the Troupe server under test. Password hashing far below OWASP's (registering
 * thousands of users would otherwise take minutes and measure argon2, not messaging) and the
 * per-connection frame rate limit lifted (the default 20 frames/s would refuse the offered load
 * instead of measuring it). Everything else is config/default.yaml.
 */
const TROUPE_BENCH_ENV: Readonly<Record<string, string>> = {
  TROUPE_AUTH__ARGON2__MEMORY_KIB: '1024',
  TROUPE_AUTH__ARGON2__ITERATIONS: '1',
  TROUPE_GATEWAY__RATE_LIMIT__BURST: '1000000',
  TROUPE_GATEWAY__RATE_LIMIT__PER_SECOND: '1000000',
};

/**
 * The TROUPE_ variables the Troupe server under test gets: the benchmark's settings above, with
 * any TROUPE_ variable of this process's environment winning (e.g. TROUPE_REPO__SHARDS=1 npm run
 * bench, to try a setting), so the report can name every setting that is not the default.
 */
export function troupeServerEnv(): Record<string, string> {
  const inherited = Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('TROUPE_') && e[1] !== undefined);
  return { ...TROUPE_BENCH_ENV, ...Object.fromEntries(inherited) };
}

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** Its temporary data folder (removed by stop()), when it has one. */
  readonly dataDir?: string;
  /** Lines the process wrote to stdout or stderr so far. */
  outputLines(): number;
  rssKiB(): Promise<number>;
  cpuMillis(): Promise<number>;
  /** SIGTERM, then SIGKILL after 20 s; removes the temporary data folder. Idempotent. */
  stop(): Promise<void>;
}

/** Every server started and not yet stopped, so an interrupted run can still clean up. */
const running = new Set<ServerProcess>();

/** Stops every server still running (e.g. on Ctrl-C). */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...running].map((server) => server.stop()));
}

export interface TroupeServerOptions {
  /** Run the compiled dist/bin/troupe.js instead of bin/troupe.ts through tsx. */
  useDist: boolean;
  /** `taskset -c` CPU list for the server; absent: not pinned. */
  pinServer?: string;
}

/** Whether the compiled server (npm run build) is there to run. */
export function distBuilt(): boolean {
  return existsSync(join(REPO_ROOT, 'dist/bin/troupe.js'));
}

export async function startTroupeServer(options: TroupeServerOptions): Promise<ServerProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'troupe-bench-'));
  const entry = options.useDist ? ['dist/bin/troupe.js'] : ['--import', 'tsx', 'bin/troupe.ts'];
  if (options.useDist && !existsSync(join(REPO_ROOT, 'dist/bin/troupe.js'))) {
    throw new TroupeError('config', 'dist/bin/troupe.js is missing: run `npm run build` first, or leave out --dist');
  }
  const port = await freePort();
  // BENCH_SERVER_NODE_ARGS: extra node flags for the server only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter((a) => a.length > 0);
  const args = [...nodeArgs, ...entry, 'dev', '--port', String(port), '--host', HOST, '--data-dir', dataDir, '--log-level', 'warn'];
  return startChild('troupe', args, port, troupeServerEnv(), dataDir, options.pinServer);
}

async function startChild(
  name: string,
  args: string[],
  port: number,
  env: Record<string, string>,
  dataDir: string | undefined,
  pinCpus: string | undefined,
): Promise<ServerProcess> {
  // taskset execs node in place, so the child's pid is the server's.
  const [command, commandArgs] = pinCpus === undefined ? [process.execPath, args] : ['taskset', ['-c', pinCpus, process.execPath, ...args]];
  const child = spawn(command, commandArgs, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let lines = 0;
  const show = (line: string): void => {
    lines += 1;
    if (lines <= SHOWN_OUTPUT_LINES) process.stderr.write(`[${name}] ${line}\n`);
    else if (lines === SHOWN_OUTPUT_LINES + 1) process.stderr.write(`[${name}] (further output not shown)\n`);
  };
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', show);

  const pid = child.pid;
  const baseUrl = `http://${HOST}:${port}`;
  let stopping: Promise<void> | undefined;
  const server: ServerProcess = {
    name,
    pid: pid ?? -1,
    port,
    baseUrl,
    ...(dataDir === undefined ? {} : { dataDir }),
    outputLines: () => lines,
    rssKiB: () => readRssKiB(server.pid),
    cpuMillis: () => readCpuMillis(server.pid),
    stop() {
      stopping ??= (async () => {
        await terminate(child, exited);
        if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
        running.delete(server);
      })();
      return stopping;
    },
  };
  running.add(server);
  try {
    if (pid === undefined) throw new TroupeError('unavailable', `${name}: the child process did not start`);
    await waitReady(name, baseUrl, exited);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

async function waitReady(name: string, baseUrl: string, exited: Promise<number | null>): Promise<void> {
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new TroupeError('unavailable', `${name} exited with status ${exitCode} before it was ready (its output is above)`);
    try {
      const res = await fetch(`${baseUrl}/readyz`);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  throw new TroupeError('timeout', `${name} was not ready within ${READY_TIMEOUT_MS} ms`);
}

async function terminate(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(killer);
}

/** A port nobody listens on right now (the OS picks it; another process could still take it first). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
