/**
 * The Socket.IO peer's MariaDB and Redis: the project's own private test services
 * (bin/services/), started for one launch on free loopback ports in temporary folders, with a
 * database of its own. When the server is pinned, both are pinned to the same CPUs (every
 * thread, `taskset -a`), so the whole peer stack shares the core Troupe gets.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { createConnection } from 'mysql2/promise';
import { startMariadb, type MariadbService } from '../../../bin/services/mariadb.js';
import { startRedis } from '../../../bin/services/redis.js';
import { TroupeError } from '../../../transport/errors.js';
import { createSchema } from './schema.js';
import { openPool } from './db.js';

const run = promisify(execFile);

export interface PeerStores {
  /** The peer's own database, its schema created. */
  readonly mysqlUrl: string;
  readonly redisUrl: string;
  /** mysqld's and redis-server's process ids. */
  readonly pids: readonly number[];
  /** Stops both servers and removes their folders. Idempotent. */
  stop(): Promise<void>;
}

export async function startPeerStores(pinServer: string | undefined, progress: (line: string) => void): Promise<PeerStores> {
  progress('socketio peer: starting MariaDB and Redis');
  const [mariadb, redis] = await Promise.allSettled([startMariadb(), startRedis()]);
  const started = [mariadb, redis].flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= Promise.all(started.map((service) => service.stop())).then(() => undefined);
    return stopping;
  };
  try {
    if (mariadb.status === 'rejected') throw mariadb.reason;
    if (redis.status === 'rejected') throw redis.reason;
    const mysqlUrl = await mariadb.value.createDatabase(`socketio_peer_${randomBytes(5).toString('hex')}`);
    const pool = openPool(mysqlUrl);
    try {
      await createSchema(pool);
    } finally {
      await pool.end();
    }
    const pids = [await mysqldPid(mariadb.value), redis.value.pid];
    if (pinServer !== undefined) for (const pid of pids) await pin(pid, pinServer);
    return { mysqlUrl, redisUrl: redis.value.url, pids, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Pins every thread of `pid` to `cpus`; threads it starts later inherit the mask. */
async function pin(pid: number, cpus: string): Promise<void> {
  try {
    await run('taskset', ['-a', '-p', '-c', cpus, String(pid)]);
  } catch (err) {
    const said = ((err as { stderr?: string }).stderr ?? '').trim().split('\n')[0] || (err as Error).message;
    throw new TroupeError('config', `socketio peer: cannot pin the stores to CPUs ${cpus}: ${said}`);
  }
}

/** mysqld's pid, from the pid file the server names (the service does not expose its child). */
async function mysqldPid(mariadb: MariadbService): Promise<number> {
  const connection = await createConnection(mariadb.url);
  try {
    const [rows] = await connection.query('SELECT @@pid_file AS path');
    const path = (rows as Array<{ path: string }>)[0]?.path;
    const pid = path === undefined ? NaN : Number((await readFile(path, 'utf8')).trim());
    if (!Number.isInteger(pid) || pid <= 0) throw new TroupeError('unavailable', `mysqld's pid file ${path ?? '(none)'} names no process`);
    return pid;
  } finally {
    await connection.end();
  }
}
