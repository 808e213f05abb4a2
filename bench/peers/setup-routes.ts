/**
 * The HTTP setup subset every peer answers, written once over a small backend interface so the
 * Socket.IO peer (MariaDB) and the uWS bound (memory) route and answer alike, and the load
 * generator's setup code (bench/lib/http-api.ts) works on every target unchanged:
 *
 *   GET  /readyz                     200 "ok"
 *   POST /v1/users                   201 {id, username, displayName}
 *   POST /v1/sessions                200 {accessToken, expiresIn, user}
 *   POST /v1/conversations           200 (direct) or 201 (group) and the conversation
 *   GET  /v1/conversations/:id       200 the conversation, for members
 *   POST /v1/conversations/:id/members  200 the group with the users added (by its owner)
 *
 * Shapes and error answers are docs/protocol.md's. Login answers no `refreshToken`: the peers
 * have no refresh endpoint, and a token nothing accepts would only pretend otherwise.
 */
import type { ConversationDto, UserDto } from '../../actors/protocol/dto.js';
import { TroupeError } from '../../transport/errors.js';
import { errorAnswer } from './error-status.js';
import {
  bearerToken,
  parseAddMembers,
  parseConversation,
  parseJsonObject,
  parseLogin,
  parseRegister,
  type ConversationRequest,
  type LoginRequest,
  type RegisterRequest,
} from './setup-requests.js';

/** The user object of docs/protocol.md, as Troupe sends it. */
export type UserView = UserDto;

/**
 * The conversation object of docs/protocol.md, as Troupe sends it. `readSeq` is always 0: the
 * peers keep no read cursors; `members` is left out above MAX_LISTED_MEMBERS, as in Troupe.
 */
export type ConversationView = ConversationDto;

export interface Creation {
  conversation: ConversationView;
  /** False when an existing direct conversation was returned. */
  created: boolean;
}

/** What a peer keeps behind the routes. Every method throws a TroupeError to refuse. */
export interface SetupBackend {
  register(request: RegisterRequest): Promise<UserView>;
  /** `unauthenticated` for a wrong password or an unknown username alike. */
  login(request: LoginRequest): Promise<UserView>;
  /** An access token for `userId` and its lifetime in seconds. */
  issueToken(userId: string): { token: string; expiresInSec: number };
  /** The user id an access token names, or undefined for a bad or expired one. */
  verifyToken(token: string): string | undefined;
  createConversation(self: string, request: ConversationRequest): Promise<Creation>;
  /** `not_found` unless `self` is a member. */
  conversation(self: string, id: string): Promise<ConversationView>;
  /**
   * Adds `members` (existing members are skipped) to the group `id`: `not_found` unless `self`
   * is a member and every user exists, `invalid_argument` for a direct conversation,
   * `forbidden` unless `self` owns it.
   */
  addMembers(self: string, id: string, members: readonly string[]): Promise<ConversationView>;
}

/** A conversation object lists its members up to this many (docs/protocol.md). */
export const MAX_LISTED_MEMBERS = 1000;

export interface ConversationFields {
  id: string;
  type: 'direct' | 'group';
  name: string | null;
  owner: string | null;
  /** In join order. */
  members: readonly string[];
  lastSeq: number;
  createdAt: number;
}

/** The protocol's conversation object: `name` and `owner` on groups only, `members` up to MAX_LISTED_MEMBERS. */
export function conversationView(fields: ConversationFields): ConversationView {
  const view: ConversationView = { id: fields.id, type: fields.type, memberCount: fields.members.length, lastSeq: fields.lastSeq, readSeq: 0, createdAt: fields.createdAt };
  if (fields.members.length <= MAX_LISTED_MEMBERS) view.members = [...fields.members];
  if (fields.type === 'group') Object.assign(view, { name: fields.name, owner: fields.owner });
  return view;
}

export interface SetupRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  authorization: string | undefined;
  /** The body as received (empty without one). */
  body: string;
}

export interface SetupAnswer {
  status: number;
  contentType: 'application/json' | 'text/plain';
  body: string;
}

/** Request bodies over this are refused with 413 (docs/protocol.md: gateway.maxBodyBytes). */
export const MAX_SETUP_BODY_BYTES = 64 * 1024;

const CONVERSATION_PATH = /^\/v1\/conversations\/([^/]+)$/;
const MEMBERS_PATH = /^\/v1\/conversations\/([^/]+)\/members$/;

function json(status: number, value: unknown): SetupAnswer {
  return { status, contentType: 'application/json', body: JSON.stringify(value) };
}

/** The answer to one request; never throws. */
export async function answerSetup(request: SetupRequest, backend: SetupBackend): Promise<SetupAnswer> {
  try {
    return await route(request, backend);
  } catch (err) {
    const { status, body } = errorAnswer(err);
    return { status, contentType: 'application/json', body };
  }
}

async function route(request: SetupRequest, backend: SetupBackend): Promise<SetupAnswer> {
  const { method, path } = request;
  if (method === 'GET' && path === '/readyz') return { status: 200, contentType: 'text/plain', body: 'ok' };
  if (method === 'POST' && path === '/v1/users') {
    return json(201, await backend.register(parseRegister(parseJsonObject(request.body))));
  }
  if (method === 'POST' && path === '/v1/sessions') {
    const user = await backend.login(parseLogin(parseJsonObject(request.body)));
    const { token, expiresInSec } = backend.issueToken(user.id);
    return json(200, { accessToken: token, expiresIn: expiresInSec, user });
  }
  if (method === 'POST' && path === '/v1/conversations') {
    const self = authenticate(request, backend);
    const { conversation } = await backend.createConversation(self, parseConversation(parseJsonObject(request.body), self));
    return json(conversation.type === 'group' ? 201 : 200, conversation);
  }
  const conversationPath = CONVERSATION_PATH.exec(path);
  if (method === 'GET' && conversationPath !== null) {
    const self = authenticate(request, backend);
    return json(200, await backend.conversation(self, decodeSegment(conversationPath[1]!)));
  }
  const membersPath = MEMBERS_PATH.exec(path);
  if (method === 'POST' && membersPath !== null) {
    const self = authenticate(request, backend);
    const id = decodeSegment(membersPath[1]!);
    return json(200, await backend.addMembers(self, id, parseAddMembers(parseJsonObject(request.body))));
  }
  throw new TroupeError('not_found', `no route for ${method} ${path.slice(0, 80)}`);
}

function authenticate(request: SetupRequest, backend: SetupBackend): string {
  const token = bearerToken(request.authorization);
  const userId = token === undefined ? undefined : backend.verifyToken(token);
  if (userId === undefined) throw new TroupeError('unauthenticated', 'a valid access token is required');
  return userId;
}

/** A path segment decoded; broken percent-encoding names nothing (docs/protocol.md). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new TroupeError('not_found', 'no such conversation');
  }
}
