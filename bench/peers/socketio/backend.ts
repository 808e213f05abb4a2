/**
 * The Socket.IO peer's answer to the setup routes: accounts, tokens and conversations in
 * MariaDB. A conversation created while its members are online is announced through
 * `onCreated`, so the server can put their sockets in its room on either process.
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
    private readonly onCreated: (conversation: ConversationView) => void,
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
    if (creation.created) this.onCreated(creation.conversation);
    return creation;
  }

  conversation(self: string, id: string): Promise<ConversationView> {
    return this.conversations.memberView(self, id);
  }
}
