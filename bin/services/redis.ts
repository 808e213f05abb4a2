/**
 * A private Redis server for the specs: Debian's redis-server, started in a fresh temporary
 * folder on a free port of 127.0.0.1, with no persistence (`--save ''`, no AOF), so that tests
 * never touch a system service, /etc or a dump file.
 *
 * `startRedis({ port })` starts a server on a given port: a spec that stops a server and
 * starts another on the same port plays a Redis restart that clients reconnect to. `restart()`
 * restarts one server in place: same port, same folder, same data (`SHUTDOWN SAVE` writes a
 * snapshot even without save points, and the new server loads it). `stop()` kills the server
 * and removes the folder; the server is also killed if the test process exits without calling it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait-for.js';
import { ensurePrograms } from './debian-packages.js';
import { freePort, lastLines, ownUntilServing, stopProcess, type OwnedProcess } from './processes.js';

const PACKAGE = 'redis-server';

export interface RedisService {
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** The server's process id (a spec may SIGSTOP it to play a server that stops answering); a new one after `restart()`. */
  readonly pid: number;
  /**
   * Shuts the server down (saving its data first) and starts it again on the same port and
   * folder, which loads that data; resolves once it serves again.
   */
  restart(): Promise<void>;
  /** Stops the server and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** Listen on this port instead of a free one the kernel picks (to restart a stopped server). */
  port?: number;
}

/** Starts a new server; rejects (after cleaning up) when it cannot be installed or started. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisService> {
  const [bin] = (await ensurePrograms(['redis-server'], [PACKAGE], 'Redis')) as [string];
  const dir = await mkdtemp(join(tmpdir(), 'troupe-redis-'));
  try {
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freePort());
      try {
        return serviceOf(bin, port, dir, await launch(bin, port, dir));
      } catch (err) {
        // Another process may have taken a port we picked between our probe and the server's bind.
        if (options.port === undefined && attempt < 3 && (await serverLog(dir)).includes('Address already in use')) continue;
        throw err;
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

type Running = OwnedProcess;

/** Starts redis-server on `port` with its data in `dir` and waits until it answers; stops it if it does not. */
async function launch(bin: string, port: number, dir: string): Promise<Running> {
  const child = spawn(
    bin,
    [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', 'no',
      '--dir', dir,
      '--daemonize', 'no',
      '--logfile', join(dir, 'redis.log'),
    ],
    { stdio: 'ignore' },
  );
  return ownUntilServing(child, dir, () => waitUntilServing(child, port, dir), 'SIGTERM', 10_000);
}

function serviceOf(bin: string, port: number, dir: string, first: Running): RedisService {
  let current: Running = first;
  let stopped: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid(): number {
      return current.child.pid as number;
    },
    async restart(): Promise<void> {
      if (stopped !== undefined) throw new Error('redis-server was stopped: it cannot be restarted');
      const { child, killOnExit } = current;
      process.removeListener('exit', killOnExit);
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      if (child.exitCode === null && child.signalCode === null) {
        // Saves a snapshot although no save points are configured, then exits.
        await command(port, 'SHUTDOWN SAVE');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      current = await launch(bin, port, dir);
    },
    stop(): Promise<void> {
      stopped ??= (async () => {
        process.removeListener('exit', current.killOnExit);
        await stopProcess(current.child, 'SIGTERM', 10_000);
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/** Sends one inline command over a fresh connection; resolves when the server answers or closes the connection. */
function command(port: number, line: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (): void => {
      socket.destroy();
      resolve();
    };
    socket.setTimeout(5000, done);
    socket.once('error', done);
    socket.once('close', done);
    socket.once('data', done);
    socket.once('connect', () => socket.write(`${line}\r\n`));
  });
}

/** Polls with a PING until the server answers PONG; fails at once if the server exits. */
async function waitUntilServing(child: ChildProcess, port: number, dir: string): Promise<void> {
  await waitFor(
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}) before serving: ${lastLines(await serverLog(dir))}`);
      }
      return ping(port);
    },
    { timeoutMs: 30_000, intervalMs: 20, message: `redis-server on port ${port}` },
  );
}

/** True when a PING over a fresh TCP connection is answered with PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}

async function serverLog(dir: string): Promise<string> {
  return readFile(join(dir, 'redis.log'), 'utf8').catch(() => '');
}

