/**
 * The storage port: everything Troupe keeps durably (DESIGN.md, "Storage").
 *
 * One implementation, `knex.ts`, over SQLite (better-sqlite3, embedded mode) or MySQL/MariaDB
 * (mysql2, cluster mode), with the same migrations from sql/. It passes
 * spec/contract/store.contract.ts on both.
 *
 * Guarantees:
 * - **Durability.** A call that resolves has committed its transaction.
 * - **Atomicity.** Each method is one transaction: it happens wholly or not at all.
 * - **Fencing.** `appendMessages` refuses (with `stale_epoch`, not retriable) a batch whose epoch
 *   for a unit is older than the newest epoch the store has seen for that unit; a newer epoch
 *   becomes the newest. This is how a node that lost its claim is kept from writing.
 * - **Uniqueness.** (conversation, seq) and (conversation, sender, clientId) are unique; a
 *   batch that would break either fails whole with `conflict`.
 * - **Errors.** `conflict` for unique violations the caller can act on (a taken username);
 *   `unavailable` (retriable) when the database cannot be reached; `not_found` where named.
 *
 * Times are ms since the epoch. Ids are opaque strings made by the caller.
 */

export interface UserRow {
  id: string;
  username: string;
  displayName: string;
  passwordHash: string;
  createdAt: number;
}

export interface RefreshTokenRow {
  /** SHA-256 of the token, hex. The token itself is never stored. */
  tokenHash: string;
  userId: string;
  /** All tokens of one login share a family; reuse of a spent token revokes the family. */
  familyId: string;
  expiresAt: number;
  /** When it was exchanged for a new one; null while unused. */
  usedAt: number | null;
  revoked: boolean;
}

export type ConversationType = 'direct' | 'group';

export interface ConversationRow {
  id: string;
  type: ConversationType;
  /** Groups only. */
  name: string | null;
  /** Groups only; null when the last member left. */
  ownerId: string | null;
  lastSeq: number;
  memberCount: number;
  createdAt: number;
}

export interface MemberRow {
  userId: string;
  readSeq: number;
  joinedAt: number;
}

export interface MessageRow {
  conv: string;
  seq: number;
  /** Server-made id of the message. */
  id: string;
  from: string;
  clientId: string;
  /** The body object's JSON text, stored as given. */
  body: string;
  ts: number;
}

/** Per-user summary of a conversation (for the `ready` frame and listings). */
export interface MembershipRow {
  conv: ConversationRow;
  readSeq: number;
}

export interface FencedBatch {
  /** Placement unit that produced the writes, e.g. `upstream/3`. */
  unit: string;
  epoch: number;
  messages: MessageRow[];
}

export interface Store {
  // ---- users
  /** `conflict` when the username is taken. */
  createUser(user: UserRow): Promise<void>;
  getUser(id: string): Promise<UserRow | null>;
  getUserByUsername(username: string): Promise<UserRow | null>;
  /** Existing users among `ids` (any order); unknown ids are absent. */
  getUsers(ids: readonly string[]): Promise<UserRow[]>;

  // ---- refresh tokens
  insertRefreshToken(row: RefreshTokenRow): Promise<void>;
  getRefreshToken(tokenHash: string): Promise<RefreshTokenRow | null>;
  /**
   * Marks the token used at `usedAt` only if it is unused and not revoked, and in the same
   * transaction inserts `next` (the rotated token). True when this call spent it; false when it
   * was already used or revoked (then nothing is inserted).
   */
  rotateRefreshToken(tokenHash: string, usedAt: number, next: RefreshTokenRow): Promise<boolean>;
  /** Revokes every token of the family. */
  revokeRefreshFamily(familyId: string): Promise<void>;

  // ---- conversations and members
  /**
   * Creates a group with its members (the owner among them, joined first). Member order in
   * `memberIds` is join order.
   */
  createGroup(conv: ConversationRow, memberIds: readonly string[]): Promise<void>;
  /**
   * Returns the direct conversation of the two users, creating it (with both as members) when
   * there is none. Idempotent and safe under concurrent calls: both callers get the same row.
   * `created` tells whether this call made it.
   */
  getOrCreateDirect(id: string, userA: string, userB: string, createdAt: number): Promise<{ conv: ConversationRow; created: boolean }>;
  getConversation(id: string): Promise<ConversationRow | null>;
  /** Members in join order (longest-standing first). */
  getMembers(conv: string): Promise<MemberRow[]>;
  /** Null when `userId` is not a member. */
  getMember(conv: string, userId: string): Promise<MemberRow | null>;
  /** The user's conversations with their read cursors, newest activity first. */
  listMemberships(userId: string): Promise<MembershipRow[]>;
  /** Ids of users that share a direct conversation with `userId`. */
  directPeers(userId: string): Promise<string[]>;
  /** Adds the users that are not members yet, in the given order; returns those added. */
  addMembers(conv: string, userIds: readonly string[], joinedAt: number): Promise<string[]>;
  /**
   * Removes a member. When the owner leaves, the longest-standing remaining member becomes owner
   * (null when none is left). Returns the conversation after the change, or null when `userId`
   * was not a member.
   */
  removeMember(conv: string, userId: string): Promise<ConversationRow | null>;

  // ---- messages and cursors
  /**
   * Appends messages of one or more conversations in one transaction, raising each
   * conversation's `lastSeq` to its highest seq in the batch, after checking every batch's
   * epoch (see Fencing). Each conversation's seqs in the call must continue its lastSeq
   * without gaps; otherwise `conflict`.
   */
  appendMessages(batches: readonly FencedBatch[]): Promise<void>;
  /** Messages with seq > after, ascending, at most `limit`; `more` when further ones exist. */
  listMessages(conv: string, after: number, limit: number): Promise<{ messages: MessageRow[]; more: boolean }>;
  /** Stored messages of `conv` among the given (sender, clientId) pairs. */
  findByClientIds(conv: string, keys: ReadonlyArray<{ from: string; clientId: string }>): Promise<MessageRow[]>;
  /** Moves the cursor forward only; returns the cursor after the call (null: not a member). */
  advanceReadSeq(conv: string, userId: string, seq: number): Promise<number | null>;

  /** Reads one row (`select 1`); rejects with `unavailable` when the database is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
