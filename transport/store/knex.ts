/**
 * The storage port over knex: SQLite (better-sqlite3) in embedded mode, MySQL/MariaDB (mysql2)
 * in cluster mode, one code path for both (dialect differences live in knex-dialect.ts).
 *
 * Every method is one transaction (or one statement), and every error leaves as a TroupeError
 * (knex-errors.ts). Row-lock order is the same everywhere on MySQL: the epochs rows, then the
 * conversation row, then its members and messages, so concurrent calls wait instead of
 * deadlocking. Multi-row statements are cut into chunks of ROWS_PER_STATEMENT.
 *
 * Fences (port.ts, "Fencing"): a write's own fence and those bound by `fencedBy` are checked
 * first in its transaction, by raising each unit's row of `epochs` and reading it back; a
 * store with bound fences turns even its single-statement writes into such transactions.
 */
import type { Knex } from 'knex';
import { TroupeError, isTroupeError } from '../errors.js';
import { keepGreaterOnUpsert, sqlDialect } from './knex-dialect.js';
import { storeError } from './knex-errors.js';
import { appendOnMysql } from './mysql-append.js';
import {
  CONVERSATION_COLUMNS,
  MEMBER_COLUMNS,
  MEMBER_PROFILE_COLUMNS,
  MESSAGE_COLUMNS,
  REFRESH_TOKEN_COLUMNS,
  USER_COLUMNS,
  fromConversationRecord,
  fromMemberProfileRecord,
  fromMemberRecord,
  fromMessageRecord,
  fromRefreshTokenRecord,
  fromUserRecord,
  toConversationRecord,
  toRefreshTokenRecord,
  toUserRecord,
  type ConversationRecord,
  type MemberProfileRecord,
  type MemberRecord,
  type MessageRecord,
  type RefreshTokenRecord,
  type UserRecord,
} from './knex-rows.js';
import { newestEpochs, refuseStale, type SeqSpan } from './append-checks.js';
import { checkPageLimit, pageOf } from './pages.js';
import { appendOnSqlite } from './sqlite-append.js';
import {
  type ConversationRow,
  type Fence,
  type FenceableStore,
  type FencedBatch,
  type MemberProfileRow,
  type MemberRow,
  type MembershipRow,
  type MessageRow,
  type RefreshTokenRow,
  type UserRow,
} from './port.js';

/**
 * Rows per multi-row statement. knex writes a multi-row insert for SQLite as
 * `select … union all select …`, and SQLite allows at most 500 terms in a compound select;
 * 200 rows of 7 columns also stay far below every bound-variable limit, and keep each
 * better-sqlite3 call (which blocks the event loop while it runs) short.
 */
const ROWS_PER_STATEMENT = 200;

/** The epoch of a unit's row before its first write: below every claim revision. */
const NO_EPOCH = Number.MIN_SAFE_INTEGER;

function* chunksOf<T>(items: readonly T[], size = ROWS_PER_STATEMENT): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** The direct_key of a pair of users: both ids, sorted, so that either order finds the same row. */
function directKeyOf(userA: string, userB: string): string {
  return userA < userB ? `${userA}:${userB}` : `${userB}:${userA}`;
}

/** Distinct ids in first-seen order. */
function distinct(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}


/**
 * Seq span of every conversation in the batches, sorted by conversation id (the lock order).
 * A span is gap-free when `last - first + 1 === count`; a duplicate seq inside it then means a
 * gap elsewhere, or is refused by the (conv_id, seq) primary key.
 */
function seqSpansOf(batches: readonly FencedBatch[]): SeqSpan[] {
  const spans = new Map<string, SeqSpan>();
  for (const batch of batches) {
    for (const m of batch.messages) {
      if (!Number.isSafeInteger(m.seq) || m.seq < 1) {
        throw new TroupeError('invalid_argument', `appendMessages: seq ${m.seq} of ${m.conv} is not a positive integer`);
      }
      const span = spans.get(m.conv);
      if (span === undefined) {
        spans.set(m.conv, { conv: m.conv, first: m.seq, last: m.seq, count: 1, lastTs: m.ts });
      } else {
        span.first = Math.min(span.first, m.seq);
        span.last = Math.max(span.last, m.seq);
        span.count++;
        span.lastTs = Math.max(span.lastTs, m.ts);
      }
    }
  }
  return [...spans.values()].sort((a, b) => (a.conv < b.conv ? -1 : a.conv > b.conv ? 1 : 0));
}

/** What a store and its `fencedBy` views share. */
export interface KnexStoreShared {
  closed: boolean;
  /** MySQL: units whose epochs row exists (rows are never deleted), see createEpochRows. */
  unitsWithEpochRow: Set<string>;
}

export class KnexStore implements FenceableStore {
  /** SQLite takes the prepared-statement path for appends (sqlite-append.ts). */
  private readonly sqlite: boolean;

  /**
   * Takes ownership of `knex`: `close()` destroys it. The schema must be migrated (sql/migrate.ts).
   * `bound` and `shared` are for `fencedBy`'s views.
   */
  constructor(
    private readonly knex: Knex,
    private readonly bound: readonly Fence[] = [],
    private readonly shared: KnexStoreShared = { closed: false, unitsWithEpochRow: new Set() },
  ) {
    this.sqlite = sqlDialect(knex) === 'sqlite';
  }

  fencedBy(fences: readonly Fence[]): KnexStore {
    return new KnexStore(this.knex, [...this.bound, ...fences.map(({ unit, epoch }) => ({ unit, epoch }))], this.shared);
  }

  // ---- users

  async createUser(user: UserRow): Promise<void> {
    try {
      await this.writeOne('createUser', (db) => db<UserRecord>('users').insert(toUserRecord(user)));
    } catch (err) {
      if (isTroupeError(err, 'conflict')) {
        throw new TroupeError('conflict', `username ${user.username} is taken`, { cause: err });
      }
      throw err;
    }
  }

  async getUser(id: string): Promise<UserRow | null> {
    const r = await this.run('getUser', (db) => db<UserRecord>('users').where('id', id).first(...USER_COLUMNS));
    return r === undefined ? null : fromUserRecord(r);
  }

  async getUserByUsername(username: string): Promise<UserRow | null> {
    const r = await this.run('getUserByUsername', (db) =>
      db<UserRecord>('users').where('username', username).first(...USER_COLUMNS),
    );
    return r === undefined ? null : fromUserRecord(r);
  }

  async getUsers(ids: readonly string[]): Promise<UserRow[]> {
    return this.run('getUsers', async (db) => {
      const users: UserRow[] = [];
      for (const chunk of chunksOf(distinct(ids))) {
        const rows = await db<UserRecord>('users').whereIn('id', chunk).select(...USER_COLUMNS);
        for (const r of rows) users.push(fromUserRecord(r));
      }
      return users;
    });
  }

  // ---- refresh tokens

  async insertRefreshToken(row: RefreshTokenRow): Promise<void> {
    await this.writeOne('insertRefreshToken', (db) => db<RefreshTokenRecord>('refresh_tokens').insert(toRefreshTokenRecord(row)));
  }

  async getRefreshToken(tokenHash: string): Promise<RefreshTokenRow | null> {
    const r = await this.run('getRefreshToken', (db) =>
      db<RefreshTokenRecord>('refresh_tokens').where('token_hash', tokenHash).first(...REFRESH_TOKEN_COLUMNS),
    );
    return r === undefined ? null : fromRefreshTokenRecord(r);
  }

  /** Compare-and-set: the UPDATE's affected-row count says whether this call spent the token. */
  async rotateRefreshToken(tokenHash: string, usedAt: number, next: RefreshTokenRow): Promise<boolean> {
    return this.write('rotateRefreshToken', undefined, async (trx) => {
      const spent = await trx<RefreshTokenRecord>('refresh_tokens')
        .where('token_hash', tokenHash)
        .whereNull('used_at')
        .where('revoked', false)
        .update({ used_at: usedAt });
      if (spent !== 1) return false;
      await trx<RefreshTokenRecord>('refresh_tokens').insert(toRefreshTokenRecord(next));
      return true;
    });
  }

  async revokeRefreshFamily(familyId: string): Promise<void> {
    await this.writeOne('revokeRefreshFamily', (db) =>
      db<RefreshTokenRecord>('refresh_tokens').where('family_id', familyId).update({ revoked: true }),
    );
  }

  // ---- conversations and members

  /** The owner (when set) is moved to the front of the join order; duplicate ids count once. */
  async createGroup(conv: ConversationRow, memberIds: readonly string[]): Promise<void> {
    if (conv.type !== 'group') throw new TroupeError('invalid_argument', `createGroup: type is ${conv.type}`);
    const order = distinct(conv.ownerId === null ? memberIds : [conv.ownerId, ...memberIds]);
    await this.write('createGroup', undefined, async (trx) => {
      await trx<ConversationRecord>('conversations').insert(toConversationRecord(conv, null, order.length));
      await this.insertMembers(trx, conv.id, order, conv.createdAt);
    });
  }

  /**
   * Reads first (the common case: the conversation exists); otherwise inserts it, and when a
   * concurrent call won the race (unique violation of direct_key) returns that call's row.
   */
  async getOrCreateDirect(
    id: string,
    userA: string,
    userB: string,
    createdAt: number,
  ): Promise<{ conv: ConversationRow; created: boolean }> {
    if (userA === userB) throw new TroupeError('invalid_argument', 'getOrCreateDirect: a direct conversation needs two users');
    const key = directKeyOf(userA, userB);
    const existing = await this.findDirect(key);
    if (existing !== null) return { conv: existing, created: false };
    const conv: ConversationRow = { id, type: 'direct', name: null, ownerId: null, lastSeq: 0, memberCount: 2, createdAt };
    try {
      await this.write('getOrCreateDirect', undefined, async (trx) => {
        await trx<ConversationRecord>('conversations').insert(toConversationRecord(conv, key, 2));
        await this.insertMembers(trx, id, [userA, userB], createdAt);
      });
      return { conv, created: true };
    } catch (err) {
      if (!isTroupeError(err, 'conflict')) throw err;
      const raced = await this.findDirect(key);
      if (raced === null) throw err; // the conflict was on `id`, not on the pair
      return { conv: raced, created: false };
    }
  }

  async getConversation(id: string): Promise<ConversationRow | null> {
    const r = await this.run('getConversation', (db) =>
      db<ConversationRecord>('conversations').where('id', id).first(...CONVERSATION_COLUMNS),
    );
    return r === undefined ? null : fromConversationRecord(r);
  }

  async getMembers(conv: string): Promise<MemberRow[]> {
    const rows = await this.run('getMembers', (db) =>
      db<MemberRecord>('members').where('conv_id', conv).orderBy('id').select(...MEMBER_COLUMNS),
    );
    return rows.map(fromMemberRecord);
  }

  /** A range on the unique index (conv_id, user_id), joined with users by primary key. */
  async listMembers(conv: string, after: string, limit: number): Promise<{ members: MemberProfileRow[]; more: boolean }> {
    checkPageLimit('listMembers', limit);
    const rows = await this.run('listMembers', (db) =>
      db('members as m')
        .join('users as u', 'u.id', 'm.user_id')
        .where('m.conv_id', conv)
        .where('m.user_id', '>', after)
        .orderBy('m.user_id')
        .limit(limit + 1)
        .select<MemberProfileRecord[]>(...MEMBER_PROFILE_COLUMNS),
    );
    const page = pageOf(rows, limit, fromMemberProfileRecord);
    return { members: page.rows, more: page.more };
  }

  async getMember(conv: string, userId: string): Promise<MemberRow | null> {
    const r = await this.run('getMember', (db) =>
      db<MemberRecord>('members').where({ conv_id: conv, user_id: userId }).first(...MEMBER_COLUMNS),
    );
    return r === undefined ? null : fromMemberRecord(r);
  }

  /**
   * One join over members(user_id). "Newest activity" is the time of the conversation's newest
   * message (its creation time before the first one), newest first; ties by id.
   */
  async listMemberships(userId: string): Promise<MembershipRow[]> {
    const rows = await this.run('listMemberships', (db) =>
      db('members as m')
        .join('conversations as c', 'c.id', 'm.conv_id')
        .where('m.user_id', userId)
        .orderBy([
          { column: 'c.last_activity_at', order: 'desc' },
          { column: 'c.id', order: 'asc' },
        ])
        .select<Array<ConversationRecord & { read_seq: number | string }>>(
          ...CONVERSATION_COLUMNS.map((column) => `c.${column}`),
          'm.read_seq',
        ),
    );
    return rows.map((r) => ({ conv: fromConversationRecord(r), readSeq: Number(r.read_seq) }));
  }

  async directPeers(userId: string): Promise<string[]> {
    const rows = await this.run('directPeers', (db) =>
      db('members as mine')
        .join('conversations as c', (on) => {
          on.on('c.id', '=', 'mine.conv_id').andOnVal('c.type', '=', 'direct');
        })
        .join('members as peer', (on) => {
          on.on('peer.conv_id', '=', 'mine.conv_id').andOn('peer.user_id', '<>', 'mine.user_id');
        })
        .where('mine.user_id', userId)
        .distinct<Array<{ user_id: string }>>('peer.user_id as user_id'),
    );
    return rows.map((r) => r.user_id);
  }

  /** `not_found` when the conversation does not exist. */
  async addMembers(conv: string, userIds: readonly string[], joinedAt: number, fence: Fence): Promise<string[]> {
    return this.write('addMembers', fence, async (trx) => {
      await this.lockConversation(trx, conv);
      const wanted = distinct(userIds);
      const present = new Set<string>();
      for (const chunk of chunksOf(wanted)) {
        const rows = await trx<MemberRecord>('members').where('conv_id', conv).whereIn('user_id', chunk).select('user_id');
        for (const r of rows) present.add(r.user_id);
      }
      const added = wanted.filter((u) => !present.has(u));
      if (added.length > 0) {
        await this.insertMembers(trx, conv, added, joinedAt);
        await trx('conversations').where('id', conv).increment('member_count', added.length);
      }
      return added;
    });
  }

  async removeMember(conv: string, userId: string, fence: Fence): Promise<ConversationRow | null> {
    return this.write('removeMember', fence, async (trx) => {
      const before = await this.lockConversation(trx, conv).catch((err: unknown) => {
        if (isTroupeError(err, 'not_found')) return null;
        throw err;
      });
      if (before === null) return null;
      const removed = await trx('members').where({ conv_id: conv, user_id: userId }).delete();
      if (removed === 0) return null;
      const after: ConversationRow = { ...before, memberCount: before.memberCount - 1 };
      if (before.ownerId === userId) {
        const eldest = await trx<MemberRecord>('members').where('conv_id', conv).orderBy('id').first('user_id');
        after.ownerId = eldest?.user_id ?? null;
      }
      await trx<ConversationRecord>('conversations')
        .where('id', conv)
        .update({ member_count: after.memberCount, owner_id: after.ownerId });
      return after;
    });
  }

  // ---- messages and cursors

  /**
   * In one transaction: raise each unit's epoch (refusing stale ones), move each conversation's
   * last_seq by compare-and-set from `first - 1` to `last` (refusing gaps), then insert the rows.
   */
  async appendMessages(given: readonly FencedBatch[]): Promise<void> {
    if (given.length === 0) return;
    // Bound fences ride along as batches without messages: checked like the call's own.
    const batches = this.bound.length === 0 ? given : [...given, ...this.bound.map((f) => ({ unit: f.unit, epoch: f.epoch, messages: [] }))];
    const spans = seqSpansOf(batches);
    if (this.sqlite) {
      await this.run('appendMessages', (db) => appendOnSqlite(db, batches, spans));
      return;
    }
    await this.createEpochRows('appendMessages', batches);
    // MySQL, the other dialect: plain SQL on a pooled connection (mysql-append.ts).
    await this.run('appendMessages', (db) => appendOnMysql(db, batches, spans));
  }

  async listMessages(conv: string, after: number, limit: number): Promise<{ messages: MessageRow[]; more: boolean }> {
    checkPageLimit('listMessages', limit);
    const rows = await this.run('listMessages', (db) =>
      db<MessageRecord>('messages')
        .where('conv_id', conv)
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(limit + 1)
        .select(...MESSAGE_COLUMNS),
    );
    const page = pageOf(rows, limit, fromMessageRecord);
    return { messages: page.rows, more: page.more };
  }

  /**
   * Looks up senders × client ids within the conversation (a range on the unique index
   * (conv_id, sender, client_id)) and keeps the exact pairs asked for.
   */
  async findByClientIds(conv: string, keys: ReadonlyArray<{ from: string; clientId: string }>): Promise<MessageRow[]> {
    if (keys.length === 0) return [];
    const wanted = new Set(keys.map((k) => `${k.from}\n${k.clientId}`));
    const senders = distinct(keys.map((k) => k.from));
    const clientIds = distinct(keys.map((k) => k.clientId));
    return this.run('findByClientIds', async (db) => {
      const found: MessageRow[] = [];
      for (const chunk of chunksOf(clientIds)) {
        const rows = await db<MessageRecord>('messages')
          .where('conv_id', conv)
          .whereIn('sender', senders)
          .whereIn('client_id', chunk)
          .select(...MESSAGE_COLUMNS);
        for (const r of rows) if (wanted.has(`${r.sender}\n${r.client_id}`)) found.push(fromMessageRecord(r));
      }
      return found;
    });
  }

  async advanceReadSeq(conv: string, userId: string, seq: number, fence: Fence): Promise<number | null> {
    return this.write('advanceReadSeq', fence, async (trx) => {
      const key = { conv_id: conv, user_id: userId };
      await trx<MemberRecord>('members').where(key).where('read_seq', '<', seq).update({ read_seq: seq });
      const r = await trx<MemberRecord>('members').where(key).first('read_seq');
      return r === undefined ? null : Number(r.read_seq);
    });
  }

  async ping(): Promise<void> {
    await this.run('ping', (db) => db.raw('select 1'));
  }

  /** Closes the database, for this store and every view of it. */
  async close(): Promise<void> {
    if (this.shared.closed) return;
    this.shared.closed = true;
    await this.knex.destroy();
  }

  // ---- inside transactions

  private async insertMembers(trx: Knex.Transaction, conv: string, userIds: readonly string[], joinedAt: number): Promise<void> {
    for (const chunk of chunksOf(userIds)) {
      await trx('members').insert(chunk.map((userId) => ({ conv_id: conv, user_id: userId, read_seq: 0, joined_at: joinedAt })));
    }
  }

  /** Reads the conversation, holding its row lock on MySQL (SQLite locks the whole file). */
  private async lockConversation(trx: Knex.Transaction, conv: string): Promise<ConversationRow> {
    const r = await trx<ConversationRecord>('conversations').where('id', conv).forUpdate().first(...CONVERSATION_COLUMNS);
    if (r === undefined) throw new TroupeError('not_found', `conversation ${conv} does not exist`);
    return fromConversationRecord(r);
  }

  private async findDirect(key: string): Promise<ConversationRow | null> {
    const r = await this.run('getOrCreateDirect', (db) =>
      db<ConversationRecord>('conversations').where('direct_key', key).first(...CONVERSATION_COLUMNS),
    );
    return r === undefined ? null : fromConversationRecord(r);
  }

  /**
   * Fencing: upserts each unit's epoch keeping the greater of stored and given, then reads the
   * result back; a fence whose epoch is below it is stale. Raising and checking happen under
   * the row lock of the upsert, so two writers of one unit cannot both pass with different epochs.
   */
  private async raiseEpochs(trx: Knex.Transaction, op: string, fences: readonly Fence[]): Promise<void> {
    const newest = newestEpochs(fences);
    const units = [...newest.keys()].sort();
    for (const chunk of chunksOf(units)) {
      await trx('epochs')
        .insert(chunk.map((unit) => ({ unit, epoch: newest.get(unit) })))
        .onConflict('unit')
        .merge({ epoch: keepGreaterOnUpsert(trx, 'epoch') });
    }
    const stored = new Map<string, number>();
    for (const chunk of chunksOf(units)) {
      const rows = await trx<{ unit: string; epoch: number | string }>('epochs').whereIn('unit', chunk).select('unit', 'epoch');
      for (const r of rows) stored.set(r.unit, Number(r.epoch));
    }
    refuseStale(op, fences, stored);
  }

  /**
   * MySQL: inserts the epochs row of each unit not seen before (at NO_EPOCH, below every real
   * one), each insert committed on its own, so that a fenced write's transaction only updates
   * existing rows. InnoDB's upsert of a missing key takes a gap lock, and two transactions
   * upserting the same new unit deadlock (nearly every such race on MariaDB 10.11), which
   * would turn the losing writer's `conflict` into a retriable `unavailable`.
   */
  private async createEpochRows(op: string, fences: readonly Fence[]): Promise<void> {
    if (this.sqlite) return; // one writer at a time: no gap locks to avoid
    const known = this.shared.unitsWithEpochRow;
    const missing = distinct(fences.map((b) => b.unit).filter((unit) => !known.has(unit))).sort();
    if (missing.length === 0) return;
    await this.run(op, async (db) => {
      for (const chunk of chunksOf(missing)) {
        await db('epochs').insert(chunk.map((unit) => ({ unit, epoch: NO_EPOCH }))).onConflict('unit').ignore();
      }
    });
    for (const unit of missing) known.add(unit);
  }

  // ---- plumbing

  private async run<T>(op: string, fn: (db: Knex) => Promise<T>): Promise<T> {
    if (this.shared.closed) throw new TroupeError('closed', `${op}: the store is closed`);
    try {
      return await fn(this.knex);
    } catch (err) {
      throw storeError(op, err);
    }
  }

  private transaction<T>(op: string, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    return this.run(op, (db) => db.transaction(fn));
  }

  /**
   * A write transaction: checks `given` (the call's own fence) and the bound fences first, under
   * their epochs rows' locks (the lock order), then runs `fn`.
   */
  private async write<T>(op: string, given: Fence | undefined, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    const fences = given === undefined ? this.bound : [{ unit: given.unit, epoch: given.epoch }, ...this.bound];
    if (fences.length === 0) return this.transaction(op, fn);
    await this.createEpochRows(op, fences);
    return this.transaction(op, async (trx) => {
      await this.raiseEpochs(trx, op, fences);
      return fn(trx);
    });
  }

  /** A single-statement write: one statement without bound fences, a fenced transaction with them. */
  private writeOne<T>(op: string, fn: (db: Knex | Knex.Transaction) => Promise<T>): Promise<T> {
    return this.bound.length === 0 ? this.run(op, fn) : this.write(op, undefined, fn);
  }
}
