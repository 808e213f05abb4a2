/**
 * Opens the storage port on MySQL/MariaDB (cluster mode) through knex and mysql2.
 *
 * The store itself is the portable KnexStore; only the connection is chosen here. Times and
 * seqs are BIGINT milliseconds and counters far below 2^53, so mysql2 hands them back as plain
 * numbers (no big-number strings), and no DATE columns exist, so time zones play no part.
 */
import knexFactory, { type Knex } from 'knex';
import { TroupeError } from '../errors.js';
import { KnexStore } from './knex.js';

export interface MysqlStoreOptions {
  /** Most connections held open at once. Default 10. */
  poolMax?: number;
  /** How long opening one connection may take before `unavailable`. Default 10000. */
  connectTimeoutMs?: number;
  /** How long a call waits for a free pooled connection before `unavailable`. Default 10000. */
  acquireTimeoutMs?: number;
  /**
   * Where knex's warnings go (a lost connection, a failed connect: each also reaches the caller
   * as `unavailable`, so they are dropped by default rather than printed on the console).
   */
  onWarning?: (message: string) => void;
}

const EXAMPLE_URL = 'mysql://user:password@host:3306/troupe';

/**
 * Checks that `url` is a mysql:// (or mariadb://) URL naming a database; `config` otherwise.
 * The message never repeats the URL, which may carry a password.
 */
function checkMysqlUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new TroupeError('config', `storage.url is not a URL; expected e.g. ${EXAMPLE_URL}`, { cause: err });
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') {
    throw new TroupeError('config', `storage.url must start with mysql:// (got ${parsed.protocol}//), e.g. ${EXAMPLE_URL}`);
  }
  if (parsed.hostname === '') throw new TroupeError('config', `storage.url names no host, e.g. ${EXAMPLE_URL}`);
  if (parsed.pathname.length <= 1) throw new TroupeError('config', `storage.url names no database, e.g. ${EXAMPLE_URL}`);
}

/**
 * Connects to the database of `url` (mysql://user:password@host:port/database; query
 * parameters are passed to mysql2 as connection options) and checks it answers. Rejects with
 * `config` for a malformed URL and `unavailable` (retriable) when the server cannot be reached.
 * The pool opens connections on demand (min 0), so a restarted server costs only the calls in
 * flight. The schema is not migrated here: call `migrateLatest(knex)` (sql/migrate.ts).
 */
export async function openMysqlStore(url: string, options: MysqlStoreOptions = {}): Promise<{ store: KnexStore; knex: Knex }> {
  checkMysqlUrl(url);
  const connection: Knex.MySql2ConnectionConfig & { uri: string } = {
    // mysql2 reads the URL itself, its query parameters overriding the options below.
    uri: url,
    supportBigNumbers: false,
    bigNumberStrings: false,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    // The append's usual two round trips (mysql-append.ts). Values always go through placeholders.
    multipleStatements: true,
  };
  const knex = knexFactory({
    client: 'mysql2',
    connection,
    pool: { min: 0, max: options.poolMax ?? 10 },
    acquireConnectionTimeout: options.acquireTimeoutMs ?? 10_000,
    log: { warn: options.onWarning ?? (() => undefined) },
  });
  const store = new KnexStore(knex);
  try {
    await store.ping();
  } catch (err) {
    await store.close();
    throw err;
  }
  return { store, knex };
}
