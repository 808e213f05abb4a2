/**
 * `appendMessages` for MySQL and MariaDB in plain SQL: the one write of the cluster's hot path.
 *
 * Through knex's query builder and transaction wrapper, every statement of an append was
 * compiled, wrapped in promises and queued through knex's runner, which took about half of a
 * repo node's CPU per message in profiles. Here the same statements, in the same order and
 * under the same locks as the portable path in knex.ts, run as SQL text with placeholders on a
 * connection held from knex's pool for the whole transaction. The store contract suite runs
 * against this path (spec/transport/store-mysql.spec.ts).
 *
 * The epochs rows of the units exist before this runs (knex.ts, `createEpochRows`), so the
 * upsert below only updates existing rows and takes no gap lock.
 */
import type { Knex } from 'knex';
import { isGapFree, newestEpochs, refuseStale, spanRefusal, type SeqSpan } from './append-checks.js';
import { StaleEpochError, type FencedBatch } from './port.js';

/** Rows per multi-row INSERT, as in knex.ts. */
const ROWS_PER_STATEMENT = 200;

/** What mysql2's callback API offers on a pooled connection. */
interface MysqlConnection {
  query(sql: string, values: unknown[], callback: (err: Error | null, result: unknown) => void): void;
}

interface PoolClient {
  acquireConnection(): Promise<MysqlConnection>;
  releaseConnection(connection: MysqlConnection): Promise<void>;
}

function query<T>(connection: MysqlConnection, sql: string, values: unknown[] = []): Promise<T> {
  return new Promise((resolve, reject) => connection.query(sql, values, (err, result) => (err === null ? resolve(result as T) : reject(err))));
}

function placeholders(count: number, one: string): string {
  return new Array<string>(count).fill(one).join(', ');
}

/** Raises each unit's epoch to the newest one given and refuses a batch older than what is stored. */
async function raiseEpochs(connection: MysqlConnection, batches: readonly FencedBatch[]): Promise<void> {
  const newest = newestEpochs(batches);
  const units = [...newest.keys()].sort();
  const values: unknown[] = [];
  for (const unit of units) values.push(unit, newest.get(unit));
  await query(
    connection,
    `INSERT INTO epochs (unit, epoch) VALUES ${placeholders(units.length, '(?, ?)')} ON DUPLICATE KEY UPDATE epoch = GREATEST(epoch, VALUES(epoch))`,
    values,
  );
  const rows = await query<Array<{ unit: string; epoch: number | string }>>(connection, `SELECT unit, epoch FROM epochs WHERE unit IN (${placeholders(units.length, '?')})`, units);
  const stored = new Map<string, number>();
  for (const r of rows) stored.set(r.unit, Number(r.epoch));
  refuseStale('appendMessages', batches, stored);
}

/** Moves each conversation's last seq over its span, or throws the refusal knex.ts would. */
async function moveLastSeqs(connection: MysqlConnection, spans: readonly SeqSpan[]): Promise<void> {
  for (const span of spans) {
    if (isGapFree(span)) {
      const moved = await query<{ affectedRows: number }>(
        connection,
        'UPDATE conversations SET last_seq = ?, last_activity_at = ? WHERE id = ? AND last_seq = ?',
        [span.last, span.lastTs, span.conv, span.first - 1],
      );
      if (moved.affectedRows === 1) continue;
    }
    const rows = await query<Array<{ last_seq: number | string }>>(connection, 'SELECT last_seq FROM conversations WHERE id = ?', [span.conv]);
    const row = rows[0];
    throw spanRefusal(span, row === undefined ? undefined : Number(row.last_seq));
  }
}

async function insertMessages(connection: MysqlConnection, batches: readonly FencedBatch[]): Promise<void> {
  const messages = batches.flatMap((b) => b.messages);
  for (let i = 0; i < messages.length; i += ROWS_PER_STATEMENT) {
    const chunk = messages.slice(i, i + ROWS_PER_STATEMENT);
    const values: unknown[] = [];
    for (const m of chunk) values.push(m.conv, m.seq, m.id, m.from, m.clientId, m.body, m.ts);
    await query(connection, `INSERT INTO messages (conv_id, seq, id, sender, client_id, body, ts) VALUES ${placeholders(chunk.length, '(?, ?, ?, ?, ?, ?, ?)')}`, values);
  }
}

/**
 * The whole transaction but its COMMIT as one multi-statement query: BEGIN, the epochs upsert and
 * read-back, each span's compare-and-set, the inserts. Only for gap-free spans. Resolves with
 * whether the checks passed; when they did not (a stale fence throws; a span that did not move
 * resolves false) the caller rolls back, since the inserts already ran inside the transaction.
 */
async function appendInOneTrip(connection: MysqlConnection, batches: readonly FencedBatch[], spans: readonly SeqSpan[]): Promise<boolean> {
  const newest = newestEpochs(batches);
  const units = [...newest.keys()].sort();
  const statements = ['BEGIN', `INSERT INTO epochs (unit, epoch) VALUES ${placeholders(units.length, '(?, ?)')} ON DUPLICATE KEY UPDATE epoch = GREATEST(epoch, VALUES(epoch))`];
  const values: unknown[] = [];
  for (const unit of units) values.push(unit, newest.get(unit));
  statements.push(`SELECT unit, epoch FROM epochs WHERE unit IN (${placeholders(units.length, '?')})`);
  values.push(...units);
  for (const span of spans) {
    statements.push('UPDATE conversations SET last_seq = ?, last_activity_at = ? WHERE id = ? AND last_seq = ?');
    values.push(span.last, span.lastTs, span.conv, span.first - 1);
  }
  const messages = batches.flatMap((b) => b.messages);
  for (let i = 0; i < messages.length; i += ROWS_PER_STATEMENT) {
    const chunk = messages.slice(i, i + ROWS_PER_STATEMENT);
    statements.push(`INSERT INTO messages (conv_id, seq, id, sender, client_id, body, ts) VALUES ${placeholders(chunk.length, '(?, ?, ?, ?, ?, ?, ?)')}`);
    for (const m of chunk) values.push(m.conv, m.seq, m.id, m.from, m.clientId, m.body, m.ts);
  }
  const results = await query<unknown[]>(connection, statements.join('; '), values);
  const stored = new Map<string, number>();
  for (const r of results[2] as Array<{ unit: string; epoch: number | string }>) stored.set(r.unit, Number(r.epoch));
  refuseStale('appendMessages', batches, stored);
  for (let i = 0; i < spans.length; i++) {
    if ((results[3 + i] as { affectedRows: number }).affectedRows !== 1) return false;
  }
  return true;
}

/** The append one statement per round trip, which also words a refusal exactly (five round trips for one conversation). */
async function appendStepByStep(connection: MysqlConnection, batches: readonly FencedBatch[], spans: readonly SeqSpan[]): Promise<void> {
  await query(connection, 'BEGIN');
  try {
    await raiseEpochs(connection, batches);
    await moveLastSeqs(connection, spans);
    await insertMessages(connection, batches);
    await query(connection, 'COMMIT');
  } catch (err) {
    // A failed ROLLBACK means a broken connection, which the pool's validation then drops.
    await rollback(connection);
    throw err;
  }
}

function rollback(connection: MysqlConnection): Promise<unknown> {
  return query(connection, 'ROLLBACK').catch(() => undefined);
}

/**
 * Runs the append as one transaction; throws TroupeErrors or the driver's errors.
 *
 * Every round trip to the database wakes both it and the repo node, and on small machines a
 * wakeup costs more CPU than the statement (docs/architecture.md, "Where the cluster's CPU
 * goes"), so the usual append takes two round trips: everything up to the COMMIT, then the
 * COMMIT. Anything unusual (a span with a hole, a span that did not move, a statement that
 * failed) is rolled back and run again step by step, which then refuses it with the exact
 * error (or, if the conflict went away meanwhile, appends). The connection needs mysql2's
 * `multipleStatements` (mysql.ts sets it; every value still goes through placeholders).
 */
export async function appendOnMysql(knex: Knex, batches: readonly FencedBatch[], spans: readonly SeqSpan[]): Promise<void> {
  const client = knex.client as PoolClient;
  const connection = await client.acquireConnection();
  try {
    if (spans.every(isGapFree)) {
      let passed = false;
      try {
        passed = await appendInOneTrip(connection, batches, spans);
        if (passed) await query(connection, 'COMMIT');
      } catch (err) {
        if (passed || err instanceof StaleEpochError) {
          await rollback(connection);
          throw err;
        }
      }
      if (passed) return;
      // Checks failed or a statement did: start over, one statement at a time.
      await rollback(connection);
    }
    await appendStepByStep(connection, batches, spans);
  } finally {
    await client.releaseConnection(connection);
  }
}
