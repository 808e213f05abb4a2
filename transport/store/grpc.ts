/**
 * The storage port over gRPC, for gateways, logic and task nodes in cluster mode: each call
 * goes to the repo node that `resolve` names for its routing key, which serves it with
 * grpc-service.ts in front of the shared database. Every repo node can answer every call (they
 * share one database); routing by key sends one conversation's writes to one node, where they
 * are group-committed per shard.
 *
 * Routing keys: the conversation id for conversation, member and message calls; the user id
 * for getUser, listMemberships and directPeers (createUser: the new user's id); the username
 * for getUserByUsername; the token hash or family id for refresh-token calls; the first id for
 * getUsers; the new id for getOrCreateDirect and createGroup.
 *
 * appendMessages goes whole, as one call, to the node of its first conversation (or of its
 * first unit when it carries no messages), so the port's promise that a call is one
 * transaction holds for calls that span conversations too. Logic sends one conversation per
 * call, so this routes exactly as a per-conversation split would.
 *
 * Which calls are retried (transport/rpc/client.ts retries only after `unavailable`, and only
 * calls marked idempotent here), and why:
 * - idempotent: every read; ping; getOrCreateDirect (a repeat returns the same conversation,
 *   though with `created: false` if the first attempt made it unseen); revokeRefreshFamily
 *   (revoking twice leaves the same state); advanceReadSeq (forward only: a repeat changes
 *   nothing and returns the same cursor).
 * - not idempotent, sent once: createUser, insertRefreshToken and createGroup (a repeat after a
 *   lost answer says `conflict` or `not_found` about the caller's own write); rotateRefreshToken
 *   (a repeat says the token is spent, and the caller would revoke its own family); addMembers
 *   and removeMember (a repeat reports nothing added or "not a member"); appendMessages (a
 *   repeat is a `conflict` on the caller's own seqs).
 *
 * Errors: the server's TroupeErrors arrive with their code and message; a node that cannot be
 * reached in time, a key no node owns and an open circuit breaker are `unavailable`.
 */
import * as wire from '../../proto/gen/troupe/v1/repo.js';
import { TroupeError } from '../errors.js';
import { RpcClient, type UnaryMethod } from '../rpc/client.js';
import type { RpcObserver } from '../rpc/observer.js';
import {
  batchToWire,
  conversationFromWire,
  conversationToWire,
  memberFromWire,
  membershipFromWire,
  messageFromWire,
  present,
  tokenFromWire,
  tokenToWire,
  userFromWire,
  userToWire,
} from './grpc-rows.js';
import type { ConversationRow, FencedBatch, MemberRow, MembershipRow, MessageRow, RefreshTokenRow, Store, UserRow } from './port.js';

export interface GrpcStoreOptions {
  /** `host:port` of the repo node for a routing key; undefined when no node owns its shard. */
  resolve: (routingKey: string) => string | undefined;
  /** Longest a call may take, retries included. */
  deadlineMs: number;
  /** Attempts in all of an idempotent call that fails with `unavailable` (1 = no retry). */
  attempts: number;
  /** Consecutive failures to reach one node that open its circuit breaker. */
  breakerFailures: number;
  /** How long an open breaker answers `unavailable` before it lets one call through. */
  breakerHalfOpenMs: number;
  observer?: RpcObserver;
}

const S = wire.RepoService;
const IDEMPOTENT = true;
const ONCE = false;

export class GrpcStore implements Store {
  private readonly rpc: RpcClient;

  constructor(private readonly options: GrpcStoreOptions) {
    this.rpc = new RpcClient(options);
  }

  // ---- users

  async createUser(user: UserRow): Promise<void> {
    await this.call(S.createUser, { user: userToWire(user) }, user.id, ONCE);
  }

  async getUser(id: string): Promise<UserRow | null> {
    const { user } = await this.call(S.getUser, { id }, id, IDEMPOTENT);
    return user === undefined ? null : userFromWire(user);
  }

  async getUserByUsername(username: string): Promise<UserRow | null> {
    const { user } = await this.call(S.getUserByUsername, { username }, username, IDEMPOTENT);
    return user === undefined ? null : userFromWire(user);
  }

  async getUsers(ids: readonly string[]): Promise<UserRow[]> {
    const first = ids[0];
    if (first === undefined) return [];
    const { users } = await this.call(S.getUsers, { ids: [...ids] }, first, IDEMPOTENT);
    return users.map(userFromWire);
  }

  // ---- refresh tokens

  async insertRefreshToken(row: RefreshTokenRow): Promise<void> {
    await this.call(S.insertRefreshToken, { token: tokenToWire(row) }, row.tokenHash, ONCE);
  }

  async getRefreshToken(tokenHash: string): Promise<RefreshTokenRow | null> {
    const { token } = await this.call(S.getRefreshToken, { tokenHash }, tokenHash, IDEMPOTENT);
    return token === undefined ? null : tokenFromWire(token);
  }

  async rotateRefreshToken(tokenHash: string, usedAt: number, next: RefreshTokenRow): Promise<boolean> {
    const { spent } = await this.call(S.rotateRefreshToken, { tokenHash, usedAt, next: tokenToWire(next) }, tokenHash, ONCE);
    return spent;
  }

  async revokeRefreshFamily(familyId: string): Promise<void> {
    await this.call(S.revokeRefreshFamily, { familyId }, familyId, IDEMPOTENT);
  }

  // ---- conversations and members

  async createGroup(conv: ConversationRow, memberIds: readonly string[]): Promise<void> {
    await this.call(S.createGroup, { conv: conversationToWire(conv), memberIds: [...memberIds] }, conv.id, ONCE);
  }

  async getOrCreateDirect(id: string, userA: string, userB: string, createdAt: number): Promise<{ conv: ConversationRow; created: boolean }> {
    const answer = await this.call(S.getOrCreateDirect, { id, userA, userB, createdAt }, id, IDEMPOTENT);
    return { conv: conversationFromWire(present(answer.conv, 'conv')), created: answer.created };
  }

  async getConversation(id: string): Promise<ConversationRow | null> {
    const { conv } = await this.call(S.getConversation, { id }, id, IDEMPOTENT);
    return conv === undefined ? null : conversationFromWire(conv);
  }

  async getMembers(conv: string): Promise<MemberRow[]> {
    const { members } = await this.call(S.getMembers, { conv }, conv, IDEMPOTENT);
    return members.map(memberFromWire);
  }

  async getMember(conv: string, userId: string): Promise<MemberRow | null> {
    const { member } = await this.call(S.getMember, { conv, userId }, conv, IDEMPOTENT);
    return member === undefined ? null : memberFromWire(member);
  }

  async listMemberships(userId: string): Promise<MembershipRow[]> {
    const { memberships } = await this.call(S.listMemberships, { userId }, userId, IDEMPOTENT);
    return memberships.map(membershipFromWire);
  }

  async directPeers(userId: string): Promise<string[]> {
    const { userIds } = await this.call(S.directPeers, { userId }, userId, IDEMPOTENT);
    return userIds;
  }

  async addMembers(conv: string, userIds: readonly string[], joinedAt: number): Promise<string[]> {
    const { added } = await this.call(S.addMembers, { conv, userIds: [...userIds], joinedAt }, conv, ONCE);
    return added;
  }

  async removeMember(conv: string, userId: string): Promise<ConversationRow | null> {
    const answer = await this.call(S.removeMember, { conv, userId }, conv, ONCE);
    return answer.conv === undefined ? null : conversationFromWire(answer.conv);
  }

  // ---- messages and cursors

  async appendMessages(batches: readonly FencedBatch[]): Promise<void> {
    const key = appendKey(batches);
    if (key === undefined) return;
    await this.call(S.appendMessages, { batches: batches.map(batchToWire) }, key, ONCE);
  }

  async listMessages(conv: string, after: number, limit: number): Promise<{ messages: MessageRow[]; more: boolean }> {
    const page = await this.call(S.listMessages, { conv, after, limit }, conv, IDEMPOTENT);
    return { messages: page.messages.map(messageFromWire), more: page.more };
  }

  async findByClientIds(conv: string, keys: ReadonlyArray<{ from: string; clientId: string }>): Promise<MessageRow[]> {
    const request = { conv, keys: keys.map(({ from, clientId }) => ({ from, clientId })) };
    const { messages } = await this.call(S.findByClientIds, request, conv, IDEMPOTENT);
    return messages.map(messageFromWire);
  }

  async advanceReadSeq(conv: string, userId: string, seq: number): Promise<number | null> {
    const { readSeq } = await this.call(S.advanceReadSeq, { conv, userId, seq }, conv, IDEMPOTENT);
    return readSeq ?? null;
  }

  /** Pings the node of the empty routing key: proves one repo node and its database answer. */
  async ping(): Promise<void> {
    await this.call(S.ping, {}, '', IDEMPOTENT);
  }

  /** Closes every channel; later calls fail with `closed`. */
  async close(): Promise<void> {
    await this.rpc.close();
  }

  private call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, routingKey: string, idempotent: boolean): Promise<Res> {
    return this.rpc.call(method, request, () => this.target(routingKey), idempotent);
  }

  private target(routingKey: string): string {
    const address = this.options.resolve(routingKey);
    if (address === undefined) throw new TroupeError('unavailable', `no repo node owns shard of key ${routingKey}`);
    return address;
  }
}

/** The first conversation of the call, or its first unit when it has no messages; undefined when empty. */
function appendKey(batches: readonly FencedBatch[]): string | undefined {
  for (const batch of batches) {
    const first = batch.messages[0];
    if (first !== undefined) return first.conv;
  }
  return batches[0]?.unit;
}
