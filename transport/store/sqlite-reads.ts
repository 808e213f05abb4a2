/**
 * The reads embedded mode makes most (a connect's memberships and direct peers, the users and
 * conversations behind them, history pages) as prepared better-sqlite3 statements on the
 * reading connection (sqlite.ts). Through the query builder each costs 35-85 µs of compiling
 * and preparing against about 4 µs here, and a connect makes several (measured in the
 * 19,000-socket connect storm). Same SQL and results as the database store's methods (knex.ts);
 * the store contract suite runs against both.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Knex } from 'knex';
import { TroupeError } from '../errors.js';
import { storeError } from './knex-errors.js';
import {
  CONVERSATION_COLUMNS,
  MEMBER_COLUMNS,
  MEMBER_PROFILE_COLUMNS,
  MESSAGE_COLUMNS,
  USER_COLUMNS,
  fromConversationRecord,
  fromMemberProfileRecord,
  fromMemberRecord,
  fromMessageRecord,
  fromUserRecord,
  type ConversationRecord,
  type MemberProfileRecord,
  type MemberRecord,
  type MessageRecord,
  type UserRecord,
} from './knex-rows.js';
import { checkPageLimit, pageOf } from './pages.js';
import type { ConversationRow, MemberProfileRow, MemberRow, MembershipRow, MessageRow, UserRow } from './port.js';

const list = (columns: readonly string[], alias?: string): string => columns.map((c) => (alias === undefined ? c : `${alias}.${c}`)).join(', ');

interface Statements {
  user: BetterSqlite3.Statement<[string], UserRecord>;
  conversation: BetterSqlite3.Statement<[string], ConversationRecord>;
  members: BetterSqlite3.Statement<[string], MemberRecord>;
  member: BetterSqlite3.Statement<[string, string], MemberRecord>;
  memberPage: BetterSqlite3.Statement<[string, string, number], MemberProfileRecord>;
  memberships: BetterSqlite3.Statement<[string], ConversationRecord & { read_seq: number }>;
  directPeers: BetterSqlite3.Statement<[string], { user_id: string }>;
  messages: BetterSqlite3.Statement<[string, number, number], MessageRecord>;
}

const prepared = new WeakMap<BetterSqlite3.Database, Statements>();

function statementsOf(db: BetterSqlite3.Database): Statements {
  let s = prepared.get(db);
  if (s !== undefined) return s;
  s = {
    user: db.prepare(`SELECT ${list(USER_COLUMNS)} FROM users WHERE id = ? LIMIT 1`),
    conversation: db.prepare(`SELECT ${list(CONVERSATION_COLUMNS)} FROM conversations WHERE id = ? LIMIT 1`),
    members: db.prepare(`SELECT ${list(MEMBER_COLUMNS)} FROM members WHERE conv_id = ? ORDER BY id`),
    member: db.prepare(`SELECT ${list(MEMBER_COLUMNS)} FROM members WHERE conv_id = ? AND user_id = ? LIMIT 1`),
    memberPage: db.prepare(
      `SELECT ${list(MEMBER_PROFILE_COLUMNS)} FROM members AS m JOIN users AS u ON u.id = m.user_id ` +
        'WHERE m.conv_id = ? AND m.user_id > ? ORDER BY m.user_id LIMIT ?',
    ),
    memberships: db.prepare(
      `SELECT ${list(CONVERSATION_COLUMNS, 'c')}, m.read_seq FROM members AS m JOIN conversations AS c ON c.id = m.conv_id ` +
        'WHERE m.user_id = ? ORDER BY c.last_activity_at DESC, c.id ASC',
    ),
    directPeers: db.prepare(
      "SELECT DISTINCT peer.user_id AS user_id FROM members AS mine JOIN conversations AS c ON c.id = mine.conv_id AND c.type = 'direct' " +
        'JOIN members AS peer ON peer.conv_id = mine.conv_id AND peer.user_id <> mine.user_id WHERE mine.user_id = ?',
    ),
    messages: db.prepare(`SELECT ${list(MESSAGE_COLUMNS)} FROM messages WHERE conv_id = ? AND seq > ? ORDER BY seq LIMIT ?`),
  };
  prepared.set(db, s);
  return s;
}

export class SqliteReads {
  /** `closed()` is the store's: a read after close is `closed`, as on every store. */
  constructor(
    private readonly knex: Knex,
    private readonly closed: () => boolean,
  ) {}

  getUser(id: string): Promise<UserRow | null> {
    return this.read('getUser', (s) => {
      const r = s.user.get(id);
      return r === undefined ? null : fromUserRecord(r);
    });
  }

  getConversation(id: string): Promise<ConversationRow | null> {
    return this.read('getConversation', (s) => {
      const r = s.conversation.get(id);
      return r === undefined ? null : fromConversationRecord(r);
    });
  }

  getMembers(conv: string): Promise<MemberRow[]> {
    return this.read('getMembers', (s) => s.members.all(conv).map(fromMemberRecord));
  }

  listMembers(conv: string, after: string, limit: number): Promise<{ members: MemberProfileRow[]; more: boolean }> {
    return this.read('listMembers', (s) => {
      checkPageLimit('listMembers', limit);
      const page = pageOf(s.memberPage.all(conv, after, limit + 1), limit, fromMemberProfileRecord);
      return { members: page.rows, more: page.more };
    });
  }

  getMember(conv: string, userId: string): Promise<MemberRow | null> {
    return this.read('getMember', (s) => {
      const r = s.member.get(conv, userId);
      return r === undefined ? null : fromMemberRecord(r);
    });
  }

  listMemberships(userId: string): Promise<MembershipRow[]> {
    return this.read('listMemberships', (s) => s.memberships.all(userId).map((r) => ({ conv: fromConversationRecord(r), readSeq: Number(r.read_seq) })));
  }

  directPeers(userId: string): Promise<string[]> {
    return this.read('directPeers', (s) => s.directPeers.all(userId).map((r) => r.user_id));
  }

  listMessages(conv: string, after: number, limit: number): Promise<{ messages: MessageRow[]; more: boolean }> {
    return this.read('listMessages', (s) => {
      checkPageLimit('listMessages', limit);
      const page = pageOf(s.messages.all(conv, after, limit + 1), limit, fromMessageRecord);
      return { messages: page.rows, more: page.more };
    });
  }

  /** Runs `fn` on the pool's one connection (so no knex query runs on it meanwhile). */
  private async read<T>(op: string, fn: (s: Statements) => T): Promise<T> {
    if (this.closed()) throw new TroupeError('closed', `${op}: the store is closed`);
    const client = this.knex.client as { acquireConnection(): Promise<BetterSqlite3.Database>; releaseConnection(c: BetterSqlite3.Database): Promise<void> };
    let db: BetterSqlite3.Database;
    try {
      db = await client.acquireConnection();
    } catch (err) {
      throw storeError(op, err);
    }
    try {
      return fn(statementsOf(db));
    } catch (err) {
      throw storeError(op, err);
    } finally {
      await client.releaseConnection(db);
    }
  }
}
