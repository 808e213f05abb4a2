/**
 * The Socket.IO peer's answer to the setup routes: accounts, tokens and conversations in
 * MariaDB. Users who join a conversation (created, or added to a group) are announced through
 * `onJoined`, which resolves once their open sockets, on either process, are in its room.
 */
import type { Pool } from 'mysql2/promise';
import type { ConversationRequest, LoginRequest, RegisterRequest } from '../setup-requests.js';
import type { ConversationView, Creation, SetupBackend, UserView } from '../setup-routes.js';
import { Accounts } from './accounts.js';
import { Conversations } from './conversations.js';
import { TOKEN_TTL_SEC, type TokenSigner } from './tokens.js';

export class SocketIoBackend implements SetupBackend {
  readonly accounts: Accounts;
  readonly conversations: Conversations;

  constructor(
    pool: Pool,
    private readonly tokens: TokenSigner,
    private readonly onJoined: (conversationId: string, userIds: readonly string[], lastSeq: number) => Promise<void>,
  ) {
    this.accounts = new Accounts(pool);
    this.conversations = new Conversations(pool, this.accounts);
  }

  register(request: RegisterRequest): Promise<UserView> {
    return this.accounts.register(request);
  }

  login(request: LoginRequest): Promise<UserView> {
    return this.accounts.login(request.username, request.password);
  }

  issueToken(userId: string): { token: string; expiresInSec: number } {
    return { token: this.tokens.issue(userId), expiresInSec: TOKEN_TTL_SEC };
  }

  verifyToken(token: string): string | undefined {
    return this.tokens.verify(token);
  }

  async createConversation(self: string, request: ConversationRequest): Promise<Creation> {
    const creation = request.type === 'direct'
      ? await this.conversations.createDirect(self, request.peer)
      : await this.conversations.createGroup(self, request.name, request.members);
    if (creation.created) await this.onJoined(creation.conversation.id, request.type === 'direct' ? [self, request.peer] : [self, ...request.members], 0);
    return creation;
  }

  conversation(self: string, id: string): Promise<ConversationView> {
    return this.conversations.memberView(self, id);
  }

  async addMembers(self: string, id: string, members: readonly string[]): Promise<ConversationView> {
    const { conversation, added } = await this.conversations.addMembers(self, id, members);
    if (added.length > 0) await this.onJoined(id, added, conversation.lastSeq);
    return conversation;
  }
}
