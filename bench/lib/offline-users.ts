/**
 * Offline users for a large group (`group --members`), written straight into the storage of a
 * Troupe this run started: the embedded server's SQLite file, beside the running server (WAL lets
 * another connection write while it serves; the insert waits its turn for the write lock), or a
 * cluster's MySQL database. Registering tens of thousands of users through the API would spend
 * hours hashing passwords and measure nothing the benchmark reports. Each row is what
 * registration writes, with a placeholder for the password hash: nobody logs in as these users.
 * The group holding them is written the same way, over the same connection (writeOfflineGroup).
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

type Database = { knex: Knex; close(): Promise<void> };

/**
 * Writes `count` users named `<prefix>_o<i>` into `storage`, INSERT_ROWS to a transaction, and
 * returns their ids in order. Reports every 10,000 rows and at the end.
 */
export async function writeOfflineUsers(storage: TargetStorage, prefix: string, count: number, progress: (line: string) => void): Promise<string[]> {
  if (count === 0) return [];
  const database = await openDatabase(storage);
  try {
    return await insertUsers(database, storage, prefix, count, progress);
  } finally {
    await database.close();
  }
}

/**
 * Writes `offlineCount` offline users (as writeOfflineUsers) and then the group holding them and
 * `onlineIds`, owned by the first online member, over one connection; returns the offline ids.
 * The group goes in whole, the conversation row and every member, as `Store.createGroup` writes
 * it. Adding 80,000 members through the API, 1,000 a request, would make each request push a
 * `conversation` frame and 1,000 `member` frames to every member: the task pool would sweep the
 * group's presence twice per request (160 sweeps of up to 100,000 lookups), minutes of work still
 * draining when the sockets open. Nothing has loaded the group yet, so the server reads it from
 * storage on first use like any other.
 */
export async function writeOfflineGroup(
  storage: TargetStorage,
  group: { id: string; name: string; prefix: string; offlineCount: number; onlineIds: readonly string[] },
  progress: (line: string) => void,
): Promise<string[]> {
  const database = await openDatabase(storage);
  try {
    const offline = await insertUsers(database, storage, group.prefix, group.offlineCount, progress);
    const memberIds = [...group.onlineIds, ...offline];
    await new KnexStore(database.knex).createGroup(
      { id: group.id, type: 'group', name: group.name, ownerId: memberIds[0]!, lastSeq: 0, memberCount: memberIds.length, createdAt: Date.now() },
      memberIds,
    );
    return offline;
  } finally {
    await database.close();
  }
}

async function insertUsers(database: Database, storage: TargetStorage, prefix: string, count: number, progress: (line: string) => void): Promise<string[]> {
  const ids = Array.from({ length: count }, () => newId('u'));
  const started = Date.now();
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
  return ids;
}

async function openDatabase(storage: TargetStorage): Promise<Database> {
  if (storage.kind === 'mysql') {
    const { store, knex } = await openMysqlStore(storage.url, { poolMax: 1 });
    return { knex, close: () => store.close() };
  }
  // This connection never checkpoints: the server's checkpoint thread does (transport/store/sqlite.ts).
  const knex = await openSqliteKnex(storage.filename, { busyTimeoutMs: SQLITE_BUSY_TIMEOUT_MS, walAutocheckpointPages: 0 });
  return { knex, close: () => knex.destroy() };
}
