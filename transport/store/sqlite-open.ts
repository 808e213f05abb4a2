/**
 * Opens a knex handle on embedded mode's SQLite file with the pragmas every connection to it
 * uses, on whichever thread calls it (the server's reads on the main thread, its writes on the
 * write thread, sqlite-writer.ts).
 *
 * Durability is a product promise, an ack means stored, hence WAL with `synchronous = FULL`:
 * every commit is fsynced. WAL also lets the main thread read while the write thread commits.
 * One connection per handle: better-sqlite3 is synchronous, so a pool would only add lock
 * contention; knex queues calls for it.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import knexFactory, { type Knex } from 'knex';
import { storeError } from './knex-errors.js';

export interface SqliteConnectionOptions {
  /** How long a statement waits for another connection's lock before `unavailable`. */
  busyTimeoutMs: number;
  /**
   * Pages of WAL after which a commit on this connection checkpoints (0: never). The server's
   * connections never do (the checkpoint thread does, sqlite-checkpointer.ts), so that the copy
   * back into the database file never stalls the event loop or a commit.
   */
  walAutocheckpointPages: number;
}

/** Creates the file's folder if needed; rejects with `unavailable` when the file cannot be used. */
export async function openSqliteKnex(filename: string, options: SqliteConnectionOptions): Promise<Knex> {
  if (filename !== ':memory:') {
    try {
      await mkdir(dirname(filename), { recursive: true });
    } catch (err) {
      throw storeError('openSqliteStore', err);
    }
  }
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      afterCreate(db: BetterSqlite3.Database, done: (err: unknown, db: BetterSqlite3.Database) => void) {
        try {
          db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
          db.pragma('journal_mode = WAL');
          db.pragma('synchronous = FULL');
          db.pragma('foreign_keys = ON');
          db.pragma(`wal_autocheckpoint = ${Math.trunc(options.walAutocheckpointPages)}`);
          // A WAL started over keeps its file's size; this gives back all but 64 MiB of it.
          db.pragma('journal_size_limit = 67108864');
          done(null, db);
        } catch (err) {
          db.close();
          done(err, db);
        }
      },
    },
  });
  try {
    await knex.raw('select 1');
  } catch (err) {
    await knex.destroy().catch(() => undefined);
    throw storeError('openSqliteStore', err);
  }
  return knex;
}
