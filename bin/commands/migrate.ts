/**
 * `troupe migrate`: brings the configured database's schema up to date and says what it did.
 * Safe to run any number of times, and before or while other nodes run (knex takes a
 * migration lock).
 */

import type { TroupeConfig } from '../../config/types.js';
import { migrateLatest } from '../../sql/migrate.js';
import { openKnex } from '../open-knex.js';

/** Resolves with the names of the migrations applied by this run (empty when up to date). */
export async function runMigrate(config: TroupeConfig, out: NodeJS.WritableStream = process.stdout): Promise<string[]> {
  const db = await openKnex(config.storage);
  try {
    const { applied } = await migrateLatest(db);
    const where = config.storage.client === 'sqlite' ? config.storage.filename : 'the MySQL database';
    if (applied.length === 0) out.write(`troupe migrate: ${where} is up to date\n`);
    else out.write(`troupe migrate: applied ${applied.length} migration(s) to ${where}: ${applied.join(', ')}\n`);
    return applied;
  } finally {
    await db.destroy();
  }
}
