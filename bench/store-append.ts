/**
 * The cost of one storage commit of the hot path (`appendMessages`), on SQLite and on a private
 * MariaDB server: ms per commit, one commit at a time, for 1 row and for 30 conversations × 1
 * row, then commits per second with several commits in flight (MySQL only; SQLite has one
 * writer). Both databases are durable as configured for production (SQLite WAL with
 * synchronous FULL; InnoDB flushing its log at every commit).
 *
 *     node --import tsx bench/store-append.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateLatest } from '../sql/migrate.js';
import { openSqliteStore } from '../transport/store/sqlite.js';
import { openMysqlStore } from '../transport/store/mysql.js';
import type { FencedBatch, Store } from '../transport/store/port.js';
import { startMariadb } from '../bin/services/mariadb.js';

const CONVERSATIONS = 30;

/** Groups of one member each; returns their ids and the member (the sender). */
async function seed(store: Store, count: number): Promise<{ convs: string[]; user: string }> {
  const tag = randomBytes(4).toString('hex');
  const user = `u-${tag}`;
  await store.createUser({ id: user, username: `bench${tag}`, displayName: user, passwordHash: 'h', createdAt: 1 });
  const convs: string[] = [];
  for (let i = 0; i < count; i++) {
    const conv = `g-${tag}-${String(i).padStart(3, '0')}`;
    await store.createGroup({ id: conv, type: 'group', name: conv, ownerId: user, lastSeq: 0, memberCount: 0, createdAt: 1 }, [user]);
    convs.push(conv);
  }
  return { convs, user };
}

/** Appends one row to each of `convs` per commit, `commits` times in sequence; ms per commit. */
async function sequential(
  store: Store,
  convs: string[],
  user: string,
  commits: number,
  next: Map<string, number>,
  unit = 'upstream/0',
): Promise<number> {
  const started = performance.now();
  for (let c = 0; c < commits; c++) await store.appendMessages([batchOf(convs, user, next, unit)]);
  return (performance.now() - started) / commits;
}

function batchOf(convs: string[], user: string, next: Map<string, number>, unit: string): FencedBatch {
  const messages = convs.map((conv) => {
    const seq = (next.get(conv) ?? 0) + 1;
    next.set(conv, seq);
    const id = `m-${conv}-${seq}`;
    return { conv, seq, id, from: user, clientId: id, body: '{"text":"a benchmark message of about sixty bytes, typical"}', ts: Date.now() };
  });
  return { unit, epoch: 1, messages };
}

async function measure(name: string, store: Store, inFlight: number[]): Promise<void> {
  const { convs, user } = await seed(store, CONVERSATIONS + Math.max(0, ...inFlight));
  const next = new Map<string, number>();
  const one = convs.slice(0, 1);
  const thirty = convs.slice(0, CONVERSATIONS);
  await sequential(store, one, user, 200, next); // warm-up
  const oneRow = await sequential(store, one, user, 2000, next);
  const thirtyRows = await sequential(store, thirty, user, 500, next);
  process.stdout.write(`${name}: ${oneRow.toFixed(2)} ms per commit of 1 row; ${thirtyRows.toFixed(2)} ms per commit of ${CONVERSATIONS} conversations x 1 row\n`);
  for (const writers of inFlight) {
    // Each writer is a repo shard: its own unit and conversation, one commit at a time.
    const perWriter = 300;
    const started = performance.now();
    const owned = convs.slice(CONVERSATIONS, CONVERSATIONS + writers);
    await Promise.all(owned.map((conv, i) => sequential(store, [conv], user, perWriter, next, `upstream/${i + 1}`)));
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(`${name}: ${writers} writers in parallel: ${Math.round((writers * perWriter) / seconds)} commits/s of 1 row\n`);
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'troupe-bench-store-'));
  try {
    const sqlite = await openSqliteStore(join(dir, 'troupe.db'));
    await migrateLatest(sqlite.knex);
    await measure('SQLite', sqlite.store, []);
    await sqlite.store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const mariadb = await startMariadb();
  try {
    const mysql = await openMysqlStore(await mariadb.createDatabase('bench'));
    await migrateLatest(mysql.knex);
    await measure('MariaDB', mysql.store, [4, 10]);
    await mysql.store.close();
  } finally {
    await mariadb.stop();
  }
}

await main();
