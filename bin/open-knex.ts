/**
 * Opens the knex instance that config.storage describes: the SQLite file through the store's
 * own opener (embedded mode: folder created, same pragmas as the running server) or
 * MySQL/MariaDB through the store's MySQL opener (cluster mode: URL checked, pool, a first ping
 * so that an unreachable server is `unavailable` at once). The caller destroys it.
 *
 * mysql2 is not a dependency of the embedded mode, so it is imported only when asked for, and
 * its absence is a configuration error with the fix in its message rather than a stack trace.
 */

import type { Knex } from 'knex';
import type { TroupeConfig } from '../config/types.js';
import { TroupeError } from '../transport/errors.js';
import { openMysqlStore } from '../transport/store/mysql.js';
import { openSqliteKnex } from '../transport/store/sqlite-open.js';

export async function openKnex(storage: TroupeConfig['storage']): Promise<Knex> {
  if (storage.client === 'sqlite') return openSqliteKnex(storage.filename, { busyTimeoutMs: 5000, walAutocheckpointPages: 1000 });
  await requireMysqlDriver();
  return (await openMysqlStore(storage.url)).knex;
}

async function requireMysqlDriver(): Promise<void> {
  const driver: string = 'mysql2'; // a variable, so that TypeScript does not need the package
  try {
    await import(driver);
  } catch (err) {
    throw new TroupeError(
      'config',
      'config: storage.client is mysql but the mysql2 package is not installed; run `npm install mysql2` or use storage.client sqlite',
      { cause: err },
    );
  }
}
