/**
 * The Socket.IO peer's connection pool to MariaDB.
 *
 * Every connection runs READ COMMITTED: a send's identity look-up, made after it locked the
 * conversation row, must read the latest committed rows (see messages.ts), and under the default
 * REPEATABLE READ a plain SELECT could read an older snapshot.
 */
import { createPool, type Pool, type PoolConnection } from 'mysql2/promise';

/** Connections per process: enough to keep MariaDB busy, few enough that two processes share it. */
const POOL_SIZE = 16;

export function openPool(url: string): Pool {
  const pool = createPool({ uri: url, connectionLimit: POOL_SIZE, supportBigNumbers: true });
  pool.on('connection', (connection) => {
    connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
  });
  return pool;
}

/** Whether mysql2 reports a unique-key violation. */
export function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ER_DUP_ENTRY';
}

/** Runs `work` in a transaction on a connection of `pool`: committed if it resolves, rolled back if it throws. */
export async function inTransaction<T>(pool: Pool, work: (connection: PoolConnection) => Promise<T>): Promise<T> {
  const connection = await pool.getConnection();
  try {
    await connection.beginTransaction();
    const result = await work(connection);
    await connection.commit();
    return result;
  } catch (err) {
    await connection.rollback().catch(() => undefined);
    throw err;
  } finally {
    connection.release();
  }
}
