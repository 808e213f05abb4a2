/**
 * The few HTTP calls of docs/protocol.md the benchmark needs to set up its population and to check the
 * server's view at the end, over `fetch`. Any answer other than the documented success is a
 * TroupeError: a benchmark whose setup half failed measures nothing.
 */
import { TroupeError } from '../../transport/errors.js';

export interface Session {
  userId: string;
  username: string;
  accessToken: string;
}

export interface ConversationView {
  id: string;
  lastSeq: number;
  memberCount: number;
}

/** Benchmark users' password: any 8–128 characters do. */
const PASSWORD = 'bench password 1';

export class HttpApi {
  constructor(private readonly baseUrl: string) {}

  /** Registers `username` and logs it in. */
  async registerAndLogin(username: string): Promise<Session> {
    await this.call('POST', '/v1/users', 201, { username, password: PASSWORD });
    const login = await this.call<{ accessToken: string; user: { id: string } }>('POST', '/v1/sessions', 200, { username, password: PASSWORD });
    return { userId: login.user.id, username, accessToken: login.accessToken };
  }

  /** A group owned by `owner` with `members` besides the owner; returns its id. */
  async createGroup(owner: Session, name: string, members: readonly string[]): Promise<string> {
    const conversation = await this.call<{ id: string }>('POST', '/v1/conversations', 201, { type: 'group', name, members }, owner.accessToken);
    return conversation.id;
  }

  /** Adds `members` to the group `conversationId`, which `owner` owns. */
  async addMembers(owner: Session, conversationId: string, members: readonly string[]): Promise<void> {
    await this.call('POST', `/v1/conversations/${encodeURIComponent(conversationId)}/members`, 200, { members }, owner.accessToken);
  }

  /** The direct conversation of `from` and `peer`; returns its id. */
  async createDirect(from: Session, peer: string): Promise<string> {
    const conversation = await this.call<{ id: string }>('POST', '/v1/conversations', 200, { type: 'direct', peer }, from.accessToken);
    return conversation.id;
  }

  async getConversation(member: Session, conversationId: string): Promise<ConversationView> {
    return this.call<ConversationView>('GET', `/v1/conversations/${encodeURIComponent(conversationId)}`, 200, undefined, member.accessToken);
  }

  private async call<T = unknown>(method: string, path: string, expected: number, body?: unknown, token?: string): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new TroupeError('unavailable', `${method} ${path}: ${(err as Error).message}`, { cause: err });
    }
    const text = await res.text();
    if (res.status !== expected) {
      throw new TroupeError('internal', `${method} ${path}: expected ${expected}, got ${res.status} ${text.slice(0, 200)}`);
    }
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }
}

/** Runs `task` over `items` with at most `limit` at once; results in input order. */
export async function mapConcurrently<I, O>(items: readonly I[], limit: number, task: (item: I, index: number) => Promise<O>): Promise<O[]> {
  const results = new Array<O>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
