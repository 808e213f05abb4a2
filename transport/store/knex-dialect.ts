/**
 * The one place where Troupe's SQL differs between its two databases.
 *
 * Migrations and queries are written with knex's builders so they run unchanged on SQLite
 * (embedded mode) and MySQL/MariaDB (cluster mode). The few spots where the dialects truly
 * differ ask `sqlDialect()` and take their fragment from here, so a reader can see every
 * divergence at once.
 */
import type { Knex } from 'knex';
import { TroupeError } from '../errors.js';

export type SqlDialect = 'sqlite' | 'mysql';

/**
 * Which dialect a knex instance speaks. Uses the client's normalised `dialect` (`sqlite3` for
 * both sqlite3 and better-sqlite3, `mysql` for both mysql and mysql2) rather than the
 * configured client name, which has several spellings.
 */
export function sqlDialect(knex: Knex): SqlDialect {
  const dialect = knex.client.dialect;
  if (dialect === 'sqlite3') return 'sqlite';
  if (dialect === 'mysql') return 'mysql';
  throw new TroupeError('config', `unsupported SQL dialect: ${String(dialect)} (Troupe runs on SQLite or MySQL/MariaDB)`);
}

/**
 * In an upsert (`insert ... on conflict merge`), the expression that keeps the larger of the
 * stored and the inserted value of `column`: SQLite's two-argument `max()` over `excluded`,
 * MySQL's `greatest()` over `values()`.
 */
export function keepGreaterOnUpsert(knex: Knex, column: string): Knex.Raw {
  return sqlDialect(knex) === 'mysql'
    ? knex.raw('greatest(??, values(??))', [column, column])
    : knex.raw('max(??, excluded.??)', [column, column]);
}
