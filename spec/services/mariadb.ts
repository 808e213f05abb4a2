/**
 * A private MariaDB server for the specs: Debian's mariadb-server, started in a fresh temporary
 * folder on a free port of 127.0.0.1, so that tests never touch a system service or /etc.
 *
 * Root logs in over TCP without a password (`--auth-root-authentication-method=normal` at
 * install time). Databases are made by `createDatabase`, with the binary collation the
 * migrations use, so each spec file (or run) gets its own. `stop()` kills the server and
 * removes the folder; the server is also killed if the test process exits without calling it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { constants, rmSync } from 'node:fs';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { createConnection } from 'mysql2/promise';
import { waitFor } from '../support/wait-for.js';

const run = promisify(execFile);

const PACKAGE = 'mariadb-server';

export interface MariadbService {
  /** `mysql://root@127.0.0.1:<port>/`: the server, no database chosen. */
  url: string;
  /** Creates the database (utf8mb4, binary collation) and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts a new server; rejects (after cleaning up) when it cannot be installed or started. */
export async function startMariadb(): Promise<MariadbService> {
  const bin = await ensureInstalled();
  const dir = await mkdtemp(join(tmpdir(), 'troupe-mariadb-'));
  const asRoot = process.getuid?.() === 0;
  try {
    // mariadbd refuses to run as root without --user=root; as another user it runs as itself.
    const user = asRoot ? ['--user=root'] : [];
    await run(bin.installDb, [
      '--no-defaults',
      `--datadir=${join(dir, 'my')}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...user,
    ]);
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const child = spawn(
        bin.server,
        [
          '--no-defaults',
          `--datadir=${join(dir, 'my')}`,
          `--port=${port}`,
          `--socket=${join(dir, 'my.sock')}`,
          `--pid-file=${join(dir, 'my.pid')}`,
          `--log-error=${join(dir, 'my.err')}`,
          '--bind-address=127.0.0.1',
          '--skip-name-resolve',
          '--innodb-buffer-pool-dump-at-shutdown=0',
          '--innodb-buffer-pool-load-at-startup=0',
          ...user,
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
        // Another process may have taken the port between our probe and the server's bind.
        if (attempt < 3 && (await errorLog(dir)).includes('Address already in use')) continue;
        throw err;
      }
      return serviceOf(child, port, dir, killOnExit);
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function serviceOf(child: ChildProcess, port: number, dir: string, killOnExit: () => void): MariadbService {
  const url = `mysql://root@127.0.0.1:${port}/`;
  let stopped: Promise<void> | undefined;
  return {
    url,
    async createDatabase(name: string): Promise<string> {
      if (!/^[A-Za-z0-9_]{1,64}$/.test(name)) throw new Error(`createDatabase: ${name} is not a plain database name`);
      const connection = await createConnection({ host: '127.0.0.1', port, user: 'root' });
      try {
        await connection.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      } finally {
        await connection.end();
      }
      return `${url}${name}`;
    },
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

interface Binaries {
  installDb: string;
  server: string;
}

/** Finds the binaries; installs the package when missing and running as root, else says what to install. */
async function ensureInstalled(): Promise<Binaries> {
  const found = await findBinaries();
  if (found !== null) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(`MariaDB is not installed: install the Debian package ${PACKAGE} (apt-get install ${PACKAGE}) to run these specs`);
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
  const installed = await findBinaries();
  if (installed === null) throw new Error(`MariaDB binaries not found after installing ${PACKAGE}`);
  return installed;
}

/** Looks in PATH and in the sbin folders, which a non-root PATH often lacks. */
async function findBinaries(): Promise<Binaries | null> {
  const installDb = await which('mariadb-install-db');
  const server = await which('mariadbd');
  return installDb !== null && server !== null ? { installDb, server } : null;
}

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

/** Polls with a login as root until the server answers; fails at once if the server exits. */
async function waitUntilServing(child: ChildProcess, port: number, dir: string): Promise<void> {
  await waitFor(
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`mariadbd exited (${child.exitCode ?? child.signalCode}) before serving: ${lastLines(await errorLog(dir))}`);
      }
      try {
        const connection = await createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 1000 });
        await connection.end();
        return true;
      } catch {
        return false;
      }
    },
    { timeoutMs: 60_000, intervalMs: 50, message: `mariadbd on port ${port}` },
  );
}

async function errorLog(dir: string): Promise<string> {
  return readFile(join(dir, 'my.err'), 'utf8').catch(() => '');
}

function lastLines(log: string): string {
  return log.trim().split('\n').slice(-5).join(' | ');
}

/** SIGTERM (a clean InnoDB shutdown), SIGKILL if it takes more than 30 s. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}
