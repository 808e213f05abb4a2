/**
 * A private Redis server for the specs: Debian's redis-server, started in a fresh temporary
 * folder on a free port of 127.0.0.1, with no persistence (`--save ''`, no AOF), so that tests
 * never touch a system service, /etc or a dump file.
 *
 * `startRedis({ port })` starts a server on a given port: a spec that stops a server and
 * starts another on the same port plays a Redis restart that clients reconnect to. `stop()`
 * kills the server and removes the folder; the server is also killed if the test process exits
 * without calling it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { constants, rmSync } from 'node:fs';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../support/wait-for.js';

const run = promisify(execFile);

const PACKAGE = 'redis-server';

export interface RedisService {
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** The server's process id (a spec may SIGSTOP it to play a server that stops answering). */
  pid: number;
  /** Stops the server and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** Listen on this port instead of a free one the kernel picks (to restart a stopped server). */
  port?: number;
}

/** Starts a new server; rejects (after cleaning up) when it cannot be installed or started. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisService> {
  const bin = await ensureInstalled();
  const dir = await mkdtemp(join(tmpdir(), 'troupe-redis-'));
  try {
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freePort());
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
      const killOnExit = (): void => {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      };
      process.once('exit', killOnExit);
      try {
        await waitUntilServing(child, port, dir);
      } catch (err) {
        process.removeListener('exit', killOnExit);
        await stopProcess(child);
        // Another process may have taken a port we picked between our probe and the server's bind.
        if (options.port === undefined && attempt < 3 && (await serverLog(dir)).includes('Address already in use')) continue;
        throw err;
      }
      return serviceOf(child, port, dir, killOnExit);
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function serviceOf(child: ChildProcess, port: number, dir: string, killOnExit: () => void): RedisService {
  let stopped: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid as number,
    stop(): Promise<void> {
      stopped ??= (async () => {
        process.removeListener('exit', killOnExit);
        await stopProcess(child);
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/** Finds redis-server; installs the package when missing and running as root, else says what to install. */
async function ensureInstalled(): Promise<string> {
  const found = await which('redis-server');
  if (found !== null) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(`Redis is not installed: install the Debian package ${PACKAGE} (apt-get install ${PACKAGE}) to run these specs`);
  }
  const install = (): Promise<unknown> =>
    run('apt-get', ['install', '-y', '-o', 'DPkg::Lock::Timeout=300', PACKAGE], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      maxBuffer: 64 * 1024 * 1024,
    });
  try {
    await install();
  } catch {
    await run('apt-get', ['update'], { maxBuffer: 64 * 1024 * 1024 });
    await install();
  }
  const installed = await which('redis-server');
  if (installed === null) throw new Error(`redis-server not found after installing ${PACKAGE}`);
  return installed;
}

/** Looks in PATH and in the sbin folders, which a non-root PATH often lacks. */
async function which(name: string): Promise<string | null> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** A port nobody listens on right now (the kernel picks it for a socket we close at once). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
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

function lastLines(log: string): string {
  return log.trim().split('\n').slice(-5).join(' | ');
}

/** SIGTERM (Redis exits at once without persistence), SIGKILL if it takes more than 10 s. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGCONT'); // in case a spec paused it: a stopped process does not act on SIGTERM
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
