/**
 * Everything the uWS bound knows, in memory and nowhere else: users, access tokens,
 * conversations with their members and a per-conversation seq counter. It answers the setup
 * routes (bench/peers/setup-routes.ts) and tells the server when users join a conversation, so
 * their open sockets can subscribe to its topic.
 *
 * Passwords are kept as a salted SHA-256 digest: the bound exists to measure the floor under
 * messaging, not to keep secrets, and its process lives for one benchmark run. Tokens are random
 * strings mapped to their user, good for docs/protocol.md's default 900 s.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { TroupeError } from '../../../transport/errors.js';
import { randomId } from '../../../transport/random-id.js';
import type { ConversationRequest, LoginRequest, RegisterRequest } from '../setup-requests.js';
import { conversationView, type ConversationView, type Creation, type SetupBackend, type UserView } from '../setup-routes.js';

const TOKEN_TTL_SEC = 900;

interface BoundUser {
  view: UserView;
  salt: Buffer;
  digest: Buffer;
  /** Ids of the user's conversations, in the order joined. */
  conversations: string[];
}

/** One conversation; `lastSeq` is its counter, raised by every accepted send. */
export interface BoundConversation {
  readonly id: string;
  readonly type: 'direct' | 'group';
  readonly name: string | null;
  readonly owner: string | null;
  /** In join order. */
  readonly members: string[];
  readonly memberSet: Set<string>;
  readonly createdAt: number;
  lastSeq: number;
}

export class BoundState implements SetupBackend {
  private readonly users = new Map<string, BoundUser>();
  private readonly userIdByName = new Map<string, string>();
  private readonly tokens = new Map<string, { userId: string; expiresAt: number }>();
  private readonly conversations = new Map<string, BoundConversation>();
  private readonly directByPair = new Map<string, string>();

  /** @param onJoined called after users became members of a new conversation */
  constructor(private readonly onJoined: (conversationId: string, userIds: readonly string[]) => void) {}

  register(request: RegisterRequest): Promise<UserView> {
    if (this.userIdByName.has(request.username)) return Promise.reject(new TroupeError('conflict', 'username is taken'));
    const view: UserView = { id: `u_${randomId(12)}`, username: request.username, displayName: request.displayName };
    const salt = randomBytes(16);
    this.users.set(view.id, { view, salt, digest: digest(salt, request.password), conversations: [] });
    this.userIdByName.set(view.username, view.id);
    return Promise.resolve(view);
  }

  login(request: LoginRequest): Promise<UserView> {
    const id = this.userIdByName.get(request.username);
    const user = id === undefined ? undefined : this.users.get(id);
    if (user === undefined || !timingSafeEqual(user.digest, digest(user.salt, request.password))) {
      return Promise.reject(new TroupeError('unauthenticated', 'wrong username or password'));
    }
    return Promise.resolve(user.view);
  }

  issueToken(userId: string): { token: string; expiresInSec: number } {
    const token = randomId(24);
    this.tokens.set(token, { userId, expiresAt: Date.now() + TOKEN_TTL_SEC * 1000 });
    return { token, expiresInSec: TOKEN_TTL_SEC };
  }

  verifyToken(token: string): string | undefined {
    const entry = this.tokens.get(token);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.tokens.delete(token);
      return undefined;
    }
    return entry.userId;
  }

  createConversation(self: string, request: ConversationRequest): Promise<Creation> {
    const others = request.type === 'direct' ? [request.peer] : request.members;
    const unknown = others.find((id) => !this.users.has(id));
    if (unknown !== undefined) {
      const field = request.type === 'direct' ? 'peer' : 'members';
      return Promise.reject(new TroupeError('not_found', `${field}: no such user ${unknown.slice(0, 64)}`));
    }
    if (request.type === 'direct') {
      const pair = [self, request.peer].sort().join(' ');
      const existing = this.directByPair.get(pair);
      if (existing !== undefined) return Promise.resolve({ conversation: conversationView(this.conversations.get(existing)!), created: false });
      const conversation = this.add('direct', null, null, [self, request.peer]);
      this.directByPair.set(pair, conversation.id);
      return Promise.resolve({ conversation: conversationView(conversation), created: true });
    }
    const conversation = this.add('group', request.name, self, [self, ...request.members]);
    return Promise.resolve({ conversation: conversationView(conversation), created: true });
  }

  conversation(self: string, id: string): Promise<ConversationView> {
    const conversation = this.conversations.get(id);
    if (conversation === undefined || !conversation.memberSet.has(self)) return Promise.reject(new TroupeError('not_found', 'no such conversation'));
    return Promise.resolve(conversationView(conversation));
  }

  addMembers(self: string, id: string, members: readonly string[]): Promise<ConversationView> {
    try {
      const conversation = this.memberConversation(self, id);
      if (conversation.type === 'direct') throw new TroupeError('invalid_argument', 'members: a direct conversation has no members to change');
      if (conversation.owner !== self) throw new TroupeError('forbidden', 'only the owner may add members');
      const unknown = members.find((member) => !this.users.has(member));
      if (unknown !== undefined) throw new TroupeError('not_found', `members: no such user ${unknown.slice(0, 64)}`);
      const added = members.filter((member) => !conversation.memberSet.has(member));
      for (const member of added) {
        conversation.members.push(member);
        conversation.memberSet.add(member);
        this.users.get(member)!.conversations.push(conversation.id);
      }
      this.onJoined(conversation.id, added);
      return Promise.resolve(conversationView(conversation));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** The conversation `id` if `userId` is a member; `not_found` otherwise. */
  memberConversation(userId: string, id: string): BoundConversation {
    const conversation = this.conversations.get(id);
    if (conversation === undefined || !conversation.memberSet.has(userId)) throw new TroupeError('not_found', 'no such conversation');
    return conversation;
  }

  user(userId: string): UserView | undefined {
    return this.users.get(userId)?.view;
  }

  /** The user's conversations, in the order joined. */
  conversationsOf(userId: string): BoundConversation[] {
    return (this.users.get(userId)?.conversations ?? []).map((id) => this.conversations.get(id)!);
  }

  private add(type: 'direct' | 'group', name: string | null, owner: string | null, members: string[]): BoundConversation {
    const conversation: BoundConversation = {
      id: `c_${randomId(12)}`,
      type,
      name,
      owner,
      members,
      memberSet: new Set(members),
      createdAt: Date.now(),
      lastSeq: 0,
    };
    this.conversations.set(conversation.id, conversation);
    for (const member of members) this.users.get(member)!.conversations.push(conversation.id);
    this.onJoined(conversation.id, members);
    return conversation;
  }
}

function digest(salt: Buffer, password: string): Buffer {
  return createHash('sha256').update(salt).update(password).digest();
}
