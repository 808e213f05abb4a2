/**
 * Applies Troupe's schema migrations (the modules of this folder) to a database.
 *
 * The migrations are imported statically and handed to knex's migrator through a custom
 * migration source, instead of letting knex scan a directory: the same code then works from
 * the TypeScript sources (tsx) and from the compiled dist/ JavaScript, and the names recorded
 * in `knex_migrations` carry no file extension, so both agree on what has been applied.
 * A new migration is a new module here plus one line in MIGRATIONS, in order.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import { storeError } from '../transport/store/knex-errors.js';
import * as init from './20261127000001_init.js';

interface MigrationModule {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

interface NamedMigration {
  name: string;
  module: MigrationModule;
}

/** Every migration, oldest first. Names are permanent once released. */
const MIGRATIONS: readonly NamedMigration[] = [
  { name: '20261127000001_init', module: init },
];

class StaticMigrationSource implements Knex.MigrationSource<NamedMigration> {
  async getMigrations(): Promise<NamedMigration[]> {
    return [...MIGRATIONS];
  }

  getMigrationName(migration: NamedMigration): string {
    return migration.name;
  }

  async getMigration(migration: NamedMigration): Promise<Knex.Migration> {
    return migration.module;
  }
}

/** The table where knex records applied migrations (and its lock table, with `_lock`). */
export const MIGRATIONS_TABLE = 'knex_migrations';

/**
 * Brings the schema up to date. Idempotent: `applied` lists the migrations this call ran
 * (empty when the schema was already current). Each migration runs in a transaction where
 * the database allows (MySQL commits DDL implicitly). Failures are TroupeErrors:
 * `unavailable` when the database cannot be reached.
 */
export async function migrateLatest(knex: Knex): Promise<{ applied: string[] }> {
  const giveUpAt = Date.now() + RACE_WAIT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      await prepareBookkeeping(knex);
      const [, applied] = (await knex.migrate.latest({
        migrationSource: new StaticMigrationSource(),
        tableName: MIGRATIONS_TABLE,
      })) as [number, string[]];
      return { applied };
    } catch (err) {
      if (Date.now() < giveUpAt && lostRace(err)) {
        await sleep(Math.min(RACE_PAUSE_MS * attempt, 1000));
        continue;
      }
      throw storeError('migrateLatest', err);
    }
  }
}

/** knex's lock table: one row, whose `is_locked` a migrating node flips from 0 to 1. */
const LOCK_TABLE = `${MIGRATIONS_TABLE}_lock`;
const LOCK_ROW = 1;

/**
 * Creates knex's bookkeeping tables (the same columns knex would make) and the lock table's
 * single row, in a way several nodes can do at once. knex does this itself, but it inserts
 * the lock row after checking the table is empty: two nodes on a fresh database can both
 * insert one, and with two rows knex's lock (an update that must touch exactly one row) can
 * never be taken, so every node would wait and then fail. Here the row has a fixed key and
 * is inserted with "ignore on conflict"; rows an earlier race left beside it are removed
 * (a lock held on them could never have been taken, so none is in use).
 */
async function prepareBookkeeping(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable(MIGRATIONS_TABLE))) {
    await ignoreExisting(
      knex.schema.createTable(MIGRATIONS_TABLE, (t) => {
        t.increments();
        t.string('name');
        t.integer('batch');
        t.timestamp('migration_time');
      }),
    );
  }
  if (!(await knex.schema.hasTable(LOCK_TABLE))) {
    await ignoreExisting(
      knex.schema.createTable(LOCK_TABLE, (t) => {
        t.increments('index').primary();
        t.integer('is_locked');
      }),
    );
  }
  await knex(LOCK_TABLE).insert({ index: LOCK_ROW, is_locked: 0 }).onConflict('index').ignore();
  await knex(LOCK_TABLE).whereNot('index', LOCK_ROW).delete();
}

/** Runs a CREATE TABLE, treating "another node created it first" as done. */
async function ignoreExisting(create: Knex.SchemaBuilder): Promise<void> {
  try {
    await create;
  } catch (err) {
    if (!isTableExists(err)) throw err;
  }
}

function isTableExists(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e?.code === 'ER_TABLE_EXISTS_ERROR' || /already exists/i.test(String(e?.message ?? ''));
}

/** How long a node keeps trying while another one migrates (a slow database can take a while). */
const RACE_WAIT_MS = 60_000;
const RACE_PAUSE_MS = 200;

/**
 * Two nodes migrating a fresh database at once: the slower one finds the lock held while the
 * other migrates, or trips over a table or row the other just made. Trying again after a pause
 * finds the work done (or the lock free).
 */
function lostRace(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown; message?: unknown };
  return e?.name === 'MigrationLocked' || e?.code === 'ER_DUP_ENTRY' || isTableExists(err);
}
