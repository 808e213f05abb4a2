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

/** How long a node keeps trying while another one migrates (a slow database can take a while). */
const RACE_WAIT_MS = 60_000;
const RACE_PAUSE_MS = 200;

/**
 * Two nodes migrating a fresh database at once: knex creates its bookkeeping tables before it
 * takes its lock, so the slower one fails on a table the other just made, or finds the lock
 * held. Trying again after a pause finds the work done (or the lock free).
 */
function lostRace(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown; message?: unknown };
  return e?.name === 'MigrationLocked' || e?.code === 'ER_TABLE_EXISTS_ERROR' || e?.code === 'ER_DUP_ENTRY' || /already exists/i.test(String(e?.message ?? ''));
}
