/**
 * Offline users for a large group (`group --members`), written straight into the storage of a
 * Troupe this run started: the embedded server's SQLite file, beside the running server (WAL lets
 * another connection write while it serves; the insert waits its turn for the write lock), or a
 * cluster's MySQL database. Registering tens of thousands of users through the API would spend
 * hours hashing passwords and measure nothing the benchmark reports. Each row is what
 * registration writes, with a placeholder for the password hash: nobody logs in as these users.
 * The group holding them is written the same way (writeGroup).
 */
import type { Knex } from 'knex';
import { newId } from '../../actors/ids.js';
import { KnexStore } from '../../transport/store/knex.js';
import { openMysqlStore } from '../../transport/store/mysql.js';
import { openSqliteKnex } from '../../transport/store/sqlite-open.js';
import type { TargetStorage } from './running-target.js';

/** Users per transaction. */
export const INSERT_ROWS = 1000;
/**
 * Users per insert statement: knex writes a multi-row insert on SQLite as a compound SELECT,
 * which SQLite limits to 500 terms; on MySQL the whole transaction is one statement.
 */
const STATEMENT_ROWS = { sqlite: 500, mysql: INSERT_ROWS } as const;
/** Rows between progress lines. */
const PROGRESS_EVERY = 10_000;
/** How long an insert waits for the server's write lock on the SQLite file. */
const SQLITE_BUSY_TIMEOUT_MS = 30_000;

/** The username of offline user i of a scenario; online users are `<prefix>_<i>` (bench/lib/population.ts). */
export function offlineUsername(prefix: string, i: number): string {
  return `${prefix}_o${i}`;
}

/**
 * Writes `count` users named `<prefix>_o<i>` into `storage`, INSERT_ROWS to a transaction, and
 * returns their ids in order. Reports every 10,000 rows and at the end.
 */
export async function writeOfflineUsers(storage: TargetStorage, prefix: string, count: number, progress: (line: string) => void): Promise<string[]> {
  const ids = Array.from({ length: count }, () => newId('u'));
  if (count === 0) return ids;
  const database = await openDatabase(storage);
  const started = Date.now();
  try {
    for (let i = 0; i < count; i += INSERT_ROWS) {
      const createdAt = Date.now();
      const rows = ids.slice(i, i + INSERT_ROWS).map((id, j) => ({
        id, username: offlineUsername(prefix, i + j), display_name: `offline ${i + j}`, password_hash: 'x', created_at: createdAt,
      }));
      try {
        await database.knex.batchInsert('users', rows, STATEMENT_ROWS[storage.kind]);
      } catch (err) {
        // knex puts the whole statement (a thousand rows) in front of the database's reason.
        const reason = (err as Error).message.split(' - ').at(-1);
        throw new Error(`writing offline users ${i}-${i + rows.length - 1} into ${storage.kind === 'sqlite' ? 'the SQLite file' : 'MySQL'} failed: ${reason}`, { cause: err });
      }
      const done = i + rows.length;
      if (done % PROGRESS_EVERY === 0 || done === count) progress(`  wrote ${done}/${count} offline users to ${storage.kind === 'sqlite' ? 'the SQLite file' : 'MySQL'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
  } finally {
    await database.close();
  }
  return ids;
}

/**
 * Writes a whole group straight into `storage`: the conversation row and every member, the owner
 * first, as `Store.createGroup` writes it. Adding 80,000 members through the API, 1,000 a request,
 * would make each request push a `conversation` frame and 1,000 `member` frames to every member:
 * the task pool would sweep the group's presence twice per request (160 sweeps of up to 100,000
 * lookups), minutes of work still draining when the sockets open. Nothing has loaded the group
 * yet, so the server reads it from storage on first use like any other.
 */
export async function writeGroup(storage: TargetStorage, group: { id: string; name: string; ownerId: string; memberIds: readonly string[] }): Promise<void> {
  const database = await openDatabase(storage);
  try {
    await new KnexStore(database.knex).createGroup(
      { id: group.id, type: 'group', name: group.name, ownerId: group.ownerId, lastSeq: 0, memberCount: group.memberIds.length, createdAt: Date.now() },
      group.memberIds,
    );
  } finally {
    await database.close();
  }
}

async function openDatabase(storage: TargetStorage): Promise<{ knex: Knex; close(): Promise<void> }> {
  if (storage.kind === 'mysql') {
    const { store, knex } = await openMysqlStore(storage.url, { poolMax: 1 });
    return { knex, close: () => store.close() };
  }
  // This connection never checkpoints: the server's checkpoint thread does (transport/store/sqlite.ts).
  const knex = await openSqliteKnex(storage.filename, { busyTimeoutMs: SQLITE_BUSY_TIMEOUT_MS, walAutocheckpointPages: 0 });
  return { knex, close: () => knex.destroy() };
}
