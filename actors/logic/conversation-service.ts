/**
 * The conversation endpoints that need no actor: creating conversations (straight in the
 * store; the new conversation's actor then announces it to the members), listing, reading one,
 * and history. Every read checks membership and answers a non-member exactly like a missing
 * conversation (`not_found`), so existence never leaks.
 *
 * Changes to an existing conversation's members go through its actor instead (a record on
 * `im-upstream`), so they are ordered with the messages being sent to it.
 */
import { TroupeError } from '../../transport/errors.js';
import type { Producer } from '../../transport/log/port.js';
import type { ConversationRow, Store } from '../../transport/store/port.js';
import { isConversationId, isUserId, newId } from '../ids.js';
import { conversationDto, MEMBER_LIST_LIMIT, type ConversationDto } from '../protocol/dto.js';
import { messagesJson } from '../protocol/frames.js';
import { upstreamRecord } from '../records/upstream-record.js';
import { noSuchUser, parseCreateConversation } from './conversation-requests.js';

export interface ConversationServiceOptions {
  store: Store;
  producer: Producer;
  upstreamTopic: string;
  groups: { maxNameChars: number; maxMembers: number };
  now?: () => number;
}

export interface ConversationSummary {
  id: string;
  lastSeq: number;
  readSeq: number;
}

export class ConversationService {
  private readonly now: () => number;

  constructor(private readonly options: ConversationServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  /** `POST /v1/conversations`: 200 for a direct one (idempotent), 201 for a new group. */
  async create(userId: string, body: unknown): Promise<{ status: 200 | 201; conversation: ConversationDto }> {
    const request = parseCreateConversation(body, this.options.groups);
    const { store } = this.options;
    if (request.type === 'direct') {
      if (request.peer === userId) throw new TroupeError('invalid_argument', 'peer: a direct conversation needs another user');
      // A peer that cannot be a user id is answered as an unknown one, without a query.
      if (!isUserId(request.peer) || (await store.getUser(request.peer)) === null) throw new TroupeError('not_found', 'peer: no such user');
      const { conv, created } = await store.getOrCreateDirect(newId('c'), userId, request.peer, this.now());
      if (created) await this.announce(conv.id, userId);
      const member = await store.getMember(conv.id, userId);
      return { status: 200, conversation: conversationDto(conv, sortedPair(userId, request.peer), member?.readSeq ?? 0) };
    }
    const others = request.members.filter((id) => id !== userId);
    if (others.length > 0) {
      // The first member that names nobody is the one refused, whether it is unknown or not an
      // id at all; only the well-formed ids before the first malformed one are looked up.
      const malformed = others.findIndex((id) => !isUserId(id));
      const lookedUp = malformed === -1 ? others : others.slice(0, malformed);
      const found = new Set(lookedUp.length > 0 ? (await store.getUsers(lookedUp)).map((u) => u.id) : []);
      const unknown = lookedUp.find((id) => !found.has(id)) ?? (malformed === -1 ? undefined : others[malformed]);
      if (unknown !== undefined) throw noSuchUser('members', unknown);
    }
    if (others.length + 1 > this.options.groups.maxMembers) {
      throw new TroupeError('invalid_argument', `members: a group holds at most ${this.options.groups.maxMembers} members`);
    }
    const memberIds = [userId, ...others];
    const conv: ConversationRow = {
      id: newId('c'),
      type: 'group',
      name: request.name,
      ownerId: userId,
      lastSeq: 0,
      memberCount: memberIds.length,
      createdAt: this.now(),
    };
    await store.createGroup(conv, memberIds);
    await this.announce(conv.id, userId);
    return { status: 201, conversation: conversationDto(conv, memberIds, 0) };
  }

  /** `GET /v1/conversations`. */
  async list(userId: string): Promise<{ conversations: ConversationDto[] }> {
    const memberships = await this.options.store.listMemberships(userId);
    const conversations = await Promise.all(
      memberships.map(async ({ conv, readSeq }) => conversationDto(conv, await this.memberIdsShown(conv), readSeq)),
    );
    return { conversations };
  }

  /** `GET /v1/conversations/:id`. */
  async get(userId: string, convId: string): Promise<ConversationDto> {
    if (!isConversationId(convId)) throw notFound(); // names nothing: no query
    const [conv, me] = await Promise.all([this.options.store.getConversation(convId), this.options.store.getMember(convId, userId)]);
    if (conv === null || me === null) throw notFound();
    return conversationDto(conv, await this.memberIdsShown(conv), me.readSeq);
  }

  /**
   * The member ids a conversation's DTO shows: none are read for a group over MEMBER_LIST_LIMIT,
   * whose DTO leaves them out (a 100,000-member group would otherwise cost every request a read
   * of 100,000 rows).
   */
  private async memberIdsShown(conv: ConversationRow): Promise<string[]> {
    if (conv.type === 'group' && conv.memberCount > MEMBER_LIST_LIMIT) return [];
    return (await this.options.store.getMembers(conv.id)).map((m) => m.userId);
  }

  /**
   * Messages with seq > after, as the JSON text of the messages array (bodies are spliced in
   * as stored, not parsed again), and whether more exist.
   */
  async history(userId: string, convId: string, after: number, limit: number): Promise<{ messagesJson: string; more: boolean; count: number }> {
    if (!isConversationId(convId)) throw notFound();
    if ((await this.options.store.getMember(convId, userId)) === null) throw notFound();
    const page = await this.options.store.listMessages(convId, after, limit);
    return { messagesJson: messagesJson(page.messages), more: page.more, count: page.messages.length };
  }

  /** Raw page for the WebSocket `sync` frame. */
  async page(userId: string, convId: string, after: number, limit: number): Promise<Awaited<ReturnType<Store['listMessages']>>> {
    if (!isConversationId(convId)) throw notFound();
    if ((await this.options.store.getMember(convId, userId)) === null) throw notFound();
    return this.options.store.listMessages(convId, after, limit);
  }

  /** The `conversations` of the `ready` frame. */
  async summaries(userId: string): Promise<ConversationSummary[]> {
    const memberships = await this.options.store.listMemberships(userId);
    return memberships.map(({ conv, readSeq }) => ({ id: conv.id, lastSeq: conv.lastSeq, readSeq }));
  }

  private async announce(convId: string, actor: string): Promise<void> {
    await this.options.producer.send(this.options.upstreamTopic, [
      upstreamRecord(convId, { type: 'conv_created', conv: convId, actor }),
    ]);
  }
}

function notFound(): TroupeError {
  return new TroupeError('not_found', 'no such conversation');
}

function sortedPair(a: string, b: string): string[] {
  return a < b ? [a, b] : [b, a];
}
