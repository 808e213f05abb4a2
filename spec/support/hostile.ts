/**
 * A hostile client, for any running Troupe (embedded or a cluster's gateway): every id a client
 * can name (the `conv` of send, read, typing and sync frames; conversation and user ids in HTTP
 * paths and bodies) is sent malformed in many ways, and each must get its protocol error at
 * once while the server goes on serving everyone: afterwards a message to a conversation on
 * every upstream partition is acked promptly (docs/protocol.md, "Errors").
 *
 * Each connection sends fewer frames than the default rate-limit burst (60) and refused frames
 * than the default abuse threshold (200), so the checks hold under the default configuration.
 */
import { request as httpRequest, Agent } from 'node:http';
import { expect } from 'chai';
import { newId } from '../../actors/ids.js';
import { partitionFor } from '../../transport/log/partitioner.js';
import { connect, registerAndLogin, type Json, type LoggedIn, type WsClient } from './client.js';
import { uniqueName } from './wait-for.js';

/** How long a refusal may take. */
export const ANSWER_WITHIN_MS = 1000;
/** How long an ack may take once the hostile frames are through. */
export const ACK_WITHIN_MS = 2000;

export type FrameType = 'send' | 'read' | 'typing' | 'sync';
export const FRAME_TYPES: readonly FrameType[] = ['send', 'read', 'typing', 'sync'];

/** The users and the group the checks act on. */
export interface HostileWorld {
  baseUrl: string;
  /** Owner of `group`. */
  owner: LoggedIn;
  /** A member of `group`. */
  member: LoggedIn;
  group: string;
}

/**
 * Strings that cannot be an id of the kind `prefix` names (`u` or `c`), each with a label:
 * quotes, spaces, slashes, dot segments, percent signs, control characters, NUL, emoji, 10 KB,
 * JSON in a string, and ids of another kind. `wrongKind` are real ids of other kinds.
 */
export function malformedIds(prefix: 'u' | 'c', wrongKind: readonly string[]): Array<[string, string]> {
  const p = `${prefix}_`;
  return [
    ['an SQL fragment', "' OR 1=1 --"],
    ['an SQL fragment after the prefix', `${p}' OR 1=1 --`],
    ['a double quote', `${p}a"b`],
    ['a space', `${p}a b`],
    ['a slash', `${p}a/b`],
    ['a dot-dot segment', '..'],
    ['a path climbing out', `${p}../../etc/passwd`],
    ['a percent sign', `${p}50%`],
    ['a percent-encoded slash', `${p}a%2Fb`],
    ['a control character', `${p}a\u0007b`],
    ['a newline', `${p}a\r\nb`],
    ['a NUL', `${p}\u0000`],
    ['an emoji', `${p}😀`],
    ['a right-to-left override', `${p}\u202eab`],
    ['10 KB', `${p}${'a'.repeat(10 * 1024)}`],
    ['JSON in a string', JSON.stringify({ conv: `${p}x`, $ne: null })],
    ...wrongKind.map((id): [string, string] => [`an id of another kind (${id.slice(0, 2)}…)`, id]),
  ];
}

/** Path segments sent exactly as written: percent-encodings that are malformed or decode to `/`, `..`. */
const RAW_SEGMENTS: Array<[string, string]> = [
  ['a lone percent sign (raw)', '%'],
  ['a malformed percent-encoding (raw)', '%zz'],
  ['a truncated UTF-8 percent-encoding (raw)', '%E0%A4%A'],
  ['a percent-encoded slash (raw)', 'c_a%2Fb'],
  ['a percent-encoded dot-dot (raw)', '%2e%2e'],
  ['a percent-encoded NUL (raw)', 'c_%00'],
];

/** A path segment for `id`: every character that is not unreserved percent-encoded, dots too (no dot segments). */
function segment(id: string): string {
  return encodeURIComponent(id).replace(/[.!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface RawResponse {
  status: number;
  body: Json;
  text: string;
  ms: number;
}

/** A connection per request: nothing stays open to hold up a server that is being stopped. */
const agent = new Agent({ keepAlive: false });

/**
 * An HTTP request whose path is sent exactly as given (fetch would resolve `%2e%2e` segments);
 * rejects if no answer came within ANSWER_WITHIN_MS (+ slack for a loaded machine's client).
 */
export function rawHttp(baseUrl: string, method: string, path: string, body?: unknown, token?: string): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (payload !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(payload.length) });
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: Json;
        try {
          parsed = text === '' ? undefined : JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, text, ms: Date.now() - start });
      });
      res.on('error', reject);
    });
    req.setTimeout(ANSWER_WITHIN_MS * 5, () => req.destroy(new Error(`${method} ${path.slice(0, 80)}: no answer within ${ANSWER_WITHIN_MS * 5} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Asserts a prompt `404 not_found` whose message is short, printable ASCII and, for body ids, names `field`. */
function expectNotFound(res: RawResponse, what: string, field?: string): void {
  expect(res.status, `${what}: status (body ${res.text.slice(0, 200)})`).to.equal(404);
  expect(res.body?.error?.code, `${what}: code`).to.equal('not_found');
  const message: unknown = res.body.error.message;
  expect(message, `${what}: message`).to.be.a('string');
  expect((message as string).length, `${what}: the message does not repeat a long id`).to.be.below(160);
  expect(message as string, `${what}: printable ASCII only (and the mark of a cut)`).to.match(/^[\x20-\x7e…]*$/);
  if (field !== undefined) expect(message as string, `${what}: names the field`).to.match(new RegExp(`^${field}: `));
  expect(res.ms, `${what}: answered within ${ANSWER_WITHIN_MS} ms`).to.be.below(ANSWER_WITHIN_MS);
}

/** Registers an owner and a member, and makes a group of the two. */
export async function hostileWorld(baseUrl: string): Promise<HostileWorld> {
  const [owner, member] = [await registerAndLogin(baseUrl), await registerAndLogin(baseUrl)];
  const res = await rawHttp(baseUrl, 'POST', '/v1/conversations', { type: 'group', name: uniqueName('hostile'), members: [member.user.id] }, owner.accessToken);
  expect(res.status, res.text).to.equal(201);
  return { baseUrl, owner, member, group: res.body.id as string };
}

function wsUrl(baseUrl: string, token: string): string {
  return `${baseUrl.replace(/^http/, 'ws')}/v1/ws?token=${encodeURIComponent(token)}`;
}

function frameOf(type: FrameType, id: string, conv: string): Record<string, unknown> {
  switch (type) {
    case 'send':
      return { type, id, conv, body: { text: 'hostile' } };
    case 'read':
      return { type, id, conv, seq: 1 };
    case 'typing':
      return { type, id, conv };
    case 'sync':
      return { type, id, conv, after: 0 };
  }
}

/**
 * Frames of one type naming every malformed conversation id, on a connection of their own: each
 * is refused `not_found` with its id as ref within a second, the connection answers a ping
 * after each, and nothing is acked, stored or pushed for any of them.
 */
export async function checkFrames(world: HostileWorld, type: FrameType): Promise<void> {
  const { client } = await connect(wsUrl(world.baseUrl, world.owner.accessToken), 5000);
  try {
    for (const [label, conv] of malformedIds('c', [world.owner.user.id, newId('m'), newId('f')])) {
      const id = uniqueName(type);
      const start = Date.now();
      client.send(frameOf(type, id, conv));
      const answer = await client.next((f) => f.ref === id, ANSWER_WITHIN_MS).catch((err: Error) => {
        throw new Error(`${type} naming ${label}: ${err.message}`);
      });
      expect(answer, `${type} naming ${label}`).to.deep.equal({ type: 'error', ref: id, code: 'not_found', message: 'no such conversation' });
      expect(Date.now() - start, `${type} naming ${label}: refused within ${ANSWER_WITHIN_MS} ms`).to.be.below(ANSWER_WITHIN_MS);
      await client.expectAlive(ANSWER_WITHIN_MS);
    }
    expect(client.isOpen, 'the connection stays open').to.equal(true);
    const answered = new Set(['ready', 'error', 'pong']);
    expect(client.frames.filter((f) => !answered.has(f.type)).map((f) => f.type), 'nothing acked, synced or pushed').to.deep.equal([]);
  } finally {
    await client.close();
  }
}

export interface HttpRouteCheck {
  name: string;
  check(world: HostileWorld): Promise<void>;
}

/** One check per HTTP route and id position: every malformed id, a prompt `404 not_found`. */
export function httpRouteChecks(): HttpRouteCheck[] {
  const convIds = (w: HostileWorld): Array<[string, string]> => [
    ...malformedIds('c', [w.member.user.id, newId('m')]).map(([label, id]): [string, string] => [label, segment(id)]),
    ...RAW_SEGMENTS,
  ];
  const userIds = (w: HostileWorld): Array<[string, string]> => [
    ...malformedIds('u', [w.group, newId('m')]).map(([label, id]): [string, string] => [label, segment(id)]),
    ...RAW_SEGMENTS.map(([label, raw]): [string, string] => [label, raw.replace(/^c_/, 'u_')]),
  ];
  const bodyUserIds = (w: HostileWorld): Array<[string, string]> => [['an empty string', ''], ...malformedIds('u', [w.group, newId('m')])];

  const paths = (name: string, method: string, ids: (w: HostileWorld) => Array<[string, string]>, path: (w: HostileWorld, seg: string) => string, body?: (w: HostileWorld) => unknown): HttpRouteCheck => ({
    name,
    async check(w) {
      for (const [label, seg] of ids(w)) {
        const res = await rawHttp(w.baseUrl, method, path(w, seg), body?.(w), w.owner.accessToken);
        expectNotFound(res, `${name} with ${label}`);
      }
    },
  });
  const bodies = (name: string, path: (w: HostileWorld) => string, field: string, body: (id: string) => unknown): HttpRouteCheck => ({
    name,
    async check(w) {
      for (const [label, id] of bodyUserIds(w)) {
        const res = await rawHttp(w.baseUrl, 'POST', path(w), body(id), w.owner.accessToken);
        expectNotFound(res, `${name} with ${label}`, field);
      }
    },
  });

  return [
    paths('GET /v1/conversations/:id', 'GET', convIds, (_w, seg) => `/v1/conversations/${seg}`),
    paths('GET /v1/conversations/:id/messages', 'GET', convIds, (_w, seg) => `/v1/conversations/${seg}/messages?after=0`),
    paths('POST /v1/conversations/:id/members', 'POST', convIds, (_w, seg) => `/v1/conversations/${seg}/members`, (w) => ({ members: [w.member.user.id] })),
    paths('DELETE /v1/conversations/:id/members/:userId (the conversation)', 'DELETE', convIds, (w, seg) => `/v1/conversations/${seg}/members/${w.member.user.id}`),
    paths('DELETE /v1/conversations/:id/members/:userId (the user)', 'DELETE', userIds, (w, seg) => `/v1/conversations/${w.group}/members/${seg}`),
    bodies('POST /v1/conversations/:id/members (members)', (w) => `/v1/conversations/${w.group}/members`, 'members', (id) => ({ members: [id] })),
    bodies('POST /v1/conversations direct (peer)', () => '/v1/conversations', 'peer', (id) => ({ type: 'direct', peer: id })),
    bodies('POST /v1/conversations group (members)', () => '/v1/conversations', 'members', (id) => ({ type: 'group', name: 'hostile', members: [id] })),
    paths('GET /web/:file', 'GET', convIds, (_w, seg) => `/web/${seg}`),
  ];
}

/**
 * Strings where the auth routes expect a username or a refresh token: login and refresh answer
 * 401, logout 204 (it reveals nothing), each at once.
 */
export async function checkAuthStrings(world: HostileWorld): Promise<void> {
  for (const [label, value] of malformedIds('u', [])) {
    const login = await rawHttp(world.baseUrl, 'POST', '/v1/sessions', { username: value, password: 'correct horse battery' });
    expect([login.status, login.body?.error?.code], `login as ${label}`).to.deep.equal([401, 'unauthenticated']);
    const refresh = await rawHttp(world.baseUrl, 'POST', '/v1/sessions/refresh', { refreshToken: value });
    expect([refresh.status, refresh.body?.error?.code], `refresh with ${label}`).to.deep.equal([401, 'unauthenticated']);
    const logout = await rawHttp(world.baseUrl, 'DELETE', '/v1/sessions', { refreshToken: value });
    expect(logout.status, `logout with ${label}`).to.equal(204);
    for (const res of [login, refresh, logout]) expect(res.ms, `${label}: answered within ${ANSWER_WITHIN_MS} ms`).to.be.below(ANSWER_WITHIN_MS);
  }
}

/**
 * Groups of `owner` until one sits on each of the `partitions` upstream partitions (by the
 * server's own partitioner), then one message to each from a fresh connection: every ack
 * within ACK_WITHIN_MS. A member change through the group's actor then answers promptly too.
 */
export async function checkEveryPartitionAcks(world: HostileWorld, partitions: number): Promise<void> {
  const byPartition = new Map<number, string>();
  for (let made = 0; byPartition.size < partitions; made++) {
    expect(made, `groups made to cover ${partitions} partitions`).to.be.below(partitions * 20);
    const res = await rawHttp(world.baseUrl, 'POST', '/v1/conversations', { type: 'group', name: 'partition', members: [] }, world.owner.accessToken);
    expect(res.status, res.text).to.equal(201);
    const conv = res.body.id as string;
    byPartition.set(partitionFor(conv, partitions), conv);
  }
  const { client } = await connect(wsUrl(world.baseUrl, world.owner.accessToken), 5000);
  try {
    await Promise.all([...byPartition].map(([partition, conv]) => expectAck(client, conv, partition)));
  } finally {
    await client.close();
  }
  const leave = await rawHttp(world.baseUrl, 'DELETE', `/v1/conversations/${world.group}/members/${world.member.user.id}`, undefined, world.member.accessToken);
  expect(leave.status, `a member leaves the group: ${leave.text}`).to.equal(204);
  expect(leave.ms, `the member change is answered within ${ACK_WITHIN_MS} ms`).to.be.below(ACK_WITHIN_MS);
}

async function expectAck(client: WsClient, conv: string, partition: number): Promise<void> {
  const id = uniqueName('p');
  const start = Date.now();
  client.send({ type: 'send', id, conv, body: { text: `partition ${partition}` } });
  const answer = await client.next((f) => f.id === id || f.ref === id, ACK_WITHIN_MS).catch((err: Error) => {
    throw new Error(`partition ${partition} (${conv}): ${err.message}`);
  });
  expect(answer, `partition ${partition}`).to.include({ type: 'ack', conv, seq: 1 });
  expect(Date.now() - start, `partition ${partition}: acked within ${ACK_WITHIN_MS} ms`).to.be.below(ACK_WITHIN_MS);
}

/** Every check above, in order, against one server: the body of the protocol and cluster specs. */
export async function checkHostileClient(baseUrl: string, partitions: number): Promise<void> {
  const world = await hostileWorld(baseUrl);
  for (const type of FRAME_TYPES) await checkFrames(world, type);
  for (const route of httpRouteChecks()) await route.check(world);
  await checkAuthStrings(world);
  await checkEveryPartitionAcks(world, partitions);
}
