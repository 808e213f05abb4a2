import { randomId } from '../transport/random-id.js';

/**
 * A new opaque id: `<prefix>_` followed by 16 url-safe characters (96 random bits), e.g.
 * `u_3hF0c9Qm2Zk1xYtB`. Prefixes say what the id names: `u` user, `c` conversation,
 * `m` message, `f` refresh-token family. 96 bits make collisions negligible at any volume
 * Troupe will see, and the ids stay short enough to key maps and rows cheaply.
 */
export function newId(prefix: string): string {
  return `${prefix}_${randomId(12)}`;
}

/**
 * A new opaque id whose ids sort (as bytes) in the order they were made, to the millisecond:
 * `<prefix>_`, the time in 9 base-36 digits, then 8 random url-safe characters (48 bits: a
 * collision needs two ids in the same millisecond drawing the same bits). Message ids are made
 * this way because the store keeps a unique index on them: random ids put every new message in
 * a different index page, each a page of journal written per commit, where ordered ids fill the
 * newest page (docs/architecture.md, "Group commit").
 */
export function newOrderedId(prefix: string): string {
  return `${prefix}_${Date.now().toString(36).padStart(9, '0')}${randomId(6)}`;
}

/** Every user id starts with this; conversation ids do not (upstream keys tell actors apart by it). */
export const USER_ID_PREFIX = 'u_';

/**
 * The longest id the edge accepts. `newId` makes 18 characters; the slack admits ids made some
 * other way (fixtures writing rows directly, a longer random part one day) without admitting
 * strings long enough to cost anything to hash, log or look up.
 */
export const MAX_ID_LENGTH = 64;

const USER_ID = /^u_[A-Za-z0-9_-]+$/;
const CONVERSATION_ID = /^c_[A-Za-z0-9_-]+$/;

/**
 * Whether a string a client sent can be a user id: `u_`, then only url-safe characters, at most
 * MAX_ID_LENGTH in all. Anything else names no user, so the gateway answers it as it answers an
 * unknown user, before it reaches the log, an actor or a query (docs/protocol.md, "Errors").
 */
export function isUserId(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_ID_LENGTH && USER_ID.test(value);
}

/** Whether a string a client sent can be a conversation id (as isUserId, with `c_`). */
export function isConversationId(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_ID_LENGTH && CONVERSATION_ID.test(value);
}

/** Characters an error message may repeat as they are; the rest are written as `\uXXXX`. */
const UNSAFE_IN_MESSAGE = /[^\x20-\x7e]|["\\]/g;
const MAX_SHOWN = 40;

/**
 * A string a client sent (an id, a file name), as an error message may repeat it: a well-formed
 * id as it is; anything else quoted, cut to MAX_SHOWN characters and with every character
 * outside printable ASCII escaped, so that an answer never carries a client's 10 KB string,
 * control characters or text that changes direction back to it (or into a log).
 */
export function shownId(value: string): string {
  if (value.length <= MAX_ID_LENGTH && /^[A-Za-z0-9_-]+$/.test(value)) return value;
  const head = value.length > MAX_SHOWN ? value.slice(0, MAX_SHOWN) : value;
  const escaped = head.replace(UNSAFE_IN_MESSAGE, (c) => (c === '"' || c === '\\' ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  return `"${escaped}"${value.length > MAX_SHOWN ? '…' : ''}`;
}
