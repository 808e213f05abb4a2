// @ts-check
/* global __ENV */
/**
 * The HTTP half of docs/protocol.md that setup() needs: register users, log them in, create direct
 * conversations and groups. Requests go out in parallel batches (k6's http.batch) because
 * registration and login each hash a password on the server. Any answer other than the documented
 * success stops setup with one line naming the request: a load test whose population is half
 * built measures nothing.
 */
import { sleep } from 'k6';
import http from 'k6/http';
import { BASE_URL, console } from './env.js';

/**
 * A logged-in user, as setup() hands it to the VUs.
 * @typedef {{ id: string, username: string, token: string }} Session
 */

/** Every load-test user's password: any 8–128 characters do. */
const PASSWORD = 'k6 load test password';
/** Requests in flight at once during setup; the server hashes passwords on a small pool. */
const BATCH = 20;
/** Most members one request adds to a group (keeps the body well under the 64 KiB limit). */
const MEMBERS_PER_REQUEST = 1000;
/** Attempts of a request the server answered `503 unavailable` (its hashing queue was full). */
const ATTEMPTS = 10;

/**
 * A prefix for this run's usernames. `-e USER_PREFIX=name` reuses the users of an earlier run
 * with that prefix (a taken username is then logged in instead of registered); by default every
 * run registers fresh users.
 * @param {string} scenario a short name of the script, part of the prefix
 * @returns {{ prefix: string, reuse: boolean }}
 */
export function userPrefix(scenario) {
  const given = __ENV.USER_PREFIX;
  if (given) return { prefix: given, reuse: true };
  return { prefix: `k6${scenario}${Math.random().toString(36).slice(2, 8)}`, reuse: false };
}

/**
 * Registers `count` users named `<prefix>-<i>` and logs each of them in.
 * @param {number} count
 * @param {{ prefix: string, reuse: boolean }} naming
 * @returns {Session[]}
 */
export function registerUsers(count, naming) {
  /** @type {string[]} */
  const usernames = [];
  for (let i = 0; i < count; i++) usernames.push(`${naming.prefix}-${i}`);
  const registered = naming.reuse ? [201, 409] : [201];
  callAll(usernames.map((username) => request('POST', '/v1/users', { username, password: PASSWORD })), registered, 'register');
  const logins = callAll(usernames.map((username) => request('POST', '/v1/sessions', { username, password: PASSWORD })), [200], 'log in');
  console.log(`users ${naming.prefix}-0 … ${naming.prefix}-${count - 1} ready; -e USER_PREFIX=${naming.prefix} reuses them`);
  return logins.map((body, i) => {
    const login = /** @type {{ accessToken: string, user: { id: string } }} */ (body);
    return { id: login.user.id, username: usernames[i] ?? '', token: login.accessToken };
  });
}

/**
 * The direct conversation of each pair (asked by its first user); ids in the pairs' order.
 * @param {Array<[Session, Session]>} pairs
 * @returns {string[]}
 */
export function createDirects(pairs) {
  const answers = callAll(pairs.map(([a, b]) => request('POST', '/v1/conversations', { type: 'direct', peer: b.id }, a.token)), [200], 'create direct conversation');
  return answers.map((body) => /** @type {{ id: string }} */ (body).id);
}

/**
 * Registers 2 × `count` users (named by `naming`) in pairs and gives each pair its direct conversation.
 * @typedef {{ a: Session, b: Session, conv: string }} Pair
 * @param {number} count
 * @param {{ prefix: string, reuse: boolean }} naming
 * @returns {Pair[]}
 */
export function registerPairs(count, naming) {
  const users = registerUsers(2 * count, naming);
  /** @type {Array<[Session, Session]>} */
  const pairs = [];
  for (let i = 0; i + 1 < users.length; i += 2) pairs.push([/** @type {Session} */ (users[i]), /** @type {Session} */ (users[i + 1])]);
  const convs = createDirects(pairs);
  return pairs.map(([a, b], i) => ({ a, b, conv: convs[i] ?? '' }));
}

/**
 * A group owned by `owner` holding `members` too; returns its id.
 * @param {Session} owner
 * @param {string} name
 * @param {Session[]} members
 * @returns {string}
 */
export function createGroup(owner, name, members) {
  const ids = members.map((member) => member.id);
  const [created] = callAll([request('POST', '/v1/conversations', { type: 'group', name, members: ids.slice(0, MEMBERS_PER_REQUEST) }, owner.token)], [201], 'create group');
  const id = /** @type {{ id: string }} */ (created).id;
  const additions = [];
  for (let start = MEMBERS_PER_REQUEST; start < ids.length; start += MEMBERS_PER_REQUEST) {
    additions.push(request('POST', `/v1/conversations/${encodeURIComponent(id)}/members`, { members: ids.slice(start, start + MEMBERS_PER_REQUEST) }, owner.token));
  }
  // One at a time: member changes of one group go through its actor in order anyway.
  for (const addition of additions) callAll([addition], [200], 'add group members');
  return id;
}

/**
 * @typedef {{ method: string, url: string, body: string, params: { headers: Record<string, string>, tags: Record<string, string> } }} JsonRequest
 */

/**
 * A JSON request for http.batch; tagged with its path's shape so metrics group by endpoint.
 * @param {string} method
 * @param {string} path
 * @param {unknown} body
 * @param {string} [token]
 * @returns {JsonRequest}
 */
function request(method, path, body, token) {
  /** @type {Record<string, string>} */
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const name = `${method} ${path.replace(/\/c_[A-Za-z0-9_-]+/, '/:id')}`;
  return { method, url: BASE_URL + path, body: JSON.stringify(body), params: { headers, tags: { name } } };
}

/**
 * Sends `requests` in batches of BATCH, retrying those answered 503; returns the parsed bodies in
 * order. Throws on the first answer whose status is not in `expected`.
 * @param {JsonRequest[]} requests
 * @param {number[]} expected
 * @param {string} what
 * @returns {unknown[]}
 */
function callAll(requests, expected, what) {
  /** @type {unknown[]} */
  const bodies = [];
  for (let start = 0; start < requests.length; start += BATCH) {
    let pending = requests.slice(start, start + BATCH).map((req, i) => ({ req, index: start + i }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      const responses = http.batch(pending.map(({ req }) => req));
      /** @type {typeof pending} */
      const retry = [];
      pending.forEach((item, i) => {
        const res = responses[i];
        const status = res ? res.status : 0;
        if (status === 503 && attempt < ATTEMPTS) retry.push(item);
        else if (!res || !expected.includes(status)) throw new Error(`${what}: ${item.req.method} ${item.req.url} answered ${status} ${res ? String(res.body).slice(0, 200) : ''}${res && res.error ? ` (${res.error})` : ''}`);
        else bodies[item.index] = typeof res.body === 'string' && res.body !== '' ? JSON.parse(res.body) : null;
      });
      pending = retry;
      if (pending.length > 0) sleep(0.2 * attempt);
    }
  }
  return bodies;
}
