/**
 * A private MariaDB server for the specs: Debian's mariadb-server, started in a fresh temporary
 * folder on a free port of 127.0.0.1, so that tests never touch a system service or /etc.
 *
 * Root logs in over TCP without a password (`--auth-root-authentication-method=normal` at
 * install time). Databases are made by `createDatabase`, with the binary collation the
 * migrations use, so each spec file (or run) gets its own. `restart()` shuts the server down
 * cleanly and starts it again on the same port and data folder (a database restart under
 * clients). `stop()` kills the server and removes the folder; the server is also killed if the
 * test process exits without calling it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createConnection } from 'mysql2/promise';
import { waitFor } from './wait-for.js';
import { ensurePrograms } from './debian-packages.js';
import { freePort, lastLines, ownUntilServing, stopProcess, type OwnedProcess } from './processes.js';

const run = promisify(execFile);

const PACKAGE = 'mariadb-server';

export interface MariadbService {
  /** `mysql://root@127.0.0.1:<port>/`: the server, no database chosen. */
  url: string;
  /** Creates the database (utf8mb4, binary collation) and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Shuts the server down cleanly and starts it again on the same port and data; resolves once it serves again. */
  restart(): Promise<void>;
  /** Stops the server and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts a new server; rejects (after cleaning up) when it cannot be installed or started. */
export async function startMariadb(): Promise<MariadbService> {
  const [installDb, server] = (await ensurePrograms(['mariadb-install-db', 'mariadbd'], [PACKAGE], 'MariaDB')) as [string, string];
  const bin = { installDb, server };
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
      const start = (): Promise<Running> => launch(bin.server, port, dir, user);
      try {
        return serviceOf(port, dir, start, await start());
      } catch (err) {
        // Another process may have taken the port between our probe and the server's bind.
        if (attempt < 3 && (await errorLog(dir)).includes('Address already in use')) continue;
        throw err;
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

type Running = OwnedProcess;

/** Starts mariadbd on `dir`/my and `port` and waits until root can log in; stops it if it does not. */
async function launch(server: string, port: number, dir: string, user: string[]): Promise<Running> {
  const child = spawn(
    server,
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
  // A child that never serves gets a clean InnoDB shutdown.
  return ownUntilServing(child, dir, () => waitUntilServing(child, port, dir), 'SIGTERM', 30_000);
}

function serviceOf(port: number, dir: string, start: () => Promise<Running>, first: Running): MariadbService {
  const url = `mysql://root@127.0.0.1:${port}/`;
  let current: Running = first;
  let stopped: Promise<void> | undefined;
  const shutDown = async (): Promise<void> => {
    process.removeListener('exit', current.killOnExit);
    await stopProcess(current.child, 'SIGTERM', 30_000); // a clean InnoDB shutdown
  };
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
    async restart(): Promise<void> {
      if (stopped !== undefined) throw new Error('mariadbd was stopped: it cannot be restarted');
      await shutDown();
      current = await start();
    },
    stop(): Promise<void> {
      stopped ??= (async () => {
        await shutDown();
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
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

