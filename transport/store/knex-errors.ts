/**
 * Turns what knex and the database drivers throw into TroupeErrors with the codes the store
 * port promises: unique violations are `conflict`, references to missing rows `not_found`,
 * and anything meaning "the database cannot serve right now" (unreachable, restarting, locked,
 * deadlocked, pool exhausted) `unavailable`, which callers may retry. Everything else is
 * `internal`. Codes from both drivers are listed here, so the store itself never looks at
 * driver errors.
 */
import { TroupeError } from '../errors.js';

/** better-sqlite3 and mysql2 error codes (mysql2 also sets `errno`). */
const UNIQUE_VIOLATION = new Set(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY', 'ER_DUP_ENTRY']);

const MISSING_REFERENCE = new Set(['SQLITE_CONSTRAINT_FOREIGNKEY', 'ER_NO_REFERENCED_ROW', 'ER_NO_REFERENCED_ROW_2']);

const UNAVAILABLE = new Set([
  // SQLite: another connection holds the lock past busy_timeout, or the file cannot be used.
  'SQLITE_BUSY', 'SQLITE_BUSY_RECOVERY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_TIMEOUT',
  'SQLITE_LOCKED', 'SQLITE_LOCKED_SHAREDCACHE', 'SQLITE_CANTOPEN', 'SQLITE_FULL',
  // Network and protocol failures (mysql2).
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH',
  'ENETUNREACH', 'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT',
  // MySQL/MariaDB: transient server states; a retry of the whole transaction may succeed.
  'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN',
  'ER_OPTION_PREVENTS_STATEMENT', 'ER_CONNECTION_KILLED', 'ER_QUERY_INTERRUPTED',
]);

interface DriverError {
  code?: unknown;
  errno?: unknown;
  fatal?: unknown;
  name?: unknown;
}

function codeOf(err: DriverError): string {
  return typeof err.code === 'string' ? err.code : '';
}

/** Maps an error thrown while the store ran `op` (a method name, for the message). */
export function storeError(op: string, err: unknown): TroupeError {
  if (err instanceof TroupeError) return err;
  const driver: DriverError = typeof err === 'object' && err !== null ? (err as DriverError) : {};
  const code = codeOf(driver);
  if (UNIQUE_VIOLATION.has(code) || driver.errno === 1062) {
    return new TroupeError('conflict', `${op}: a unique key is already taken`, { cause: err });
  }
  if (MISSING_REFERENCE.has(code) || driver.errno === 1452) {
    return new TroupeError('not_found', `${op}: refers to a row that does not exist`, { cause: err });
  }
  if (
    UNAVAILABLE.has(code) ||
    code.startsWith('SQLITE_IOERR') ||
    driver.fatal === true ||
    driver.name === 'KnexTimeoutError'
  ) {
    return new TroupeError('unavailable', `${op}: database unavailable (${code || String(driver.name)})`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new TroupeError('internal', `${op}: ${message}`, { cause: err });
}
