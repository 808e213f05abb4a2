/**
 * Validation of the conversation endpoints' inputs (docs/protocol.md). Each parser takes
 * parsed JSON of unknown shape and returns typed values or throws `invalid_argument` whose
 * message starts with the field's name.
 *
 * The parsers check shapes only: an id field must be a string. Whether that string can be an
 * id at all is judged by the functions below them, which answer `not_found` exactly as for an
 * id that names nothing (docs/protocol.md, "Errors"), so a made-up id never reaches the log, an
 * actor or a query.
 */
import { TroupeError } from '../../transport/errors.js';
import { isConversationId, isUserId, shownId } from '../ids.js';

export type CreateConversationRequest =
  | { type: 'direct'; peer: string }
  | { type: 'group'; name: string; members: string[] };

function invalid(message: string): never {
  throw new TroupeError('invalid_argument', message);
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) invalid('body: a JSON object is expected');
  return body as Record<string, unknown>;
}

/** A list of user ids: strings, at most `max` of them, duplicates dropped (first kept). */
export function parseMemberList(value: unknown, field: string, max: number): string[] {
  if (!Array.isArray(value)) invalid(`${field}: an array of user ids is expected`);
  if (value.length > max) invalid(`${field}: at most ${max} members`);
  const seen = new Set<string>();
  for (const id of value) {
    if (typeof id !== 'string') invalid(`${field}: every member must be a user id string`);
    seen.add(id);
  }
  return [...seen];
}

export function parseCreateConversation(body: unknown, limits: { maxNameChars: number; maxMembers: number }): CreateConversationRequest {
  const fields = asObject(body);
  if (fields.type === 'direct') {
    if (typeof fields.peer !== 'string') invalid('peer: a user id string is required');
    return { type: 'direct', peer: fields.peer };
  }
  if (fields.type === 'group') {
    const name = fields.name;
    if (typeof name !== 'string' || name.trim().length === 0) invalid('name: a non-empty string is required');
    if ([...name].length > limits.maxNameChars) invalid(`name: at most ${limits.maxNameChars} characters`);
    const members = parseMemberList(fields.members, 'members', limits.maxMembers);
    return { type: 'group', name, members };
  }
  return invalid('type: "direct" or "group" is required');
}

export function parseAddMembers(body: unknown, maxMembers: number): string[] {
  const fields = asObject(body);
  const members = parseMemberList(fields.members, 'members', maxMembers);
  if (members.length === 0) invalid('members: at least one user id is required');
  return members;
}

/** A conversation id from a path, or `not_found` (the answer to a missing conversation). */
export function requireConversationId(id: string): string {
  if (!isConversationId(id)) throw new TroupeError('not_found', 'no such conversation');
  return id;
}

/** The first of `ids` that cannot be a user id, if any. */
export function firstMalformedUserId(ids: readonly string[]): string | undefined {
  return ids.find((id) => !isUserId(id));
}

/** The answer to a user id in a body (`field`) that names no user: malformed or unknown alike. */
export function noSuchUser(field: string, id: string): TroupeError {
  return new TroupeError('not_found', `${field}: no user ${shownId(id)}`);
}

/** A non-negative integer query value, or `fallback` when absent. */
export function parseSeqParam(raw: string | null, field: string, fallback: number): number {
  if (raw === null) return fallback;
  if (!/^\d+$/.test(raw)) invalid(`${field}: a non-negative integer is expected`);
  return Math.min(Number(raw), Number.MAX_SAFE_INTEGER); // beyond any seq: an empty page
}

/** A page size: absent → `fallback`; below 1 or not an integer → invalid; above `max` → max. */
export function parseLimitParam(raw: string | null, fallback: number, max: number): number {
  if (raw === null) return fallback;
  if (!/^-?\d+$/.test(raw)) invalid('limit: an integer from 1 is expected');
  const limit = Number(raw); // huge values are clamped below, as any value over the maximum
  if (limit < 1) invalid('limit: an integer from 1 is expected');
  return Math.min(limit, max);
}
