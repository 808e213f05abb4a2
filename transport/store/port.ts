/**
 * The storage port: everything Troupe keeps durably (docs/architecture.md, "Store").
 *
 * One implementation, `knex.ts`, over SQLite (better-sqlite3, embedded mode) or MySQL/MariaDB
 * (mysql2, cluster mode), with the same migrations from sql/. It passes
 * spec/contract/store.contract.ts on both.
 *
 * Guarantees:
 * - **Durability.** A call that resolves has committed its transaction.
 * - **Atomicity.** Each method is one transaction: it happens wholly or not at all.
 * - **Fencing.** Every write that shapes a conversation's history carries the writer's `Fence`
 *   (its placement unit and that unit's epoch): `appendMessages` (per batch), `addMembers`,
 *   `removeMember` and `advanceReadSeq`. The store checks the fence inside the write's own
 *   transaction, against the newest epoch it has seen for the unit in any of these writes: an
 *   older epoch is refused whole with `stale_epoch` (not retriable; a StaleEpochError naming
 *   the unit), the same or a newer one passes, and a newer one becomes the newest (kept only if
 *   the transaction commits). This is how a node that lost its claim is kept from writing, even
 *   if it wakes up with a write in hand after its successor wrote.
 * - **Bound fences** (FenceableStore, the database store): `fencedBy(fences)` is a view of the
 *   same database whose every write transaction, of any method, also checks those fences. A repo
 *   node writes each shard through a view bound to the shard's own epoch (unit `repo/<shard>`),
 *   so the database itself admits one writer per shard (docs/architecture.md, "Single writer
 *   per repo shard").
 * - **Uniqueness.** (conversation, seq) and (conversation, sender, clientId) are unique; a
 *   batch that would break either fails whole with `conflict`.
 * - **Errors.** `conflict` for unique violations the caller can act on (a taken username);
 *   `unavailable` (retriable) when the database cannot be reached; `not_found` where named;
 *   `stale_epoch` for a stale fence (see Fencing). Over gRPC (grpc.ts) a call lands only on the
 *   repo node that owns its key's shard: a node that does not is refused with `not_owner` and
 *   the call goes to the owner, so callers never see `not_owner`; a call no owner took before
 *   its deadline is `unavailable`.
 *
 * Times are ms since the epoch. Ids are opaque strings made by the caller.
 */
import { TroupeError } from '../errors.js';

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

/** A member with the public part of its user, as member listings show it. */
export interface MemberProfileRow {
  userId: string;
  username: string;
  displayName: string;
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

/** Who makes a write: a placement unit and its fencing epoch (the unit's claim's create revision). */
export interface Fence {
  /** Placement unit that produced the write, e.g. `upstream/3`, `repo/17`. */
  unit: string;
  epoch: number;
}

export interface FencedBatch extends Fence {
  messages: MessageRow[];
}

/**
 * The refusal of a write whose fence is older than the newest epoch seen for its unit: code
 * `stale_epoch`, not retriable, naming the unit so that a writer can tell its own stale fence
 * from its caller's. Across gRPC only the code and message travel.
 */
export class StaleEpochError extends TroupeError {
  constructor(
    op: string,
    readonly unit: string,
    readonly epoch: number,
    readonly newest: number,
  ) {
    super('stale_epoch', `${op}: epoch ${epoch} of ${unit} is older than ${newest}`);
    this.name = 'StaleEpochError';
  }
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
  /**
   * One page of members ordered by user id (byte order): those whose id is greater than `after`
   * ('' starts at the first), at most `limit` (a positive integer, otherwise `invalid_argument`),
   * each with its user's name; `more` when further members exist. A page is a range read on
   * (conversation, user id), so it costs the same in a 100,000-member group as in a small one,
   * whatever `after` is. An unknown conversation has no members.
   */
  listMembers(conv: string, after: string, limit: number): Promise<{ members: MemberProfileRow[]; more: boolean }>;
  /** Null when `userId` is not a member. */
  getMember(conv: string, userId: string): Promise<MemberRow | null>;
  /** The user's conversations with their read cursors, newest activity first. */
  listMemberships(userId: string): Promise<MembershipRow[]>;
  /** Ids of users that share a direct conversation with `userId`. */
  directPeers(userId: string): Promise<string[]>;
  /**
   * Adds the users that are not members yet, in the given order; returns those added. Fenced
   * (see Fencing): `stale_epoch` adds nothing.
   */
  addMembers(conv: string, userIds: readonly string[], joinedAt: number, fence: Fence): Promise<string[]>;
  /**
   * Removes a member. When the owner leaves, the longest-standing remaining member becomes owner
   * (null when none is left). Returns the conversation after the change, or null when `userId`
   * was not a member. Fenced (see Fencing): `stale_epoch` removes nothing.
   */
  removeMember(conv: string, userId: string, fence: Fence): Promise<ConversationRow | null>;

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
  /**
   * Moves the cursor forward only; returns the cursor after the call (null: not a member).
   * Fenced (see Fencing): `stale_epoch` moves nothing.
   */
  advanceReadSeq(conv: string, userId: string, seq: number, fence: Fence): Promise<number | null>;

  /** Reads one row (`select 1`); rejects with `unavailable` when the database is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A store that can bind fences to every write it makes (the database store; see Bound fences). */
export interface FenceableStore extends Store {
  /**
   * A view of the same database whose every write transaction also checks `fences` (after any
   * fence the call carries itself), refusing with `stale_epoch` like a call's own fence. Reads
   * are unchanged. Views share the database's connections; closing any of them closes it.
   */
  fencedBy(fences: readonly Fence[]): FenceableStore;
}
