/**
 * The storage port over gRPC, for gateways, logic and task nodes in cluster mode: each call
 * goes to the repo node that `resolve` names for its routing key, which serves it with
 * grpc-service.ts in front of the shared database. A repo node serves only the keys of the
 * shards it owns (writing each through the shard's group commit, fenced by the shard's epoch)
 * and refuses any other key with `not_owner`, before doing anything.
 *
 * Routing keys (grpc-routing.ts, the same table the repo node runs on the request): the
 * conversation id for conversation, member and message calls, the user id, username, token hash
 * or family id for the others. appendMessages goes whole, as one call, to the node of its first
 * conversation (or of its first unit when it carries no messages), so the port's promise that a
 * call is one transaction holds for calls that span conversations too. Logic sends one
 * conversation per call, so this routes exactly as a per-conversation split would. Calls made
 * in the same turn for the same node travel together in one `AppendEach` request, each still
 * answered on its own (grpc-append-coalescer.ts).
 *
 * A `not_owner` refusal means the route was stale (the shard moved, or is moving): the call is
 * sent again to the key's owner once `routeMoved` says the route changed (or after a short
 * pause), whether or not it is idempotent, since a refusal guarantees nothing was done; the
 * deadline bounds the whole, and a call still refused when it passes fails with `unavailable`
 * (transport/rpc/client.ts). Callers never see `not_owner` from here.
 *
 * Which calls are retried after `unavailable` (transport/rpc/client.ts retries only calls marked
 * idempotent here; a `not_owner` refusal is sent again for every call, see above), and why:
 * - idempotent: every read; ping; getOrCreateDirect (a repeat returns the same conversation,
 *   though with `created: false` if the first attempt made it unseen); revokeRefreshFamily
 *   (revoking twice leaves the same state); advanceReadSeq (forward only: a repeat changes
 *   nothing and returns the same cursor).
 * - not idempotent, sent once to a node that took it: createUser, insertRefreshToken and createGroup (a repeat after a
 *   lost answer says `conflict` or `not_found` about the caller's own write); rotateRefreshToken
 *   (a repeat says the token is spent, and the caller would revoke its own family); addMembers
 *   and removeMember (a repeat reports nothing added or "not a member"); appendMessages (a
 *   repeat is a `conflict` on the caller's own seqs).
 *
 * Errors: the server's TroupeErrors arrive with their code and message; a node that cannot be
 * reached in time, a key no node owns (or none took within the deadline) and an open circuit
 * breaker are `unavailable`.
 */
import * as wire from '../../proto/gen/troupe/v1/repo.js';
import { TroupeError } from '../errors.js';
import { RpcClient, type UnaryMethod } from '../rpc/client.js';
import { AppendCoalescer } from './grpc-append-coalescer.js';
import type { RpcObserver } from '../rpc/observer.js';
import { routingKeyOf, type RepoMethod, type RequestOf, type ResponseOf } from './grpc-routing.js';
import {
  batchToWire,
  conversationFromWire,
  conversationToWire,
  fenceToWire,
  memberFromWire,
  memberProfileFromWire,
  membershipFromWire,
  messageFromWire,
  present,
  tokenFromWire,
  tokenToWire,
  userFromWire,
  userToWire,
} from './grpc-rows.js';
import { checkPageLimit } from './pages.js';
import type { ConversationRow, Fence, FencedBatch, MemberProfileRow, MemberRow, MembershipRow, MessageRow, RefreshTokenRow, Store, UserRow } from './port.js';

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
  /**
   * After `refused` (`host:port`, or undefined when the key had no owner) answered `not_owner`
   * for `routingKey`: resolves once `resolve(routingKey)` names another node, or after
   * `withinMs` at the latest (the router's watch may not have moved yet). Without it, the call
   * is sent again after a plain pause of `withinMs`.
   */
  routeMoved?: (routingKey: string, refused: string | undefined, withinMs: number) => Promise<void>;
  observer?: RpcObserver;
}

const S = wire.RepoService;
const IDEMPOTENT = true;
const ONCE = false;

export class GrpcStore implements Store {
  private readonly rpc: RpcClient;
  /** The appends of one turn to one node go as one call (grpc-append-coalescer.ts). */
  private readonly appends: AppendCoalescer;

  constructor(private readonly options: GrpcStoreOptions) {
    this.rpc = new RpcClient(options);
    this.appends = new AppendCoalescer({
      targetOf: (request) => options.resolve(routingKeyOf('appendMessages', request)),
      one: async (request) => void (await this.call('appendMessages', request, ONCE)),
      each: (request) => this.call('appendEach', request, ONCE),
    });
  }

  /** `AppendEach` calls made so far: appends of one turn that went together. */
  get appendEachCalls(): number {
    return this.appends.eachCalls;
  }

  // ---- users

  async createUser(user: UserRow): Promise<void> {
    await this.call('createUser', { user: userToWire(user) }, ONCE);
  }

  async getUser(id: string): Promise<UserRow | null> {
    const { user } = await this.call('getUser', { id }, IDEMPOTENT);
    return user === undefined ? null : userFromWire(user);
  }

  async getUserByUsername(username: string): Promise<UserRow | null> {
    const { user } = await this.call('getUserByUsername', { username }, IDEMPOTENT);
    return user === undefined ? null : userFromWire(user);
  }

  async getUsers(ids: readonly string[]): Promise<UserRow[]> {
    const first = ids[0];
    if (first === undefined) return [];
    const { users } = await this.call('getUsers', { ids: [...ids] }, IDEMPOTENT);
    return users.map(userFromWire);
  }

  // ---- refresh tokens

  async insertRefreshToken(row: RefreshTokenRow): Promise<void> {
    await this.call('insertRefreshToken', { token: tokenToWire(row) }, ONCE);
  }

  async getRefreshToken(tokenHash: string): Promise<RefreshTokenRow | null> {
    const { token } = await this.call('getRefreshToken', { tokenHash }, IDEMPOTENT);
    return token === undefined ? null : tokenFromWire(token);
  }

  async rotateRefreshToken(tokenHash: string, usedAt: number, next: RefreshTokenRow): Promise<boolean> {
    const { spent } = await this.call('rotateRefreshToken', { tokenHash, usedAt, next: tokenToWire(next) }, ONCE);
    return spent;
  }

  async revokeRefreshFamily(familyId: string): Promise<void> {
    await this.call('revokeRefreshFamily', { familyId }, IDEMPOTENT);
  }

  // ---- conversations and members

  async createGroup(conv: ConversationRow, memberIds: readonly string[]): Promise<void> {
    await this.call('createGroup', { conv: conversationToWire(conv), memberIds: [...memberIds] }, ONCE);
  }

  async getOrCreateDirect(id: string, userA: string, userB: string, createdAt: number): Promise<{ conv: ConversationRow; created: boolean }> {
    const answer = await this.call('getOrCreateDirect', { id, userA, userB, createdAt }, IDEMPOTENT);
    return { conv: conversationFromWire(present(answer.conv, 'conv')), created: answer.created };
  }

  async getConversation(id: string): Promise<ConversationRow | null> {
    const { conv } = await this.call('getConversation', { id }, IDEMPOTENT);
    return conv === undefined ? null : conversationFromWire(conv);
  }

  async getMembers(conv: string): Promise<MemberRow[]> {
    const { members } = await this.call('getMembers', { conv }, IDEMPOTENT);
    return members.map(memberFromWire);
  }

  async listMembers(conv: string, after: string, limit: number): Promise<{ members: MemberProfileRow[]; more: boolean }> {
    checkPageLimit('listMembers', limit); // here: the wire's int32 cannot carry every refused value
    const page = await this.call('listMembers', { conv, after, limit }, IDEMPOTENT);
    return { members: page.members.map(memberProfileFromWire), more: page.more };
  }

  async getMember(conv: string, userId: string): Promise<MemberRow | null> {
    const { member } = await this.call('getMember', { conv, userId }, IDEMPOTENT);
    return member === undefined ? null : memberFromWire(member);
  }

  async listMemberships(userId: string): Promise<MembershipRow[]> {
    const { memberships } = await this.call('listMemberships', { userId }, IDEMPOTENT);
    return memberships.map(membershipFromWire);
  }

  async directPeers(userId: string): Promise<string[]> {
    const { userIds } = await this.call('directPeers', { userId }, IDEMPOTENT);
    return userIds;
  }

  async addMembers(conv: string, userIds: readonly string[], joinedAt: number, fence: Fence): Promise<string[]> {
    const { added } = await this.call('addMembers', { conv, userIds: [...userIds], joinedAt, fence: fenceToWire(fence) }, ONCE);
    return added;
  }

  async removeMember(conv: string, userId: string, fence: Fence): Promise<ConversationRow | null> {
    const answer = await this.call('removeMember', { conv, userId, fence: fenceToWire(fence) }, ONCE);
    return answer.conv === undefined ? null : conversationFromWire(answer.conv);
  }

  // ---- messages and cursors

  async appendMessages(batches: readonly FencedBatch[]): Promise<void> {
    if (batches.length === 0) return;
    await this.appends.append({ batches: batches.map(batchToWire) });
  }

  async listMessages(conv: string, after: number, limit: number): Promise<{ messages: MessageRow[]; more: boolean }> {
    const page = await this.call('listMessages', { conv, after, limit }, IDEMPOTENT);
    return { messages: page.messages.map(messageFromWire), more: page.more };
  }

  async findByClientIds(conv: string, keys: ReadonlyArray<{ from: string; clientId: string }>): Promise<MessageRow[]> {
    const request = { conv, keys: keys.map(({ from, clientId }) => ({ from, clientId })) };
    const { messages } = await this.call('findByClientIds', request, IDEMPOTENT);
    return messages.map(messageFromWire);
  }

  async advanceReadSeq(conv: string, userId: string, seq: number, fence: Fence): Promise<number | null> {
    const { readSeq } = await this.call('advanceReadSeq', { conv, userId, seq, fence: fenceToWire(fence) }, IDEMPOTENT);
    return readSeq ?? null;
  }

  /** Pings the node of the empty routing key: proves one repo node and its database answer. */
  async ping(): Promise<void> {
    await this.call('ping', {}, IDEMPOTENT);
  }

  /** Closes every channel; later calls fail with `closed`. */
  async close(): Promise<void> {
    await this.rpc.close();
  }

  private call<M extends RepoMethod>(method: M, request: RequestOf<M>, idempotent: boolean): Promise<ResponseOf<M>> {
    const routingKey = routingKeyOf(method, request);
    const routeMoved = this.options.routeMoved;
    return this.rpc.call(
      S[method] as unknown as UnaryMethod<RequestOf<M>, ResponseOf<M>>,
      request,
      () => this.target(routingKey),
      idempotent,
      routeMoved === undefined ? undefined : (refused, withinMs) => routeMoved(routingKey, refused, withinMs),
    );
  }

  private target(routingKey: string): string {
    const address = this.options.resolve(routingKey);
    if (address === undefined) throw new TroupeError('unavailable', `no repo node owns shard of key ${routingKey}`);
    return address;
  }
}
