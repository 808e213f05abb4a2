/**
 * The Kafka of the specs: librdkafka's mock cluster, a Kafka wire-protocol broker that runs inside
 * the small C program spec/kafka-mock/launcher.c (docs/architecture.md).
 *
 * The launcher is compiled once per machine against Debian's librdkafka-dev and cached under
 * node_modules/.cache/troupe/, keyed by a hash of its source, so an edited launcher is rebuilt.
 * The mock keeps everything in memory and listens on ports of 127.0.0.1 that the kernel picks,
 * so it needs no folder and no port of ours; it serves once its bootstrap line is printed and
 * every broker accepts a connection.
 *
 * `command(line)` drives faults (`down 2`, `up 2`, `leader <topic> <p> <broker>`); `createTopic`
 * pre-creates a topic (the mock refuses the admin API's CreateTopics). `stop()` ends the process;
 * it is also killed if the test process exits without calling it.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { packageRoot } from '../package-root.js';
import { installDebianPackages } from './debian-packages.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);

const PACKAGE = 'librdkafka-dev';
const HEADER = '/usr/include/librdkafka/rdkafka_mock.h';
// From bin/services (sources) or dist/bin/services (built): the package root holds spec/.
const ROOT = packageRoot(dirname(fileURLToPath(import.meta.url)));
const SOURCE = join(ROOT, 'spec/kafka-mock/launcher.c');
const CACHE = join(ROOT, 'node_modules/.cache/troupe');

export interface KafkaMockOptions {
  /** 1 or 3. Default 1. */
  brokers?: 1 | 3;
  /** Topics created before the bootstrap address is printed. */
  topics?: { topic: string; partitions: number }[];
}

export interface KafkaMock {
  /** `host:port` of every broker, broker 1 first. */
  brokers: string[];
  /** Sends one launcher command; rejects with the launcher's error text. */
  command(line: string): Promise<void>;
  createTopic(topic: string, partitions: number): Promise<void>;
  /** Destroys the cluster and ends the process. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts a new mock cluster; rejects (after cleaning up) when it cannot be built or started. */
export async function startKafkaMock(options: KafkaMockOptions = {}): Promise<KafkaMock> {
  const binary = await launcherBinary();
  const args = [String(options.brokers ?? 1), ...(options.topics ?? []).map((t) => `${t.topic}:${t.partitions}`)];
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stderr = '';
  child.on('error', (err) => {
    stderr += ` ${err.message}`; // e.g. the binary cannot be run; stdout then closes at once
  });
  child.stdin.on('error', () => {}); // writes after the launcher died: its answers report that
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const lines = new LineReader(child);
  try {
    const first = await lines.next();
    const match = /^bootstrap (\S+)$/.exec(first ?? '');
    if (match === null) {
      throw new Error(`kafka mock launcher did not print its bootstrap address (got ${JSON.stringify(first)}): ${stderr.trim()}`);
    }
    const brokers = match[1]!.split(',');
    await waitUntilListening(child, brokers);
    return serviceOf(child, brokers, lines, killOnExit);
  } catch (err) {
    process.removeListener('exit', killOnExit);
    child.kill('SIGKILL');
    throw err;
  }
}

function serviceOf(
  child: ChildProcessWithoutNullStreams,
  brokers: string[],
  lines: LineReader,
  killOnExit: () => void,
): KafkaMock {
  // One command at a time: each answer line belongs to the oldest command still waiting.
  let queue: Promise<unknown> = Promise.resolve();
  let stopped: Promise<void> | undefined;
  const command = (line: string): Promise<void> => {
    if (stopped !== undefined) return Promise.reject(new Error('kafka mock is stopped'));
    if (/[\r\n]/.test(line)) return Promise.reject(new Error('a kafka mock command is one line'));
    const result = queue.then(async () => {
      child.stdin.write(`${line}\n`);
      const answer = await lines.next();
      if (answer === 'ok') return;
      throw new Error(`kafka mock: ${line}: ${answer === null ? 'the launcher exited' : answer}`);
    });
    queue = result.catch(() => undefined);
    return result;
  };
  return {
    brokers,
    command,
    createTopic: (topic, partitions) => command(`create ${topic} ${partitions}`),
    stop(): Promise<void> {
      stopped ??= (async () => {
        process.removeListener('exit', killOnExit);
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((done) => child.once('exit', () => done()));
        child.stdin.end(); // end of input: the launcher destroys the cluster and exits
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopped;
    },
  };
}

/** Polls a TCP connection to every broker until each accepts one; fails at once if the launcher exits. */
async function waitUntilListening(child: ChildProcessWithoutNullStreams, brokers: string[]): Promise<void> {
  for (const broker of brokers) {
    const [host, port] = [broker.slice(0, broker.lastIndexOf(':')), Number(broker.slice(broker.lastIndexOf(':') + 1))];
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error('the kafka mock launcher exited');
        return accepts(host, port);
      },
      { timeoutMs: 10_000, intervalMs: 20, message: `kafka mock broker ${broker}` },
    );
  }
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean): void => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => finish(true));
  });
}

/** Hands out stdout lines one by one; `null` once the process has closed its stdout. */
class LineReader {
  private readonly buffered: string[] = [];
  private readonly waiting: ((line: string | null) => void)[] = [];
  private closed = false;

  constructor(child: ChildProcessWithoutNullStreams) {
    const reader = createInterface({ input: child.stdout });
    reader.on('line', (line) => {
      const waiter = this.waiting.shift();
      if (waiter !== undefined) waiter(line);
      else this.buffered.push(line);
    });
    reader.on('close', () => {
      this.closed = true;
      for (const waiter of this.waiting.splice(0)) waiter(null);
    });
  }

  next(): Promise<string | null> {
    const line = this.buffered.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.closed) return Promise.resolve(null);
    return new Promise((done) => this.waiting.push(done));
  }
}

/** The compiled launcher, built on first use (installing librdkafka-dev when missing and root). */
async function launcherBinary(): Promise<string> {
  const source = await readFile(SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const binary = join(CACHE, `kafka-mock-launcher-${hash}`);
  if (await exists(binary, constants.X_OK)) return binary;
  await ensureInstalled();
  await mkdir(CACHE, { recursive: true });
  // Built under a private name and renamed, so parallel runs never execute a half-written file.
  const partial = `${binary}.${process.pid}.partial`;
  try {
    await run('gcc', ['-std=c99', '-Wall', '-Wextra', '-O1', '-o', partial, SOURCE, '-lrdkafka']);
    await rename(partial, binary);
  } catch (err) {
    await rm(partial, { force: true });
    const detail = (err as { stderr?: string }).stderr ?? String(err);
    throw new Error(`could not build the kafka mock launcher: ${detail.trim()}`);
  }
  return binary;
}

/** The mock's header and a C compiler; installed when missing and running as root, else named. */
async function ensureInstalled(): Promise<void> {
  const missing = async (): Promise<string[]> => [
    ...((await exists(HEADER, constants.R_OK)) ? [] : [PACKAGE]),
    ...((await hasCompiler()) ? [] : ['gcc']),
  ];
  const packages = await missing();
  if (packages.length === 0) return;
  await installDebianPackages(packages, 'the Kafka mock');
  const still = await missing();
  if (still.length > 0) throw new Error(`still missing after apt-get install: ${still.join(' ')}`);
}

async function hasCompiler(): Promise<boolean> {
  try {
    await run('gcc', ['--version']);
    return true;
  } catch {
    return false;
  }
}

async function exists(path: string, mode: number): Promise<boolean> {
  try {
    await access(path, mode);
    return true;
  } catch {
    return false;
  }
}

/** Kept here for the specs' imports: the client itself lives with the Kafka log. */
export { kafkaClientWithControllerFallback as kafkaClientForMock } from '../../transport/log/kafka-controller-fallback.js';
