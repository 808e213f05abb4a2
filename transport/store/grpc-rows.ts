/**
 * The store port's rows to and from their wire form (proto/troupe/v1/repo.proto), used by
 * both halves: the client (grpc.ts) and the server (grpc-service.ts). Nullable columns travel
 * as unset optional fields; a message field the protocol says is always set but is missing
 * means a malformed call, refused with `invalid_argument`.
 */
import { TroupeError } from '../errors.js';
import * as wire from '../../proto/gen/troupe/v1/repo.js';
import type { ConversationRow, Fence, FencedBatch, MemberProfileRow, MemberRow, MembershipRow, MessageRow, RefreshTokenRow, UserRow } from './port.js';

/** `value`, which the protocol says is always set; `what` names it for the error. */
export function present<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new TroupeError('invalid_argument', `malformed repo call: ${what} missing`);
  return value;
}

export function userToWire(row: UserRow): wire.UserRow {
  return { id: row.id, username: row.username, displayName: row.displayName, passwordHash: row.passwordHash, createdAt: row.createdAt };
}

export function userFromWire(w: wire.UserRow): UserRow {
  return { id: w.id, username: w.username, displayName: w.displayName, passwordHash: w.passwordHash, createdAt: w.createdAt };
}

export function tokenToWire(row: RefreshTokenRow): wire.RefreshTokenRow {
  return {
    tokenHash: row.tokenHash,
    userId: row.userId,
    familyId: row.familyId,
    expiresAt: row.expiresAt,
    usedAt: row.usedAt ?? undefined,
    revoked: row.revoked,
  };
}

export function tokenFromWire(w: wire.RefreshTokenRow): RefreshTokenRow {
  return { tokenHash: w.tokenHash, userId: w.userId, familyId: w.familyId, expiresAt: w.expiresAt, usedAt: w.usedAt ?? null, revoked: w.revoked };
}

export function conversationToWire(row: ConversationRow): wire.ConversationRow {
  return {
    id: row.id,
    type: row.type === 'direct' ? wire.ConversationType.CONVERSATION_TYPE_DIRECT : wire.ConversationType.CONVERSATION_TYPE_GROUP,
    name: row.name ?? undefined,
    ownerId: row.ownerId ?? undefined,
    lastSeq: row.lastSeq,
    memberCount: row.memberCount,
    createdAt: row.createdAt,
  };
}

export function conversationFromWire(w: wire.ConversationRow): ConversationRow {
  let type: ConversationRow['type'];
  if (w.type === wire.ConversationType.CONVERSATION_TYPE_DIRECT) type = 'direct';
  else if (w.type === wire.ConversationType.CONVERSATION_TYPE_GROUP) type = 'group';
  else throw new TroupeError('invalid_argument', `malformed repo call: conversation ${w.id} has type ${String(w.type)}`);
  return { id: w.id, type, name: w.name ?? null, ownerId: w.ownerId ?? null, lastSeq: w.lastSeq, memberCount: w.memberCount, createdAt: w.createdAt };
}

export function memberToWire(row: MemberRow): wire.MemberRow {
  return { userId: row.userId, readSeq: row.readSeq, joinedAt: row.joinedAt };
}

export function memberFromWire(w: wire.MemberRow): MemberRow {
  return { userId: w.userId, readSeq: w.readSeq, joinedAt: w.joinedAt };
}

export function memberProfileToWire(row: MemberProfileRow): wire.MemberProfileRow {
  return { userId: row.userId, username: row.username, displayName: row.displayName, joinedAt: row.joinedAt };
}

export function memberProfileFromWire(w: wire.MemberProfileRow): MemberProfileRow {
  return { userId: w.userId, username: w.username, displayName: w.displayName, joinedAt: w.joinedAt };
}

export function messageToWire(row: MessageRow): wire.MessageRow {
  return { conv: row.conv, seq: row.seq, id: row.id, from: row.from, clientId: row.clientId, body: row.body, ts: row.ts };
}

export function messageFromWire(w: wire.MessageRow): MessageRow {
  return { conv: w.conv, seq: w.seq, id: w.id, from: w.from, clientId: w.clientId, body: w.body, ts: w.ts };
}

export function membershipToWire(row: MembershipRow): wire.MembershipRow {
  return { conv: conversationToWire(row.conv), readSeq: row.readSeq };
}

export function membershipFromWire(w: wire.MembershipRow): MembershipRow {
  return { conv: conversationFromWire(present(w.conv, 'membership conv')), readSeq: w.readSeq };
}

export function batchToWire(batch: FencedBatch): wire.FencedBatch {
  return { unit: batch.unit, epoch: batch.epoch, messages: batch.messages.map(messageToWire) };
}

export function batchFromWire(w: wire.FencedBatch): FencedBatch {
  return { unit: w.unit, epoch: w.epoch, messages: w.messages.map(messageFromWire) };
}

export function fenceToWire(fence: Fence): wire.Fence {
  return { unit: fence.unit, epoch: fence.epoch };
}

/** The call's fence, which the protocol says is always set: a call without one is refused. */
export function fenceFromWire(w: wire.Fence | undefined): Fence {
  const fence = present(w, 'fence');
  return { unit: fence.unit, epoch: fence.epoch };
}
