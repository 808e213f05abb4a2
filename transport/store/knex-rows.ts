/**
 * The database's rows (snake_case, as the migrations in sql/ define them) and their mapping to
 * the port's row types.
 *
 * Drivers differ in how they hand back numbers (mysql2 may give BIGINT and DECIMAL as strings,
 * booleans are TINYINT 0/1 on MySQL and INTEGER 0/1 on SQLite), so every numeric and boolean
 * column goes through `Number()` / `!== 0` here and nowhere else.
 */
import type { ConversationRow, ConversationType, MemberProfileRow, MemberRow, MessageRow, RefreshTokenRow, UserRow } from './port.js';

type DbNumber = number | string;

export interface UserRecord {
  id: string;
  username: string;
  display_name: string;
  password_hash: string;
  created_at: DbNumber;
}

export const USER_COLUMNS = ['id', 'username', 'display_name', 'password_hash', 'created_at'] as const;

export function toUserRecord(user: UserRow): UserRecord {
  return {
    id: user.id,
    username: user.username,
    display_name: user.displayName,
    password_hash: user.passwordHash,
    created_at: user.createdAt,
  };
}

export function fromUserRecord(r: UserRecord): UserRow {
  return {
    id: r.id,
    username: r.username,
    displayName: r.display_name,
    passwordHash: r.password_hash,
    createdAt: Number(r.created_at),
  };
}

export interface RefreshTokenRecord {
  token_hash: string;
  user_id: string;
  family_id: string;
  expires_at: DbNumber;
  used_at: DbNumber | null;
  revoked: boolean | number;
}

export const REFRESH_TOKEN_COLUMNS = ['token_hash', 'user_id', 'family_id', 'expires_at', 'used_at', 'revoked'] as const;

export function toRefreshTokenRecord(row: RefreshTokenRow): RefreshTokenRecord {
  return {
    token_hash: row.tokenHash,
    user_id: row.userId,
    family_id: row.familyId,
    expires_at: row.expiresAt,
    used_at: row.usedAt,
    revoked: row.revoked,
  };
}

export function fromRefreshTokenRecord(r: RefreshTokenRecord): RefreshTokenRow {
  return {
    tokenHash: r.token_hash,
    userId: r.user_id,
    familyId: r.family_id,
    expiresAt: Number(r.expires_at),
    usedAt: r.used_at === null ? null : Number(r.used_at),
    revoked: Number(r.revoked) !== 0,
  };
}

export interface ConversationRecord {
  id: string;
  type: string;
  name: string | null;
  owner_id: string | null;
  direct_key: string | null;
  last_seq: DbNumber;
  member_count: DbNumber;
  created_at: DbNumber;
  last_activity_at: DbNumber;
}

/** The columns a ConversationRow is made of (direct_key and last_activity_at stay inside). */
export const CONVERSATION_COLUMNS = ['id', 'type', 'name', 'owner_id', 'last_seq', 'member_count', 'created_at'] as const;

export function toConversationRecord(conv: ConversationRow, directKey: string | null, memberCount: number): ConversationRecord {
  return {
    id: conv.id,
    type: conv.type,
    name: conv.name,
    owner_id: conv.ownerId,
    direct_key: directKey,
    last_seq: conv.lastSeq,
    member_count: memberCount,
    created_at: conv.createdAt,
    last_activity_at: conv.createdAt,
  };
}

export function fromConversationRecord(r: Pick<ConversationRecord, (typeof CONVERSATION_COLUMNS)[number]>): ConversationRow {
  return {
    id: r.id,
    type: r.type as ConversationType,
    name: r.name,
    ownerId: r.owner_id,
    lastSeq: Number(r.last_seq),
    memberCount: Number(r.member_count),
    createdAt: Number(r.created_at),
  };
}

export interface MemberRecord {
  id: DbNumber;
  conv_id: string;
  user_id: string;
  read_seq: DbNumber;
  joined_at: DbNumber;
}

export const MEMBER_COLUMNS = ['user_id', 'read_seq', 'joined_at'] as const;

export function fromMemberRecord(r: Pick<MemberRecord, (typeof MEMBER_COLUMNS)[number]>): MemberRow {
  return { userId: r.user_id, readSeq: Number(r.read_seq), joinedAt: Number(r.joined_at) };
}

/** A member joined with its user (listMembers), as both stores select it: members `m`, users `u`. */
export interface MemberProfileRecord {
  user_id: string;
  username: string;
  display_name: string;
  joined_at: DbNumber;
}

export const MEMBER_PROFILE_COLUMNS = ['m.user_id', 'u.username', 'u.display_name', 'm.joined_at'] as const;

export function fromMemberProfileRecord(r: MemberProfileRecord): MemberProfileRow {
  return { userId: r.user_id, username: r.username, displayName: r.display_name, joinedAt: Number(r.joined_at) };
}

export interface MessageRecord {
  conv_id: string;
  seq: DbNumber;
  id: string;
  sender: string;
  client_id: string;
  body: string;
  ts: DbNumber;
}

export const MESSAGE_COLUMNS = ['conv_id', 'seq', 'id', 'sender', 'client_id', 'body', 'ts'] as const;

export function fromMessageRecord(r: MessageRecord): MessageRow {
  return {
    conv: r.conv_id,
    seq: Number(r.seq),
    id: r.id,
    from: r.sender,
    clientId: r.client_id,
    body: r.body,
    ts: Number(r.ts),
  };
}
