/**
 * The HTTP endpoints of docs/protocol.md: a route table from method and path to a handler, each
 * answering a value or throwing a TroupeError that error-map.ts turns into the protocol's error
 * body and status.
 */
import { isTroupeError, TroupeError } from '../../transport/errors.js';
import type { HttpRequest, HttpResponse } from '../../transport/http/port.js';
import type { AccessClaims } from '../auth/tokens.js';
import { isUserId } from '../ids.js';
import { firstMalformedUserId, noSuchUser, parseAddMembers, parseLimitParam, parseSeqParam, requireConversationId } from '../logic/conversation-requests.js';
import { parseMemberPageQuery } from '../logic/member-list.js';
import { readyzAnswer, type NodeStatus } from '../runtime/node-status.js';
import { errorResponse } from './error-map.js';
import type { GatewayDeps } from './gateway-deps.js';
import type { LogRequests } from './log-requests.js';
import { assetResponse, INDEX_ASSET } from './static-assets.js';

type Handler = (req: HttpRequest, params: string[]) => Promise<HttpResponse>;

interface Route {
  method: string;
  name: string;
  pattern: RegExp;
  handler: Handler;
}

export interface HttpApiOptions {
  deps: GatewayDeps;
  requests: LogRequests;
  /** Whether the node serves, why not, and its placement units (for /readyz and /units). */
  status: () => NodeStatus;
}

/** A path segment naming a conversation or user: any length, so that a malformed id is
 * answered by its route (after authentication) as a missing thing, never as a missing route. */
const ID = '([^/]+)';

/**
 * Most users one `POST /v1/conversations/:id/members` may add (docs/protocol.md): a group grows
 * to its size in batches, each a bounded amount of work for the store and the conversation's actor.
 */
const MAX_ADDED_PER_REQUEST = 1000;

export function httpApi(options: HttpApiOptions): (req: HttpRequest) => Promise<HttpResponse> {
  const { deps, requests } = options;
  const { auth, conversations, limits, metrics, users, members } = deps;

  const json = (status: number, body: unknown): HttpResponse => ({ status, body });
  const user = (req: HttpRequest): Promise<AccessClaims> => auth.verifyBearer(req.headers.authorization);

  const routes: Route[] = [];
  const route = (method: string, path: string, handler: Handler): void => {
    routes.push({ method, name: path, pattern: new RegExp(`^${path.replace(/:[a-zA-Z]+/g, ID)}$`), handler });
  };

  route('POST', '/v1/users', async (req) => json(201, await auth.register(body(req))));
  route('POST', '/v1/sessions', async (req) => {
    try {
      return json(200, await auth.login(body(req), req.remoteAddress));
    } catch (err) {
      if (isTroupeError(err, 'unauthenticated')) metrics?.loginFailures.inc();
      throw err;
    }
  });
  route('POST', '/v1/sessions/refresh', async (req) => json(200, await auth.refresh(body(req))));
  route('DELETE', '/v1/sessions', async (req) => {
    await auth.logout(body(req));
    return { status: 204 };
  });
  route('GET', '/v1/me', async (req) => json(200, await auth.me((await user(req)).userId)));
  route('GET', '/v1/users', async (req) => json(200, await users.findByUsername((await user(req)).userId, req.query.get('username'))));

  route('POST', '/v1/conversations', async (req) => {
    const me = await user(req);
    const { status, conversation } = await conversations.create(me.userId, body(req));
    return json(status, conversation);
  });
  route('GET', '/v1/conversations', async (req) => json(200, await conversations.list((await user(req)).userId)));
  route('GET', '/v1/conversations/:id', async (req, [id]) => json(200, await conversations.get((await user(req)).userId, id as string)));
  route('GET', '/v1/conversations/:id/messages', async (req, [id]) => {
    const me = await user(req);
    const after = parseSeqParam(req.query.get('after'), 'after', 0);
    const limit = parseLimitParam(req.query.get('limit'), limits.historyDefaultLimit, limits.historyMaxLimit);
    const page = await conversations.history(me.userId, id as string, after, limit);
    return { status: 200, contentType: 'application/json', body: `{"messages":${page.messagesJson},"more":${page.more}}` };
  });
  // Member changes travel through the conversation's actor, keyed by its id: ids that cannot
  // name a conversation or a user are answered here, as missing ones would be, and never reach
  // the log (docs/protocol.md, "Errors").
  route('POST', '/v1/conversations/:id/members', async (req, [id]) => {
    const me = await user(req);
    const added = parseAddMembers(body(req), Math.min(limits.maxMembers, MAX_ADDED_PER_REQUEST));
    const conv = requireConversationId(id as string);
    const malformed = firstMalformedUserId(added);
    if (malformed !== undefined) throw noSuchUser('members', malformed);
    return json(200, await requests.request(conv, (reply) => ({ type: 'members_add', conv, actor: me.userId, members: added, reply })));
  });
  route('GET', '/v1/conversations/:id/members', async (req, [id]) => {
    const me = await user(req);
    const { after, limit } = parseMemberPageQuery(req.query.get('after'), req.query.get('limit'));
    return json(200, await members.page(me.userId, id as string, after, limit));
  });
  route('DELETE', '/v1/conversations/:id/members/:userId', async (req, [id, target]) => {
    const me = await user(req);
    const conv = requireConversationId(id as string);
    if (!isUserId(target)) throw new TroupeError('not_found', 'no such member');
    await requests.request(conv, (reply) => ({ type: 'member_remove', conv, actor: me.userId, user: target, reply }));
    return { status: 204 };
  });

  route('GET', '/healthz', async () => json(200, { status: 'ok' }));
  route('GET', '/readyz', async () => {
    const { status, body } = readyzAnswer(options.status());
    return json(status, body);
  });
  route('GET', '/units', async () => json(200, options.status()));
  route('GET', '/metrics', async () => {
    if (metrics === undefined) throw new TroupeError('not_found', 'metrics are off');
    const { contentType, text } = await metrics.exposition();
    return { status: 200, contentType, body: text };
  });

  const { assets } = deps;
  if (assets !== undefined) {
    route('GET', '/', async () => assetResponse(assets, INDEX_ASSET));
    route('GET', '/web/:file', async (_req, [file]) => assetResponse(assets, file as string));
  }

  return async (req) => {
    let name = 'unknown';
    let response: HttpResponse;
    try {
      const match = findRoute(routes, req);
      if (match === null) throw new TroupeError('not_found', `no route for ${req.method.slice(0, 16)} ${req.path.slice(0, 100)}`);
      name = match.route.name;
      response = await match.route.handler(req, match.params);
    } catch (err) {
      response = errorResponse(err, req.requestId);
      if (response.status >= 500) deps.logger.error('request failed', { requestId: req.requestId, route: name, error: (err as Error).message });
    }
    metrics?.httpRequests.inc({ route: `${req.method} ${name}`, status: String(response.status) });
    return response;
  };
}

function findRoute(routes: Route[], req: HttpRequest): { route: Route; params: string[] } | null {
  for (const route of routes) {
    if (route.method !== req.method) continue;
    const m = route.pattern.exec(req.path);
    if (m !== null) return { route, params: m.slice(1).map(decodePathPart) };
  }
  return null;
}

/** The request's JSON body; an empty body reads as `undefined` (the parsers name what is missing). */
function body(req: HttpRequest): unknown {
  if (req.body.length === 0) return undefined;
  try {
    return JSON.parse(req.body.toString('utf8'));
  } catch {
    throw new TroupeError('invalid_argument', 'body: malformed JSON');
  }
}

/**
 * A path segment, percent-decoded. One that cannot be decoded is kept as it came: it still holds
 * a `%`, so it names no id and no file, and its route answers it (after authentication) like any
 * other name that matches nothing.
 */
function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
