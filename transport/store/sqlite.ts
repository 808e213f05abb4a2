/**
 * Embedded mode's store: one SQLite file, read on the calling thread, written on a write thread
 * (sqlite-writer.ts) and checkpointed on a third (sqlite-checkpointer.ts), so no commit's fsync
 * and no WAL checkpoint ever runs on the event loop that serves the sockets, and no commit waits
 * behind a checkpoint. Both sides are the same database store (knex.ts) on their own
 * connection to the file; WAL lets reads run while a commit is in progress, and a read started
 * after a write was answered sees it. All writes go through the one write connection, in order,
 * so the file has a single writer as before and no write ever waits for another connection's
 * lock. Semantics are exactly the database store's; the store contract suite runs against this.
 */
import type { Knex } from 'knex';
import { KnexStore } from './knex.js';
import { openSqliteKnex } from './sqlite-open.js';
import type { WriteMethod } from './sqlite-write-protocol.js';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';
import { SqliteReads } from './sqlite-reads.js';
import { SqliteWriter } from './sqlite-writer.js';
import type { FenceableStore, Fence, Store } from './port.js';

export interface SqliteStoreOptions {
  /** How long a statement waits for another process's lock before `unavailable`. Default 5000. */
  busyTimeoutMs?: number;
  /** How often the checkpoint thread copies the WAL back into the file (sqlite-checkpointer.ts). Default 1000. */
  checkpointIntervalMs?: number;
  /** WAL frames from which the checkpoint thread starts the WAL over. Default 8192 (32 MiB of 4 KiB pages). */
  walRestartFrames?: number;
  /** The write thread's entry module (specs: one that fails on cue). */
  writeThreadEntry?: URL;
  /** The checkpoint thread's entry module (specs: one that fails on cue). */
  checkpointThreadEntry?: URL;
}

/** What a store and its `fencedBy` views share. */
interface SqliteParts {
  /** The write thread; absent for `:memory:` (a thread cannot share it): writes run here. */
  writer: SqliteWriter | null;
  checkpointer: SqliteCheckpointer | null;
  /** The hottest reads, as prepared statements on the reading connection. */
  reads: SqliteReads;
  closed: boolean;
}

export class SqliteStore implements FenceableStore {
  private readonly writer: SqliteWriter | null;
  private readonly reads: SqliteReads;

  constructor(
    private readonly reader: KnexStore,
    private readonly parts: SqliteParts,
    private readonly bound: readonly Fence[] = [],
  ) {
    this.writer = parts.writer;
    this.reads = parts.reads;
  }

  fencedBy(fences: readonly Fence[]): SqliteStore {
    return new SqliteStore(this.reader.fencedBy(fences), this.parts, [...this.bound, ...fences]);
  }

  /** Fresh write threads started after one died (sqlite-writer.ts). */
  get writeThreadRestarts(): number {
    return this.writer?.restarts ?? 0;
  }

  /** Checkpoint threads started again after one died (sqlite-checkpointer.ts). */
  get checkpointThreadRestarts(): number {
    return this.parts.checkpointer?.restarts ?? 0;
  }

  /** The checkpoint thread's counters: checkpoints run, WAL restarts, frames at the newest one. */
  get walCheckpoints(): { checkpoints: number; resets: number; frames: number } {
    const c = this.parts.checkpointer;
    return { checkpoints: c?.checkpoints ?? 0, resets: c?.walResets ?? 0, frames: c?.walFrames ?? 0 };
  }

  private write<M extends WriteMethod>(method: M, args: Parameters<Store[M]>): ReturnType<Store[M]> {
    if (this.writer === null) return (this.reader[method] as (...a: unknown[]) => ReturnType<Store[M]>)(...args);
    return this.writer.write(method, args, this.bound) as ReturnType<Store[M]>;
  }

  // ---- writes, on the write thread
  createUser: Store['createUser'] = (...a) => this.write('createUser', a);
  insertRefreshToken: Store['insertRefreshToken'] = (...a) => this.write('insertRefreshToken', a);
  rotateRefreshToken: Store['rotateRefreshToken'] = (...a) => this.write('rotateRefreshToken', a);
  revokeRefreshFamily: Store['revokeRefreshFamily'] = (...a) => this.write('revokeRefreshFamily', a);
  createGroup: Store['createGroup'] = (...a) => this.write('createGroup', a);
  getOrCreateDirect: Store['getOrCreateDirect'] = (...a) => this.write('getOrCreateDirect', a);
  addMembers: Store['addMembers'] = (...a) => this.write('addMembers', a);
  removeMember: Store['removeMember'] = (...a) => this.write('removeMember', a);
  appendMessages: Store['appendMessages'] = (...a) => this.write('appendMessages', a);
  advanceReadSeq: Store['advanceReadSeq'] = (...a) => this.write('advanceReadSeq', a);

  // ---- reads, here
  getUser: Store['getUser'] = (id) => this.reads.getUser(id);
  getUserByUsername: Store['getUserByUsername'] = (name) => this.reader.getUserByUsername(name);
  getUsers: Store['getUsers'] = (ids) => this.reader.getUsers(ids);
  getRefreshToken: Store['getRefreshToken'] = (hash) => this.reader.getRefreshToken(hash);
  getConversation: Store['getConversation'] = (id) => this.reads.getConversation(id);
  getMembers: Store['getMembers'] = (conv) => this.reads.getMembers(conv);
  listMembers: Store['listMembers'] = (conv, after, limit) => this.reads.listMembers(conv, after, limit);
  getMember: Store['getMember'] = (conv, user) => this.reads.getMember(conv, user);
  listMemberships: Store['listMemberships'] = (user) => this.reads.listMemberships(user);
  directPeers: Store['directPeers'] = (user) => this.reads.directPeers(user);
  listMessages: Store['listMessages'] = (conv, after, limit) => this.reads.listMessages(conv, after, limit);
  findByClientIds: Store['findByClientIds'] = (conv, keys) => this.reader.findByClientIds(conv, keys);
  ping: Store['ping'] = () => this.reader.ping();

  /** Closes both connections (after the writes in flight), for this store and every view of it. */
  async close(): Promise<void> {
    this.parts.closed = true;
    await this.writer?.close();
    await this.parts.checkpointer?.close();
    await this.reader.close();
  }
}

/**
 * Opens (creating it and its folder if needed) embedded mode's SQLite file and its write
 * thread. Rejects with `unavailable` when the file cannot be opened. The schema is not migrated
 * here: call `migrateLatest(knex)` (sql/migrate.ts) on the returned handle, which is the
 * reading connection.
 */
export async function openSqliteStore(filename: string, options: SqliteStoreOptions = {}): Promise<{ store: SqliteStore; knex: Knex }> {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  // The reading connection never checkpoints: that is the checkpoint thread's job.
  const knex = await openSqliteKnex(filename, { busyTimeoutMs, walAutocheckpointPages: 0 });
  const reader = new KnexStore(knex);
  const parts: SqliteParts = { writer: null, checkpointer: null, reads: new SqliteReads(knex, () => parts.closed), closed: false };
  if (filename === ':memory:') return { store: new SqliteStore(reader, parts), knex };
  try {
    // Neither connection checkpoints: the checkpoint thread does, beside them.
    const writer = await SqliteWriter.start({ filename, busyTimeoutMs, walAutocheckpointPages: 0, threadEntry: options.writeThreadEntry });
    parts.writer = writer;
    parts.checkpointer = new SqliteCheckpointer({
      filename,
      busyTimeoutMs,
      intervalMs: options.checkpointIntervalMs ?? 1000,
      restartFrames: options.walRestartFrames ?? 8192,
      threadEntry: options.checkpointThreadEntry,
    });
    return { store: new SqliteStore(reader, parts), knex };
  } catch (err) {
    await reader.close();
    throw err;
  }
}
