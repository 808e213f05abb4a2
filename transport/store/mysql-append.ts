/**
 * `appendMessages` for MySQL and MariaDB in plain SQL: the one write of the cluster's hot path.
 *
 * Through knex's query builder and transaction wrapper, every statement of an append was
 * compiled, wrapped in promises and queued through knex's runner, which took about half of a
 * repo node's CPU per message in profiles. Here the statements (each unit's epoch raised and
 * read back, each conversation's last seq moved by compare-and-set, the multi-row inserts) run
 * as SQL text with placeholders on a connection held from knex's pool for the whole
 * transaction, each statement built once below for both ways of sending them. The store
 * contract suite runs against this path (spec/transport/store-mysql.spec.ts).
 *
 * The epochs rows of the units exist before this runs (knex.ts, `createEpochRows`), so the
 * upsert below only updates existing rows and takes no gap lock.
 */
import type { Knex } from 'knex';
import { isGapFree, newestEpochs, refuseStale, spanRefusal, type SeqSpan } from './append-checks.js';
import { StaleEpochError, type FencedBatch } from './port.js';

/** Rows per multi-row INSERT. */
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

/** One SQL statement with its placeholder values. */
interface Statement {
  sql: string;
  values: unknown[];
}

/** The epochs upsert (each unit raised to the newest epoch given) and the read-back of those units. */
function epochStatements(batches: readonly FencedBatch[]): { upsert: Statement; readBack: Statement } {
  const newest = newestEpochs(batches);
  const units = [...newest.keys()].sort();
  const values: unknown[] = [];
  for (const unit of units) values.push(unit, newest.get(unit));
  return {
    upsert: {
      sql: `INSERT INTO epochs (unit, epoch) VALUES ${placeholders(units.length, '(?, ?)')} ON DUPLICATE KEY UPDATE epoch = GREATEST(epoch, VALUES(epoch))`,
      values,
    },
    readBack: { sql: `SELECT unit, epoch FROM epochs WHERE unit IN (${placeholders(units.length, '?')})`, values: units },
  };
}

/** Moves a gap-free span's conversation from the seq before it to its last one (one row, or none). */
function moveLastSeq(span: SeqSpan): Statement {
  return { sql: 'UPDATE conversations SET last_seq = ?, last_activity_at = ? WHERE id = ? AND last_seq = ?', values: [span.last, span.lastTs, span.conv, span.first - 1] };
}

/** The multi-row inserts of every message, ROWS_PER_STATEMENT rows each. */
function insertStatements(batches: readonly FencedBatch[]): Statement[] {
  const messages = batches.flatMap((b) => b.messages);
  const statements: Statement[] = [];
  for (let i = 0; i < messages.length; i += ROWS_PER_STATEMENT) {
    const chunk = messages.slice(i, i + ROWS_PER_STATEMENT);
    const values: unknown[] = [];
    for (const m of chunk) values.push(m.conv, m.seq, m.id, m.from, m.clientId, m.body, m.ts);
    statements.push({ sql: `INSERT INTO messages (conv_id, seq, id, sender, client_id, body, ts) VALUES ${placeholders(chunk.length, '(?, ?, ?, ?, ?, ?, ?)')}`, values });
  }
  return statements;
}

/** Refuses the batches whose fence is older than its unit's epoch in `rows` (the read-back). */
function refuseStaleRows(batches: readonly FencedBatch[], rows: ReadonlyArray<{ unit: string; epoch: number | string }>): void {
  const stored = new Map<string, number>();
  for (const r of rows) stored.set(r.unit, Number(r.epoch));
  refuseStale('appendMessages', batches, stored);
}

function run<T>(connection: MysqlConnection, statement: Statement): Promise<T> {
  return query<T>(connection, statement.sql, statement.values);
}

/**
 * The whole transaction but its COMMIT as one multi-statement query: BEGIN, the epochs upsert and
 * read-back, each span's compare-and-set, the inserts. Only for gap-free spans. Resolves with
 * whether the checks passed; when they did not (a stale fence throws; a span that did not move
 * resolves false) the caller rolls back, since the inserts already ran inside the transaction.
 */
async function appendInOneTrip(connection: MysqlConnection, batches: readonly FencedBatch[], spans: readonly SeqSpan[]): Promise<boolean> {
  const { upsert, readBack } = epochStatements(batches);
  const statements: Statement[] = [{ sql: 'BEGIN', values: [] }, upsert, readBack, ...spans.map(moveLastSeq), ...insertStatements(batches)];
  const results = await query<unknown[]>(connection, statements.map((st) => st.sql).join('; '), statements.flatMap((st) => st.values));
  refuseStaleRows(batches, results[2] as Array<{ unit: string; epoch: number | string }>);
  // Results follow the statements: BEGIN, upsert, read-back, then one per span.
  return spans.every((_span, i) => (results[3 + i] as { affectedRows: number }).affectedRows === 1);
}

/** The append one statement per round trip, which also words a refusal exactly (five round trips for one conversation). */
async function appendStepByStep(connection: MysqlConnection, batches: readonly FencedBatch[], spans: readonly SeqSpan[]): Promise<void> {
  await query(connection, 'BEGIN');
  try {
    const { upsert, readBack } = epochStatements(batches);
    await run(connection, upsert);
    refuseStaleRows(batches, await run(connection, readBack));
    for (const span of spans) {
      if (isGapFree(span) && (await run<{ affectedRows: number }>(connection, moveLastSeq(span))).affectedRows === 1) continue;
      const rows = await query<Array<{ last_seq: number | string }>>(connection, 'SELECT last_seq FROM conversations WHERE id = ?', [span.conv]);
      throw spanRefusal(span, rows[0] === undefined ? undefined : Number(rows[0].last_seq));
    }
    for (const insert of insertStatements(batches)) await run(connection, insert);
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
